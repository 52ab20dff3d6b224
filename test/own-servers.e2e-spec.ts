import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { fixture } from './helpers/child.js';
import { grpcLoad, httpLoad, runShutdown, type ShutdownResult } from '../lib/testing/index.js';
import { workClient } from './src/grpc-proto.js';
import { tlsFiles, type TlsFiles } from './src/http-tls.js';

let tls: TlsFiles;
beforeAll(() => {
  tls = tlsFiles();
});

/** `ev:served <server> <started> <completed> <failed>` lines of the fixture, by server. */
function served(result: ShutdownResult): Record<string, { started: number; completed: number; failed: number }> {
  const out: Record<string, { started: number; completed: number; failed: number }> = {};
  for (const line of result.output) {
    const m = /^ev:served (\S+) (\d+) (\d+) (\d+)$/.exec(line);
    if (m) out[m[1]] = { started: Number(m[2]), completed: Number(m[3]), failed: Number(m[4]) };
  }
  return out;
}

describe('servers the app made itself, registered with quit.onQuit(server)', () => {
  it('SIGTERM under keep-alive load: a metrics http.Server, an http2 server and a grpc-js Server lose nothing, reset nothing, and the process exits cleanly', async () => {
    const clients: Client[] = [];
    const result = await runShutdown({
      app: { main: fixture('own-servers.app'), ports: ['PORT', 'METRICS_PORT', 'H2_PORT', 'GRPC_PORT'], env: { TLS_KEY: tls.key, TLS_CERT: tls.cert } },
      load: [
        // The case: 8 keep-alive clients, 50 ms requests.
        httpLoad({ name: 'metrics', port: 'METRICS_PORT', connections: 8, path: (i) => `/metrics?ms=${40 + i * 5}`, expectBody: 'done' }),
        httpLoad({ name: 'h2', port: 'H2_PORT', protocol: 'h2', ca: readFileSync(tls.cert), connections: 2, streamsPerConnection: 4, path: (i) => `/?ms=${50 + i * 20}`, expectBody: 'done' }),
        grpcLoad({
          name: 'grpc',
          port: 'GRPC_PORT',
          concurrency: 8,
          call: (i, { port }) => {
            const client = (clients[i] ??= workClient(port)) as ReturnType<typeof workClient>;
            return new Promise((resolve, reject) => client.Slow({ id: i, ms: 40 + i * 5 }, (error: ServiceError | null, reply: unknown) => (error ? reject(error) : resolve(reply))));
          },
        }),
        httpLoad({ name: 'nest', connections: 4, path: '/slow?ms=60', expectBody: 'done' }),
      ],
      signalAfterMs: 800,
      inFlight: 16,
      exitTimeoutMs: 15_000,
    });
    clients.forEach((c) => c.close());

    for (const name of ['metrics', 'h2', 'grpc', 'nest']) {
      expect([name, result.loads[name]]).toEqual([
        name,
        expect.objectContaining({ lost: 0, resets: 0, status5xx: 0, status503: 0, badAnswers: 0, timeouts: 0, errors: [] }),
      ]);
      expect(result.loads[name].inFlightAtSignal).toBeGreaterThan(0);
    }
    // Every request or call a handler took was completed, and its client got the answer.
    const counts = served(result);
    expect(counts).toEqual({
      metrics: { started: result.loads.metrics.ok, completed: result.loads.metrics.ok, failed: 0 },
      h2: { started: result.loads.h2.ok, completed: result.loads.h2.ok, failed: 0 },
      grpc: { started: result.loads.grpc.ok, completed: result.loads.grpc.ok, failed: 0 },
      nest: { started: result.loads.nest.ok, completed: result.loads.nest.ok, failed: 0 },
    });
    expect(result.exit).toEqual({ code: null, signal: 'SIGTERM', killed: false });
    expect(result.report).toMatchObject({ ok: true, pending: [], failures: [] });

    // Drained in the transports phase as the app's own servers are, HTTP before gRPC;
    // the hooks (as before: last registered first) after; the unregistered ones not at all.
    const { PORT, METRICS_PORT, H2_PORT, GRPC_PORT } = result.ports;
    const http = [`http:${PORT}`, `http:${METRICS_PORT}`, `http:${H2_PORT}`];
    const events = result.events.filter((e) => !e.startsWith('phase.ended'));
    const transports = events.slice(events.indexOf('phase.started transports') + 1, events.indexOf('phase.started workers'));
    expect(transports.slice(0, 3).sort()).toEqual(http.map((n) => `intake-stopped ${n}`).sort());
    expect(transports[3]).toBe(`intake-stopped grpc:${GRPC_PORT}`);
    expect(transports.slice(4).sort()).toEqual([...http, `grpc:${GRPC_PORT}`].map((n) => `drained ${n}`).sort());
    expect(events.slice(events.indexOf('phase.started hooks'))).toEqual([
      'phase.started hooks',
      'hook.started flush',
      'hook.ended flush',
      'hook.started object.close',
      'hook.ended object.close',
      'quit.ended ok',
    ]);
    const lines = result.output.filter((l) => /^ev:(hook|pool)/.test(l));
    expect(lines).toEqual(['ev:hook flush', 'ev:hook closer', 'ev:pool.destroy']);
  });
});
