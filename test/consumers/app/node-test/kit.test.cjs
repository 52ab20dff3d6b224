/**
 * nestjs-quit/testing in a user's `node:test` suite (CommonJS): the compiled app in a
 * child process, keep-alive load, SIGTERM mid-load, one result. The broken variant
 * (POOL_CLOSE=on-quit) must show its loss.
 */
const assert = require('node:assert/strict');
const path = require('node:path');
const { test } = require('node:test');
const { httpLoad, runShutdown } = require('nestjs-quit/testing');

const main = path.join(__dirname, '..', '..', 'dist', 'src', 'main.js');
const load = () => httpLoad({ path: '/slow?ms=100', connections: 4, expectBody: 'done' });

test('my app drains cleanly', async () => {
  const result = await runShutdown({ app: { main }, load: load(), inFlight: 4 });
  assert.deepEqual(
    [result.inFlightAtSignal, result.lost, result.resets, result.status5xx, result.status503, result.timeouts, result.errors],
    [4, 0, 0, 0, 0, 0, []],
  );
  assert.deepEqual(result.exit, { code: null, signal: 'SIGTERM', killed: false });
  assert.equal(result.report?.ok, true);
  assert.ok(result.events.includes(`intake-stopped http:${result.ports.PORT}`), result.events.join('\n'));
});

test('a broken app (its pool closes when quitting begins) shows the loss', async () => {
  const result = await runShutdown({ app: { main, env: { POOL_CLOSE: 'on-quit' } }, load: load(), inFlight: 4 });
  assert.equal(result.inFlightAtSignal, 4);
  assert.equal(result.lost, 4);
  assert.ok(result.status5xx >= 4, `status5xx ${result.status5xx}`);
});
