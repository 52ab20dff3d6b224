import { afterEach, describe, expect, it } from '@jest/globals';
import { childStarter } from './helpers/child.js';
import { RawClients } from './src/http-raw-clients.js';
import { sleep } from './src/log.js';

const start = childStarter();
const clients: RawClients[] = [];
afterEach(() => clients.splice(0).forEach((c) => c.destroy()));

const IDLE = 300;
const BUSY = 16;

describe.each(['express', 'fastify'])('SIGTERM with %s: a few hundred idle keep-alive clients beside busy ones', (platform) => {
  it('answers every request in flight (0 lost) and exits cleanly by itself', async () => {
    const app = start('http-load.app', { PLATFORM: platform, CONNS: String(BUSY), LOADED: String(BUSY * 2) });
    const port = await app.ready();
    // Idle: a request every 1–3 s each; busy: a 300 ms request after another.
    const idle = new RawClients({ port, connections: IDLE, path: '/slow?ms=1', thinkMs: [1_000, 3_000], rampMs: 300, stopAfterMs: 20_000 });
    const busy = new RawClients({ port, connections: BUSY, path: '/slow?ms=300', thinkMs: [0, 0], stopAfterMs: 20_000 });
    clients.push(idle, busy);
    await Promise.all([idle.start(), busy.start()]);
    await app.waitFor('ev:loaded');
    // Past the idle clients' first think time: most have a kept-alive socket idle for a while.
    await sleep(1_500);
    expect(idle.openConnections).toBe(IDLE);

    idle.markSignal();
    busy.markSignal();
    app.kill('SIGTERM');
    const [exit, idleResult, busyResult] = await Promise.all([app.exited, idle.finished(), busy.finished()]);

    // A busy client may be between two requests at the signal (more so on a loaded machine).
    expect(busyResult.inFlightAtSignal).toBeGreaterThan(0);
    // Resets at scale are a benchmark figure (docs/BENCHMARKS.md), not asserted here.
    expect(busyResult).toMatchObject({ lostAtSignal: 0, otherStatus: 0, refused: 0 });
    expect(idleResult).toMatchObject({ lostAtSignal: 0, otherStatus: 0, refused: 0, opened: IDLE });
    const [started, completed, failed] = (await app.waitFor(/^ev:served /)).split(' ').slice(1).map(Number);
    expect(failed).toBe(0);
    expect(completed).toBe(started);
    expect(idleResult.ok + busyResult.ok).toBe(completed);
    expect(app.events()).toContain('report {"ok":true,"pending":[]}');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    // Bounded: well inside the transports phase timeout (10 s), not a timing figure.
    expect(exit.elapsedMs).toBeLessThan(5_000);
  });
});
