/**
 * `npm run demo`: starts the sample app, puts HTTP, gRPC and job load on it, sends
 * SIGTERM mid-load, and shows what happened — a live progress line, then the shutdown
 * phases as a timeline, a table of what was sent, accepted, completed and lost, and the
 * exit code. Exits 0 when nothing was lost and the sample exited cleanly.
 *
 *   npm run demo                 # about 5 s of load and shutdown
 *   npm run demo -- --short      # the quick version the test suite runs (or DEMO_SHORT=1)
 *   npm run demo -- --no-redis   # the in-process queue even when redis-server is there (or DEMO_NO_REDIS=1)
 *
 * The queue is BullMQ on a throwaway `redis-server` (a free loopback port) when one is
 * on the PATH, and the sample's in-process queue otherwise.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { findRedisServer, freePort, startRedisServer, type RedisServer } from '../../test/helpers/redis-server.js';
import { ORDERS_PROTO } from '../src/config.js';
import { EMAIL_QUEUE } from '../src/jobs/email.job.js';
import { GrpcLoad } from './load/grpc.load.js';
import { HttpLoad } from './load/http.load.js';
import { BullJobsLoad, HttpJobsLoad } from './load/jobs.load.js';
import { lost, type Outcome } from './outcome.js';
import { ProgressLine } from './report/progress.js';
import { drawTable } from './report/table.js';
import { drawTimeline, timelineRows } from './report/timeline.js';
import { SampleProcess, type SampleExit } from './sample.process.js';

const short = process.argv.includes('--short') || process.env.DEMO_SHORT === '1';
const noRedis = process.argv.includes('--no-redis') || process.env.DEMO_NO_REDIS === '1';
const settings = short
  ? { loadMs: 1_200, httpClients: 8, grpcClients: 8, jobEveryMs: 50, readinessDelayMs: 200 }
  : { loadMs: 3_000, httpClients: 32, grpcClients: 16, jobEveryMs: 40, readinessDelayMs: 500 };
/** Far above the sample's own 25 s deadline: only a broken build gets here. */
const EXIT_WAIT_MS = 40_000;

