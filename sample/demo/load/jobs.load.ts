import { Queue } from 'bullmq';
import http from 'node:http';

/** A producer of email jobs, one every `everyMs`, until stopped. */
export interface JobsLoad {
  readonly label: string;
  sent: number;
  /** Enqueues refused (in-process queue: 503 or connection refused). */
  refused: number;
  errors: string[];
  start(): void;
  stop(): Promise<void>;
}

/** Another service enqueueing into Redis: it keeps producing through the shutdown. */
export class BullJobsLoad implements JobsLoad {
  readonly label = 'Jobs (BullMQ)';
  sent = 0;
  refused = 0;
  errors: string[] = [];
  readonly queue: Queue;
  private timer?: NodeJS.Timeout;
  private adding = new Set<Promise<unknown>>();

  constructor(
    port: number,
    queueName: string,
    private readonly everyMs: number,
  ) {
    this.queue = new Queue(queueName, { connection: { host: '127.0.0.1', port } });
  }

  start(): void {
    this.timer = setInterval(() => {
      const n = this.sent + this.adding.size;
      const add = this.queue
        .add('email', { to: `user${n}@example.com`, ms: 50 + ((n * 41) % 150) })
        .then(() => this.sent++, (e: Error) => this.errors.push(e.message))
        .finally(() => this.adding.delete(add));
      this.adding.add(add);
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.adding);
  }

  /** Where every job sent ended up. */
  async counts(): Promise<{ completed: number; waiting: number; failed: number; active: number }> {
    const c = await this.queue.getJobCounts('completed', 'waiting', 'delayed', 'prioritized', 'failed', 'active');
    return { completed: c.completed, waiting: c.waiting + c.delayed + c.prioritized, failed: c.failed, active: c.active };
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}

/**
 * Without Redis: producers reach the sample's in-process queue over HTTP (`POST /jobs`),
 * and stop at the first refusal, as they would move to another replica.
 */
export class HttpJobsLoad implements JobsLoad {
  readonly label = 'Jobs (in-process)';
  sent = 0;
  accepted = 0;
  refused = 0;
  errors: string[] = [];
  private timer?: NodeJS.Timeout;
  private posting = new Set<Promise<void>>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    private readonly port: number,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      const post = this.post().finally(() => this.posting.delete(post));
      this.posting.add(post);
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.posting);
    this.agent.destroy();
  }

  private post(): Promise<void> {
    const n = this.sent++;
    const body = JSON.stringify({ to: `user${n}@example.com`, ms: 50 + ((n * 41) % 150) });
    return new Promise((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: this.port, path: '/jobs', method: 'POST', agent: this.agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 202) this.accepted++;
            else if (res.statusCode === 503) this.refused++;
            else this.errors.push(`HTTP ${res.statusCode}`);
            if (res.statusCode !== 202) clearInterval(this.timer);
            resolve();
          });
        },
      );
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNREFUSED') this.refused++;
        else this.errors.push(e.code ?? e.message);
        clearInterval(this.timer);
        resolve();
      });
      req.end(body);
    });
  }
}
