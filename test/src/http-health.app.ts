/**
 * Readiness: a @nestjs/terminus readiness and liveness check on `QuitHealthIndicator`,
 * and `GET /ping`, which reports what `QuitService.isReady` said when it was served.
 *
 * env: PLATFORM=express|fastify, QUIT_OPTIONS (JSON), TERMINUS_GRACE_MS: terminus's own
 * `gracefulShutdownTimeoutMs` (0, terminus's default, when unset).
 */
import 'reflect-metadata';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { QuitHealthIndicator, QuitModule, QuitService, type QuitModuleOptions } from '../../lib/index.js';
import { ev } from './log.js';

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly quitHealth: QuitHealthIndicator,
    private readonly quit: QuitService,
  ) {}

  @Get('health/ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.quitHealth.isReady()]);
  }

  @Get('health/live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.quitHealth.isAlive()]);
  }

  @Get('ping')
  ping(): string {
    ev(`ping ${this.quit.isReady ? 'ready' : 'not-ready'}`);
    return 'pong';
  }
}

@Module({
  imports: [
    QuitModule.forRoot({ timeoutMs: 8_000, ...(JSON.parse(process.env.QUIT_OPTIONS ?? '{}') as QuitModuleOptions) }),
    TerminusModule.forRoot({ logger: false, gracefulShutdownTimeoutMs: Number(process.env.TERMINUS_GRACE_MS ?? 0) }),
  ],
  // No QuitHealthIndicator in providers: QuitModule exports it.
  controllers: [HealthController],
})
class HealthModule {}

async function main() {
  const logger = ['error', 'warn'] as ('error' | 'warn')[];
  const app: INestApplication =
    process.env.PLATFORM === 'fastify'
      ? await NestFactory.create(HealthModule, new FastifyAdapter(), { logger })
      : await NestFactory.create(HealthModule, { logger });
  app.enableShutdownHooks();
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'phase.started') ev(`phase.${e.phase}`);
    if (e.type === 'quit.ended') ev('quit.ended');
  });
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();
