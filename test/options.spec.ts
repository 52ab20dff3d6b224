import { describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { QUIT_MODULE_OPTIONS } from '../lib/quit.constants.js';
import type { ResolvedQuitOptions } from '../lib/quit.options.js';
import { QuitHealthIndicator, QuitModule, QuitOptionsError, QuitService, type QuitModuleOptions, type QuitOptionsFactory } from '../lib/index.js';

describe('QuitModule.forRoot() options', () => {
  it.each([
    ['timeoutMs', { timeoutMs: -1 }, 'QuitModule option "timeoutMs" is invalid: got -1'],
    ['timeoutMs', { timeoutMs: Infinity }, 'QuitModule option "timeoutMs" is invalid: got Infinity'],
    ['phaseTimeouts.workers', { phaseTimeouts: { workers: Number.NaN } }, 'QuitModule option "phaseTimeouts.workers" is invalid: got NaN'],
    ['signals[0]', { signals: ['SIGNOPE'] }, 'QuitModule option "signals[0]" is invalid: got "SIGNOPE"'],
    ['transportOrder[1]', { transportOrder: ['http', 'smtp'] }, 'QuitModule option "transportOrder[1]" is invalid: got "smtp"'],
    ['exitCode', { exitCode: 256 }, 'QuitModule option "exitCode" is invalid: got 256'],
    ['logger', { logger: 'yes' }, 'QuitModule option "logger" is invalid: got "yes"'],
    ['quitOnUncaughtError', { quitOnUncaughtError: 'no' }, 'QuitModule option "quitOnUncaughtError" is invalid: got "no"; expected true or false.'],
    ['unknown', { timeout: 5 }, 'QuitModule option "timeout" is invalid: got 5; expected no such option.'],
    ['grpcHealth', { grpcHealth: 'yes' }, 'QuitModule option "grpcHealth" is invalid: got "yes"; expected true or false.'],
  ])('rejects a bad %s, naming it', (option, options, message) => {
    const call = () => QuitModule.forRoot(options as never);
    expect(call).toThrow(QuitOptionsError);
    expect(call).toThrow(message);
  });
});

/** A stand-in for a config module: one exported value, for `forRootAsync({ imports, inject })`. */
@Module({ providers: [{ provide: 'QUIT_TIMEOUT', useValue: 2468 }], exports: ['QUIT_TIMEOUT'] })
class ConfigModule {}

@Injectable()
class OptionsFromClass implements QuitOptionsFactory {
  createQuitOptions(): QuitModuleOptions {
    return { timeoutMs: 4321, logger: false };
  }
}

@Injectable()
class BadOptionsFromClass implements QuitOptionsFactory {
  createQuitOptions(): QuitModuleOptions {
    return { hookTimeoutMs: 0, logger: false };
  }
}

async function optionsOf(module: ReturnType<typeof QuitModule.forRootAsync>, extra: object[] = []) {
  const ref = await Test.createTestingModule({ imports: [module, ...(extra as never[])] }).compile();
  // The options are the module's own (not on QuitService): read through their token.
  const options = ref.get<ResolvedQuitOptions>(QUIT_MODULE_OPTIONS);
  await ref.close();
  return options;
}

describe('QuitModule.forRootAsync() (ConfigurableModuleBuilder)', () => {
  it('takes useFactory with inject and imports, useClass, and useExisting, and checks what they make', async () => {
    const factory = QuitModule.forRootAsync({
      imports: [ConfigModule],
      inject: ['QUIT_TIMEOUT'],
      useFactory: (timeoutMs: number) => ({ timeoutMs, logger: false }),
    });
    expect((await optionsOf(factory)).timeoutMs).toBe(2468);
    expect((await optionsOf(QuitModule.forRootAsync({ useClass: OptionsFromClass }))).timeoutMs).toBe(4321);

    @Module({ providers: [OptionsFromClass], exports: [OptionsFromClass] })
    class FactoryModule {}
    expect((await optionsOf(QuitModule.forRootAsync({ imports: [FactoryModule], useExisting: OptionsFromClass }))).timeoutMs).toBe(4321);

    await expect(optionsOf(QuitModule.forRootAsync({ useClass: BadOptionsFromClass }))).rejects.toThrow(
      'QuitModule option "hookTimeoutMs" is invalid: got 0',
    );
    expect(() => QuitModule.forRootAsync({ useFactory: () => ({}), useClass: OptionsFromClass })).toThrow(
      'QuitModule.forRootAsync() needs exactly one of useFactory, useClass or useExisting.',
    );
  });
});

describe('QuitHealthIndicator', () => {
  @Controller()
  class HealthController {
    constructor(private readonly quitHealth: QuitHealthIndicator) {}
    @Get('ready') ready() {
      return this.quitHealth.isReady();
    }
  }
  // A feature module that imports nothing and lists no provider: QuitModule is global.
  @Module({ controllers: [HealthController] })
  class HealthModule {}

  it.each([
    ['forRoot', () => QuitModule.forRoot({ logger: false })],
    ['forRootAsync', () => QuitModule.forRootAsync({ useFactory: () => ({ logger: false }) })],
  ])('is injectable wherever QuitModule is imported, with no provider to add (%s)', async (_label, quitModule) => {
    const ref = await Test.createTestingModule({ imports: [quitModule(), HealthModule] }).compile();
    const app = await ref.createNestApplication({ logger: false }).init();
    const controller = app.get(HealthController);
    expect(controller.ready()).toEqual({ shutdown: { status: 'up' } });
    await app.close();
    expect(controller.ready()).toEqual({ shutdown: { status: 'down', message: 'shutting down' } });
  });
});