async function main(): Promise<number> {
  console.log(`nestjs-quit demo${short ? ' (short)' : ''}: the sample app under HTTP, gRPC and job load, then SIGTERM mid-load\n`);
  let redis: RedisServer | undefined;
  const redisBinary = noRedis ? undefined : findRedisServer();
  if (redisBinary) redis = await startRedisServer(redisBinary).catch(() => undefined);
  if (redis) {
    console.log(`queue: BullMQ on a throwaway redis-server at 127.0.0.1:${redis.port}`);
  } else if (redisBinary) {
    console.log('queue: redis-server did not start, so the sample uses its built-in in-process consumer');
  } else {
    console.log(
      noRedis
        ? 'queue: the sample\'s built-in in-process consumer (--no-redis)'
        : 'queue: redis-server is not on the PATH, so the sample uses its built-in in-process consumer (install redis-server to see BullMQ)',
    );
  }
  const [httpPort, grpcPort] = [await freePort(), await freePort()];
  const sample = new SampleProcess({
    PORT: String(httpPort),
    GRPC_PORT: String(grpcPort),
    READINESS_DELAY_MS: String(settings.readinessDelayMs),
    ...(redis ? { REDIS_PORT: String(redis.port) } : {}),
  });
  try {
    await sample.ready;
  } catch (error) {
    console.error((error as Error).message);
    await redis?.stop();
    return 1;
  }
  console.log(`sample: HTTP 127.0.0.1:${httpPort}, gRPC 127.0.0.1:${grpcPort}, readinessDelayMs ${settings.readinessDelayMs}\n`);

  const httpLoad = new HttpLoad(httpPort, settings.httpClients);
  const grpcLoad = new GrpcLoad(grpcPort, ORDERS_PROTO, settings.grpcClients);
  const jobsLoad = redis ? new BullJobsLoad(redis.port, EMAIL_QUEUE, settings.jobEveryMs) : new HttpJobsLoad(httpPort, settings.jobEveryMs);
  const startedAt = Date.now();
  let signalledAt: number | undefined;
  let jobsDone = '';
  const progress = new ProgressLine(() => {
    const t = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(4);
    const state = signalledAt === undefined ? 'serving' : `SIGTERM sent · ${sample.phase ?? 'signal in flight'}`;
    return `  ${t} s │ HTTP ${httpLoad.completed} ok │ gRPC ${grpcLoad.completed} ok │ jobs ${jobsLoad.sent} sent${jobsDone} │ ${state}`;
  });
  const poll = jobsLoad instanceof BullJobsLoad ? setInterval(() => void jobsLoad.counts().then((c) => (jobsDone = `, ${c.completed} done`), () => undefined), 250) : undefined;
  httpLoad.start();
  grpcLoad.start();
  jobsLoad.start();
  progress.start();

  await sleep(settings.loadMs);
  signalledAt = Date.now();
  sample.kill('SIGTERM');
  const exit = await Promise.race([sample.exited, sleep(EXIT_WAIT_MS).then(() => undefined)]);
  if (!exit) sample.kill('SIGKILL');
  const final: SampleExit = exit ?? (await sample.exited);
  await Promise.all([httpLoad.stop(), grpcLoad.stop(), jobsLoad.stop()]);
  clearInterval(poll);
  progress.stop();

  const counts = final.counts;
  const outcomes: Outcome[] = [
    { label: 'HTTP requests', sent: httpLoad.sent, accepted: counts['http.accepted'] ?? 0, completed: httpLoad.completed, refused: httpLoad.refused },
    { label: 'gRPC calls', sent: grpcLoad.sent, accepted: counts['grpc.accepted'] ?? 0, completed: grpcLoad.completed, refused: grpcLoad.refused },
  ];
  if (jobsLoad instanceof BullJobsLoad) {
    const c = await jobsLoad.counts();
    outcomes.push({ label: jobsLoad.label, sent: jobsLoad.sent, accepted: jobsLoad.sent, completed: c.completed, waiting: c.waiting });
    await jobsLoad.close();
  } else {
    outcomes.push({ label: jobsLoad.label, sent: jobsLoad.sent, accepted: jobsLoad.accepted, completed: counts['jobs.completed'] ?? 0, refused: jobsLoad.refused });
  }
  outcomes.push({ label: 'Cron runs', accepted: counts['cron.accepted'] ?? 0, completed: counts['cron.completed'] ?? 0 });
  await redis?.stop();

  const totalMs = final.at - signalledAt;
  console.log(`\nShutdown timeline, from SIGTERM (0 ms) to exit (${totalMs} ms):\n`);
  console.log(drawTimeline(timelineRows(sample.events, sample.marks, signalledAt, final), totalMs));
  console.log('\nWhat happened to the work:\n');
  console.log(drawTable(outcomes));
  const errors = [...httpLoad.errors.map((e) => `HTTP ${e}`), ...grpcLoad.errors.map((e) => `gRPC ${e}`), ...jobsLoad.errors.map((e) => `jobs ${e}`)];
  if (errors.length) console.log(`\n  client errors: ${summarize(errors)}`);
  const report = sample.events.find((e) => e.type === 'quit.ended')?.report;
  if (report && !report.ok) console.log(`\n  the sample's report: pending ${JSON.stringify(report.pending)}, failures ${JSON.stringify(report.failures)}`);
  const totalLost = outcomes.reduce((sum, o) => sum + lost(o), 0);
  console.log(`\n  Lost: ${totalLost}.  Refused work was turned away before the app took it: a client retries it on another replica.`);
  if (redis) console.log('  Waiting jobs stay in Redis for the next replica.');
  console.log(`  Exit: ${describeExit(final)}`);
  if (!exit) console.log(`  (the sample did not exit within ${EXIT_WAIT_MS / 1000} s and was killed)`);
  if (final.code !== 0 && sample.stderr.length) console.log(`\n${sample.stderr.join('')}`);
  return totalLost === 0 && errors.length === 0 && final.code === 0 ? 0 : 1;
}

function describeExit(exit: SampleExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  if (exit.code === 0) return 'code 0 (clean shutdown)';
  return `code ${exit.code} (the shutdown went wrong: a phase timed out, a hook failed, or the deadline passed)`;
}

function summarize(items: string[]): string {
  const byKind = new Map<string, number>();
  for (const item of items) byKind.set(item, (byKind.get(item) ?? 0) + 1);
  return [...byKind].map(([k, n]) => `${k} ×${n}`).join(', ');
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
