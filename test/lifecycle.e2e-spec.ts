import { afterEach, describe, expect, it } from '@jest/globals';
import { Child, fixture } from './helpers/child.js';
import { get } from './helpers/http.js';

const children: Child[] = [];
function start(env: Record<string, string> = {}): Child {
  const child = new Child(fixture('lifecycle.app'), env);
  children.push(child);
  return child;
}
afterEach(() => children.splice(0).forEach((c) => c.stop()));

/** What every clean run must show: the drain and hooks strictly before Nest's own hooks. */
const CLEAN_ORDER = [
  'phase.fire',
  'phase.readiness',
  'phase.transports',
  'request.end',
  'phase.workers',
  'worker.end',
  'phase.hooks',
  'hook.flush',
  'report {"ok":true,"pending":[],"failures":[]}',
  'pool.destroy',
  'hooks.destroy',
];

/** Starts a request and a worker run that both stay in flight until quitting begins. */
async function inFlight(app: Child, port: number) {
  const request = get(port, '/slow?ms=300');
  await get(port, '/work?ms=450');
  await app.waitFor('ev:request.start');
  await app.waitFor('ev:worker.start');
  return { request };
}

describe('the quit pipeline runs before any onModuleDestroy', () => {
  it('on SIGTERM: the request and the worker in flight finish while the pool is open, then hooks, then onModuleDestroy', async () => {
    const app = start();
    const port = await app.ready();
    const { request } = await inFlight(app, port);
    app.kill('SIGTERM');
    const reply = await request;
    const exit = await app.exited;
    expect(reply).toMatchObject({ status: 200, body: 'done' });
    expect(app.events().filter((e) => !['listening', 'request.start', 'worker.start'].includes(e))).toEqual(CLEAN_ORDER);
    // Nest re-raises the signal once closed: the process dies of it, as without the module.
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });
});
