import http from 'node:http';

/**
 * Keep-alive clients looping `GET /orders/:id` on the sample. A client stops at its
 * first refusal (503, or connection refused once the server stopped listening), as a
 * load balancer would stop sending to the instance.
 */
export class HttpLoad {
  sent = 0;
  completed = 0;
  refused = 0;
  errors: string[] = [];
  private stopped = false;
  private readonly agent: http.Agent;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly port: number,
    private readonly connections: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  start(): void {
    this.loops = Array.from({ length: this.connections }, (_, i) => this.loop(i));
  }

  /** Stops sending and waits for the requests under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.agent.destroy();
  }

  private async loop(client: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      this.sent++;
      const outcome = await this.get(`/orders/${client * 100_000 + n}?ms=${50 + ((n * 37) % 200)}`);
      if (outcome === 'ok') this.completed++;
      else if (outcome === 'refused') this.refused++;
      else this.errors.push(outcome);
      if (outcome !== 'ok') return;
    }
  }

  private get(path: string): Promise<string> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.port, path, agent: this.agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? 'ok' : res.statusCode === 503 ? 'refused' : `HTTP ${res.statusCode}`));
        res.on('error', (e) => resolve(e.message));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message)));
    });
  }
}
