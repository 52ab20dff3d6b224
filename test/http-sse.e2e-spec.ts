import { afterEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { childStarter } from './helpers/child.js';
import { readSse } from './src/http-sse-client.js';
import { sleep } from './src/log.js';

const start = childStarter();
const agents: http.Agent[] = [];
afterEach(() => agents.splice(0).forEach((a) => a.destroy()));

const TRANSPORTS_TIMEOUT_MS = 5_000;

describe.each(['express', 'fastify'])('an endless SSE stream at SIGTERM (%s)', (platform) => {
  it('ends at once on a whole event with no reset, its Observable is torn down, the reader resumes on another instance from its Last-Event-ID, and the drain does not wait for the phase timeout', async () => {
    const env = { PLATFORM: platform, QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: TRANSPORTS_TIMEOUT_MS } }) };
    const leaving = start('http-sse.app', env);
    const other = start('http-sse.app', env);
    const [leavingPort, otherPort] = await Promise.all([leaving.ready(), other.ready()]);
    // As a browser's EventSource does: over a pooled keep-alive connection.
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    const stream = readSse(leavingPort, '/events', { agent });
    await stream.first;
    await sleep(100);

    leaving.kill('SIGTERM');
    const end = await stream.ended;
    const resumed = readSse(otherPort, '/events', { agent, lastEventId: end.lastEventId });
    await resumed.first;
    resumed.close();
    const [exit, resumedEnd] = await Promise.all([leaving.exited, resumed.ended]);

    // A clean end, on an event boundary: every event whole, in order, none missing.
    expect(end).toMatchObject({ how: 'end', status: 200, partial: '', socketErrors: [] });
    const n = end.events.length;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(end.events.map((e) => e.id)).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
    expect(end.lastEventId).toBe(String(n));
    // The other instance took over where it ended.
    expect(resumedEnd.events[0]).toEqual({ id: String(n + 1), data: `event ${n + 1}` });
    expect(other.events()).toContain(`sse.open ${n + 1}`);
    // Nest unsubscribed the Observable of the stream that ended: its teardown ran, once.
    const events = leaving.events();
    expect(events.filter((e) => e.startsWith('sse.open'))).toEqual(['sse.open 1']);
    expect(events.filter((e) => e.startsWith('sse.teardown'))).toHaveLength(1);
    // Not held to the phase timeout: drained, not forced; a clean exit by the re-raised signal.
    expect(events.filter((e) => e.startsWith('drained'))).toEqual([expect.stringMatching(/^drained http:\d+$/)]);
    expect(events).toContain('report {"ok":true,"pending":[]}');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(exit.elapsedMs).toBeLessThan(TRANSPORTS_TIMEOUT_MS);
  });
});

/** A GET on `agent`; resolves with whether it went over a kept-alive socket. */
function getOn(agent: http.Agent, port: number, path: string) {
  return new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on('error', reject);
  });
}

describe.each(['express', 'fastify'])('an SSE stream that starts during the drain (%s)', (platform) => {
  it('on a kept-alive socket: answered, then ended at once, cleanly; its Observable is torn down too', async () => {
    // A grace far above the steps below, so the kept-alive socket is still open when the stream starts.
    const app = start('http-sse.app', { PLATFORM: platform, QUIT_OPTIONS: JSON.stringify({ http: { idleGraceMs: 3_000 } }) });
    const port = await app.ready();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect(await getOn(agent, port, '/slow?ms=1')).toEqual({ status: 200, reused: false });

    app.kill('SIGTERM');
    await app.waitFor(/^ev:intake-stopped /);
    const late = readSse(port, '/events', { agent });
    const [end, exit] = await Promise.all([late.ended, app.exited]);

    expect(end).toMatchObject({ how: 'end', status: 200, partial: '', socketErrors: [] });
    expect(app.events().filter((e) => e.startsWith('sse.open'))).toEqual(['sse.open 1']);
    expect(app.events().filter((e) => e.startsWith('sse.teardown'))).toHaveLength(1);
    expect(app.events()).toContain('report {"ok":true,"pending":[]}');
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});
