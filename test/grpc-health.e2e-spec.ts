import { afterEach, describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { status } from '@grpc/grpc-js';
import { Controller } from '@nestjs/common';
import { GrpcMethod, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { QuitGrpcHealth, QuitModule } from '../lib/index.js';
import { childStarter } from './helpers/child.js';
import { WORK_PROTO, check, freePort, healthClient, slow, watchHealth, workClient } from './src/grpc-proto.js';

const startChild = childStarter();
const clients: Array<{ close(): void }> = [];
function track<T extends { close(): void }>(c: T): T {
  clients.push(c);
  return c;
}
afterEach(() => {
  clients.splice(0).forEach((c) => c.close());
});

// The readiness delay only has to outlast one round trip of the test's client; it is long
// so that a loaded machine cannot make the call below arrive after intake stopped.
const HEALTH = { grpcHealth: true, readinessDelayMs: 1_500 };

describe.each([
  ['hybrid', { MODE: 'hybrid' }],
  ['standalone', { MODE: 'standalone' }],
])('gRPC health (%s app, grpcHealth: true)', (_label, env) => {
  it('Check and Watch answer SERVING for the server and each service, NOT_SERVING from the first moment of quitting, while calls are still taken', async () => {
    const app = startChild('grpc-app', { ...env, QUIT_OPTIONS: JSON.stringify(HEALTH) });
    const port = await app.ready();
    const health = track(await healthClient(port));
    const work = track(workClient(port));

    const before = await Promise.all([check(health, ''), check(health, 'quittest.Work'), check(health, 'no.Such')]);
    expect(before).toEqual([
      { code: status.OK, status: 'SERVING' },
      { code: status.OK, status: 'SERVING' },
      { code: status.NOT_FOUND },
    ]);
    const server = watchHealth(health, '');
    const service = watchHealth(health, 'quittest.Work');
    await Promise.all([server.next(1), service.next(1)]);
    const held = slow(work, { id: 1, ms: 200, hold: true });
    await app.waitFor('ev:call.start 1');

    app.kill('SIGTERM');
    await Promise.all([server.next(2), service.next(2)]);
    // Told NOT_SERVING, the client still gets its calls served: intake has not stopped yet.
    const during = await Promise.all([check(health, ''), check(health, 'quittest.Work'), slow(work, { id: 2, ms: 0 })]);
    const [serverEnd, serviceEnd, heldResult, exit] = await Promise.all([server.ended, service.ended, held, app.exited]);

    expect(server.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(service.statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect([serverEnd, serviceEnd]).toEqual([status.OK, status.OK]);
    expect(during.map((r) => ('status' in r ? r.status : undefined) ?? r.code)).toEqual(['NOT_SERVING', 'NOT_SERVING', status.OK]);
    expect(heldResult.code).toBe(status.OK);
    expect(app.events().filter((e) => e.startsWith('call.start'))).toEqual(['call.start 1', 'call.start 2']);
    // Ended Watch streams leave nothing in flight: the drain is not cut by its timeout.
    expect(app.events()).toContain('report {"ok":true,"pending":[]}');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});

describe('gRPC health, per service', () => {
  it('QuitGrpcHealth.setStatus() marks one service NOT_SERVING while the server and the other services stay SERVING', async () => {
    const app = startChild('grpc-app', {
      MODE: 'hybrid',
      QUIT_OPTIONS: JSON.stringify({ grpcHealth: true }),
      HEALTH_SET: 'quittest.Work:NOT_SERVING',
    });
    const port = await app.ready();
    const health = track(await healthClient(port));

    expect(await Promise.all([check(health, ''), check(health, 'quittest.Work')])).toEqual([
      { code: status.OK, status: 'SERVING' },
      { code: status.OK, status: 'NOT_SERVING' },
    ]);
    app.kill('SIGTERM');
    expect(await app.exited).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('is off by default: the app serves no health service of its own making', async () => {
    const app = startChild('grpc-app', { MODE: 'hybrid' });
    const port = await app.ready();
    const health = track(await healthClient(port));

    expect(await check(health, '')).toEqual({ code: status.UNIMPLEMENTED });
    app.kill('SIGTERM');
    expect(await app.exited).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('a Watch opened once quitting began gets NOT_SERVING and ends with OK at once', async () => {
    const app = startChild('grpc-app', { MODE: 'hybrid', QUIT_OPTIONS: JSON.stringify(HEALTH) });
    const port = await app.ready();
    const health = track(await healthClient(port));
    const first = watchHealth(health, '');
    await first.next(1);

    app.kill('SIGTERM');
    await first.next(2);
    const late = watchHealth(health, '');
    const lateEnd = await late.ended;
    const exit = await app.exited;

    expect(late.statuses).toEqual(['NOT_SERVING']);
    expect(lateEnd).toBe(status.OK);
    expect(app.events()).toContain('report {"ok":true,"pending":[]}');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});

describe('QuitGrpcHealth in one process (app.close())', () => {
  @Controller()
  class WorkController {
    @GrpcMethod('Work', 'Slow')
    slow({ id }: { id: number }) {
      return { id, status: 'done' };
    }
  }

  /** The app's own grpc.health.v1.Health: answers SERVING for any name, "custom" included. */
  @Controller()
  class OwnHealthController {
    @GrpcMethod('Health', 'Check')
    check() {
      return { status: 'SERVING' };
    }
  }

  class Lines {
    readonly lines: string[] = [];
    log(m: unknown) {
      this.lines.push(`log ${String(m)}`);
    }
    warn(m: unknown) {
      this.lines.push(`warn ${String(m)}`);
    }
    error(m: unknown) {
      this.lines.push(`error ${String(m)}`);
    }
  }

  async function boot(controllers: Array<new (...args: never[]) => unknown>, packages: string[], protos: string[]) {
    const logger = new Lines();
    const ref = await Test.createTestingModule({
      imports: [QuitModule.forRoot({ grpcHealth: true, logger })],
      controllers,
    }).compile();
    const app = ref.createNestApplication({ logger: false });
    const port = await freePort();
    app.connectMicroservice<MicroserviceOptions>({
      transport: Transport.GRPC,
      options: { package: packages, protoPath: protos, url: `127.0.0.1:${port}` },
    });
    await app.startAllMicroservices();
    await app.init();
    return { app, port, logger, health: app.get(QuitGrpcHealth) };
  }

  it('status() and setStatus() follow the app; from quitting on everything is NOT_SERVING and setStatus() does nothing', async () => {
    const { app, port, health } = await boot([WorkController], ['quittest'], [WORK_PROTO]);
    const client = track(await healthClient(port));
    expect([health.enabled, health.status(''), health.status('quittest.Work'), health.status('no.Such')]).toEqual([true, 'SERVING', 'SERVING', undefined]);
    expect(() => health.setStatus('quittest.Work', 'DOWN' as never)).toThrow(
      `QuitGrpcHealth.setStatus(): status must be 'SERVING' or 'NOT_SERVING', got "DOWN".`,
    );
    health.setStatus('quittest.Work', 'NOT_SERVING');
    expect(await check(client, 'quittest.Work')).toEqual({ code: status.OK, status: 'NOT_SERVING' });
    health.setStatus('quittest.Work', 'SERVING');
    expect(await check(client, 'quittest.Work')).toEqual({ code: status.OK, status: 'SERVING' });

    await app.close();
    health.setStatus('quittest.Work', 'SERVING');
    expect([health.status(''), health.status('quittest.Work')]).toEqual(['NOT_SERVING', 'NOT_SERVING']);
  });

  it('an app that serves grpc.health.v1.Health itself keeps its own, with a warning naming grpcHealth', async () => {
    const { protoPath } = (await import('grpc-health-check')) as { protoPath: string };
    const { app, port, logger, health } = await boot([WorkController, OwnHealthController], ['quittest', 'grpc.health.v1'], [WORK_PROTO, protoPath]);
    const client = track(await healthClient(port));

    expect(await check(client, 'custom')).toEqual({ code: status.OK, status: 'SERVING' });
    expect(health.status('')).toBeUndefined();
    expect(logger.lines.filter((l) => l.startsWith('warn'))).toEqual([
      'warn gRPC health: the app serves grpc.health.v1.Health itself, so nestjs-quit leaves it alone (grpcHealth): Method handler for /grpc.health.v1.Health/Check already provided.',
    ]);
    await app.close();
  });
});
