import { afterEach, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Child } from './helpers/child.js';

const DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'build', 'sample', 'demo', 'demo.js');
const children: Child[] = [];
afterEach(() => children.splice(0).forEach((c) => c.stop()));

/** The outcome table's rows: label → [sent, accepted, completed, refused, waiting, lost] ('–' as undefined). */
function table(lines: string[]): Map<string, Array<number | undefined>> {
  const rows = new Map<string, Array<number | undefined>>();
  for (const line of lines) {
    const m = /^ {2}(HTTP requests|gRPC calls|Jobs \(BullMQ\)|Jobs \(in-process\)|Cron runs)((?:\s+(?:\d+|–)){6})$/.exec(line);
    if (m) rows.set(m[1], m[2].trim().split(/\s+/).map((v) => (v === '–' ? undefined : Number(v))));
  }
  return rows;
}

describe('npm run demo (short mode)', () => {
  it.each([
    ['BullMQ on a throwaway redis-server', {}, 'Jobs (BullMQ)', 'BullMQ worker closed'],
    ['the in-process queue', { DEMO_NO_REDIS: '1' }, 'Jobs (in-process)', 'in-process queue drained'],
  ])('with %s: load, SIGTERM mid-load, a timeline of the phases, and 0 lost', async (_name, env, jobsRow, queueDone) => {
    const demo = new Child(DEMO, { DEMO_SHORT: '1', ...env });
    children.push(demo);
    const exit = await demo.exited;
    const out = demo.lines;
    expect({ code: exit.code, stderr: demo.stderr.join('') }).toEqual({ code: 0, stderr: '' });

    // The timeline: every phase of the pipeline, then Nest's own shutdown, in order.
    const timeline = out.map((l) => /^ {2}(fire|readiness|transports|workers|hooks|Nest close)\s+│/.exec(l)?.[1]).filter(Boolean);
    expect(timeline).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks', 'Nest close']);
    // The queue is done before the pool its jobs use is closed.
    const markAt = (name: string) => Number(out.map((l) => new RegExp(`^ {2}${name}\\s+│.*│ at (\\d+) ms$`).exec(l)?.[1]).find(Boolean));
    expect(markAt(queueDone)).toBeLessThan(markAt('database pool closed'));

    const rows = table(out);
    expect([...rows.keys()]).toEqual(['HTTP requests', 'gRPC calls', jobsRow, 'Cron runs']);
    for (const [label, [sent, accepted, completed, , , lost]] of rows) {
      expect({ label, lost }).toEqual({ label, lost: 0 });
      if (label !== 'Cron runs') expect({ label, sent: sent! > 0, completed: completed! > 0 }).toEqual({ label, sent: true, completed: true });
      // What the app took on, it finished (jobs may also still wait in Redis).
      if (label !== 'Jobs (BullMQ)') expect({ label, accepted }).toEqual({ label, accepted: completed });
    }
    expect(out).toContain('  Lost: 0.  Refused work was turned away before the app took it: a client retries it on another replica.');
    expect(out).toContain('  Exit: code 0 (clean shutdown)');
  });
});
