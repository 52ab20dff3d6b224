import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export interface HaproxyOptions {
  /** Where clients connect. */
  frontendPort: number;
  /** Where the stats page answers (`/stats;csv`). */
  statsPort: number;
  /** Backend servers by name. */
  servers: Record<string, number>;
  /** The readiness route HAProxy health-checks. */
  checkPath: string;
}

/**
 * A real HAProxy on loopback, set up the way a deployment would be: health checks on the
 * readiness route every 100 ms (down after one failure, up after two successes),
 * keep-alive connections to the backends reused (`http-reuse always`), and only
 * HAProxy's default retry of requests whose connection failed (`retry-on conn-failure`,
 * to another server with `option redispatch`): a request that reached a server is never
 * retried.
 */
export class Haproxy {
  private proc?: ChildProcess;
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'quit-haproxy-'));
  private stderr = '';

  constructor(private readonly options: HaproxyOptions) {}

  async start(): Promise<void> {
    const { frontendPort, statsPort, servers, checkPath } = this.options;
    const config = `
global
  maxconn 2000
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A check may be slow on a loaded 2-core machine; only a 503 from readiness should take a server out.
  timeout check 2s
  retries 3
  option redispatch
  http-reuse always
frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend be
backend be
  balance roundrobin
  option httpchk GET ${checkPath}
  http-check expect status 200
  default-server inter 100ms fall 1 rise 2
${Object.entries(servers)
  .map(([name, port]) => `  server ${name} 127.0.0.1:${port} check`)
  .join('\n')}
listen stats
  bind 127.0.0.1:${statsPort}
  stats enable
  stats uri /stats
`;
    const file = path.join(this.dir, 'haproxy.cfg');
    writeFileSync(file, config);
    this.proc = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
    await this.waitFor(async () => (await this.states()).size === Object.keys(servers).length, 10_000, 'HAProxy to start');
  }

  /** Each backend server's status as HAProxy sees it (`UP`, `DOWN`, …). */
  async states(): Promise<Map<string, string>> {
    const csv = await new Promise<string>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.options.statsPort, path: '/stats;csv', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve(body));
      });
      req.on('error', () => resolve(''));
    });
    const states = new Map<string, string>();
    for (const line of csv.split('\n')) {
      const cols = line.split(',');
      if (cols[0] === 'be' && cols[1] in this.options.servers) states.set(cols[1], cols[17]);
    }
    return states;
  }

  /** Resolves once HAProxy reports `server` as `status` (polled; fails after `timeoutMs`). */
  waitForState(server: string, status: 'UP' | 'DOWN', timeoutMs = 15_000): Promise<void> {
    return this.waitFor(async () => (await this.states()).get(server)?.startsWith(status) ?? false, timeoutMs, `${server} ${status}`);
  }

  /** What HAProxy logged (one line per request, and server state changes). */
  get log(): string {
    return this.stderr;
  }

  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc!.once('exit', r));
      this.proc.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitFor(test: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await test())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; haproxy said: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
