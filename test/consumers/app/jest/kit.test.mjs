/**
 * nestjs-quit/testing in a user's Jest suite (ESM mode): the compiled app in a
 * child process, keep-alive load, SIGTERM mid-load, one result. The broken variant
 * (POOL_CLOSE=on-quit) must show its loss.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpLoad, runShutdown } from 'nestjs-quit/testing';

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'src', 'main.js');
const load = () => httpLoad({ path: '/slow?ms=100', connections: 4, expectBody: 'done' });

test('my app drains cleanly', async () => {
  const result = await runShutdown({ app: { main }, load: load(), inFlight: 4 });
  expect(result).toMatchObject({ inFlightAtSignal: 4, lost: 0, resets: 0, status5xx: 0, status503: 0, timeouts: 0, errors: [] });
  expect(result.exit).toEqual({ code: null, signal: 'SIGTERM', killed: false });
  expect(result.report).toMatchObject({ ok: true, pending: [] });
  expect(result.events).toContain(`intake-stopped http:${result.ports.PORT}`);
});

test('a broken app (its pool closes when quitting begins) shows the loss', async () => {
  const result = await runShutdown({ app: { main, env: { POOL_CLOSE: 'on-quit' } }, load: load(), inFlight: 4 });
  expect(result.inFlightAtSignal).toBe(4);
  expect(result.lost).toBe(4);
  expect(result.status5xx).toBeGreaterThanOrEqual(4);
});
