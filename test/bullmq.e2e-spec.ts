import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { QuitMessages } from '../lib/index.js';
import { Child, fixture } from './helpers/child.js';
import { startRedisServer, type RedisServer } from './helpers/redis-server.js';

let redis: RedisServer;
let queue: Queue;
let queueName = '';
const children: Child[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await queue?.close();
  await redis?.stop();
});
afterEach(() => children.splice(0).forEach((c) => c.stop()));

function replica(hold: boolean | 'forever', processor = 'tracked', env: Record<string, string> = {}): Child {
  const child = new Child(fixture('worker-bullmq.app'), {
    REDIS_PORT: String(redis.port),
    QUEUE: queueName,
    HOLD: hold === 'forever' ? hold : hold ? '1' : '0',
    PROCESSOR: processor,
    ...env,
  });
  children.push(child);
  return child;
}

const ids = (app: Child, what: string) =>
  app
    .events()
    .filter((e) => e.startsWith(`${what} `))
    .map((e) => e.split(' ')[1]);

/** Polls `condition` every 10 ms; fails after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !condition(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${condition}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('BullMQ workers (@nestjs/bullmq, real Redis)', () => {
  it.each(['tracked', 'plain'])('process() %s: at SIGTERM the active jobs finish and are acknowledged before the pool closes; waiting jobs stay in Redis for the next replica', async (processor) => {
    await queue?.close();
    queueName = `jobs-${processor}`;
    queue = new Queue(queueName, { connection: { host: redis.host, port: redis.port } });
    const first = replica(true, processor);
    await first.ready();
    await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'job', data: { ms: 150 }, opts: { jobId: `j${i + 1}` } })));
    // Concurrency 3: three jobs are active, held until quitting begins.
    await until(() => ids(first, 'job.start').length === 3);
    first.kill('SIGTERM');
    const exit = await first.exited;

    const started = ids(first, 'job.start');
    expect(started).toHaveLength(3);
    expect(ids(first, 'job.end').sort()).toEqual([...started].sort());
    expect(ids(first, 'job.failed')).toEqual([]);
    const order = first.events().filter((e) => !e.startsWith('job.'));
    expect(order).toEqual([
      'phase.fire',
      'phase.readiness',
      'phase.transports',
      'phase.workers',
      'worker.closed',
      'phase.hooks',
      'hook.flush',
      'report {"ok":true,"pending":[],"skipped":0}',
      'pool.destroy',
    ]);
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });

    expect(await queue.getJobCounts('completed', 'waiting', 'active', 'failed', 'delayed', 'prioritized')).toEqual({
      completed: 3,
      waiting: 7,
      active: 0,
      failed: 0,
      delayed: 0,
      prioritized: 0,
    });
    for (const id of started) {
      const job = (await queue.getJob(id))!;
      expect({ id, state: await job.getState(), result: job.returnvalue, started: job.attemptsStarted, stalled: job.stalledCounter }).toEqual({
        id,
        state: 'completed',
        result: `done ${id}`,
        started: 1,
        stalled: 0,
      });
    }

    // The next replica takes the seven left, each exactly once.
    const second = replica(false);
    await second.ready();
    await until(() => ids(second, 'job.end').length === 7);
    second.kill('SIGTERM');
    await second.exited;
    const all = [...started, ...ids(second, 'job.start')].sort();
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => `j${i + 1}`).sort());
    expect(await queue.getJobCounts('completed', 'waiting', 'active', 'failed')).toEqual({ completed: 10, waiting: 0, active: 0, failed: 0 });
    const jobs = await queue.getJobs(['completed']);
    expect(jobs.map((j) => [j.id, j.attemptsStarted, j.stalledCounter]).sort()).toEqual(all.map((id) => [id, 1, 0]));
  });

  it("refuses whenQuitting: 'skip' on a queue processor at startup: it would acknowledge a fetched job unrun", async () => {
    const app = replica(false, 'skip');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.output()).toContain(QuitMessages.skipOnQueueProcessor('SkippingProcessor@process'));
  });

  it('a job that outlives the workers phase: the report names the worker, the deadline ends the process (1), the job stays active for the stalled check', async () => {
    await queue?.close();
    queueName = 'jobs-stuck';
    queue = new Queue(queueName, { connection: { host: redis.host, port: redis.port } });
    const app = replica('forever', 'plain', { QUIT_OPTIONS: JSON.stringify({ timeoutMs: 1_500, phaseTimeouts: { workers: 300 } }) });
    await app.ready();
    await queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'job', data: { ms: 10 }, opts: { jobId: `s${i + 1}` } })));
    await until(() => ids(app, 'job.start').length === 3);
    app.kill('SIGTERM');
    const exit = await app.exited;
    expect(exit.code).toBe(1);
    expect(app.events()).toContain(`report {"ok":false,"pending":["workers: bullmq:${queueName} x1"],"skipped":0}`);
    expect(app.output()).toMatch(/Shutdown did not finish within the 1500 ms deadline/);
    // Neither completed nor failed: still active, the lock left to expire, so BullMQ hands them to another replica.
    expect(await queue.getJobCounts('completed', 'failed', 'active', 'waiting')).toEqual({ completed: 0, failed: 0, active: 3, waiting: 2 });
  });
});
