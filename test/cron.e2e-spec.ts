import { afterEach, describe, expect, it } from '@jest/globals';
import { Child, fixture } from './helpers/child.js';

const children: Child[] = [];
afterEach(() => children.splice(0).forEach((c) => c.stop()));

describe('@nestjs/schedule under shutdown (real timers)', () => {
  it('a cron run in flight at SIGTERM (tracked, or untracked with waitForCompletion) completes before the hooks; no cron, interval or timeout run starts after quitting begins', async () => {
    const app = new Child(fixture('worker-cron.app'));
    children.push(app);
    await app.ready();
    await app.waitFor('ev:cron.start 1');
    await app.waitFor('ev:settle.start 1');
    await app.waitFor('ev:interval.end');
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });

    const events = app.events();
    const at = (name: string) => events.indexOf(name);
    const fire = at('phase.fire');
    const hooks = at('phase.hooks');
    expect(fire).toBeGreaterThan(0);
    // Nothing starts once quitting has begun — not even a skipped call: the schedulers stopped ticking.
    const after = events.slice(fire);
    expect(after.filter((e) => /^(cron\.start|settle\.start|interval\.start|untracked\.tick|timeout\.fired)/.test(e))).toEqual([]);
    expect(events).not.toContain('timeout.fired');
    // Every run that started finished, before the hooks and the pool closing.
    for (const cron of ['cron', 'settle']) {
      const runs = (what: string) => events.filter((e) => e.startsWith(`${cron}.${what} `)).map((e) => e.split(' ')[1]);
      expect({ cron, ended: runs('end').sort() }).toEqual({ cron, ended: runs('start').sort() });
    }
    expect(events.filter((e) => e === 'interval.end')).toHaveLength(events.filter((e) => e === 'interval.start').length);
    expect(events.slice(hooks).filter((e) => /\.(start|end|tick)/.test(e))).toEqual([]);
    // The held cron run was in flight at the signal and finished in the workers phase.
    expect(at('cron.end 1')).toBeGreaterThan(at('phase.workers'));
    // The untracked waitForCompletion run, held 400 ms longer, still kept the hooks back.
    expect(at('settle.end 1')).toBeGreaterThan(at('cron.end 1'));
    expect(events.slice(hooks)).toEqual(['phase.hooks', 'hook.flush', 'report {"ok":true,"pending":[],"skipped":0}', 'pool.destroy']);
  });
});
