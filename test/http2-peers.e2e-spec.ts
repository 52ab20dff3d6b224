import { afterEach, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { childStarter } from './helpers/child.js';
import { RawH2Client, type RawGoaway } from './src/h2-raw-client.js';
import { tlsFiles } from './src/http-tls.js';

/**
 * HTTP/2 peers that do not play along, against a Nest app on Fastify over TLS with
 * QuitModule (`http-load.app`): each is a raw client (`RawH2Client`) that ignores the
 * server's GOAWAYs — it opens a stream after the first one — and never closes its side.
 */
const NOTICE = 2 ** 31 - 1;
const start = childStarter();
const clients: RawH2Client[] = [];
afterEach(() => clients.splice(0).forEach((c) => c.destroy()));

/** `http-load.app` on Fastify, HTTP/2 over a fresh TLS certificate; `ca` for the clients. */
function h2App(env: Record<string, string>) {
  const tls = tlsFiles();
  return { app: start('http-load.app', { PLATFORM: 'fastify', PROTO: 'h2', TLS_KEY: tls.key, TLS_CERT: tls.cert, ...env }), ca: readFileSync(tls.cert) };
}

/** On the server's first GOAWAY, opens one more stream anyway (a stream in transit, as far as the server can tell). */
const streamAfterFirstGoaway = (goaway: RawGoaway, client: RawH2Client) => {
  if (client.goaways.length === 1 && goaway.lastStreamId === NOTICE) client.get('/slow?ms=1');
};

/**
 * The notice (last stream id 2³¹−1), then the final GOAWAY naming `lastStreamId`. Node
 * repeats the final one when it destroys the session after its last stream
 * (`nghttp2_session_terminate_session`), but only onto the wire if its previous write has
 * completed by then: once or not at all.
 */
function expectGoaways(client: RawH2Client, lastStreamId: number): void {
  const [first, final, ...repeats] = client.goaways;
  expect([first, final]).toEqual([
    { lastStreamId: NOTICE, code: 0 },
    { lastStreamId, code: 0 },
  ]);
  expect(repeats).toEqual(repeats.length ? [{ lastStreamId, code: 0 }] : []);
}


describe('HTTP/2 peers that ignore GOAWAY and never close (Fastify, TLS)', () => {
  it('serves the stream in flight, refuses the one sent after the first GOAWAY with the final one at once, closes both connections itself and exits cleanly, inside a transports phase of 1.5 s', async () => {
    // The old drain waited 2 s for a PING ack that nghttp2 drops once a session has no
    // stream left (session `idle` below): the phase would time out. The drain needs about
    // idleGraceMs (250 ms) after the last answer.
    const { app, ca } = h2App({ QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 1_500 } }) });
    const port = await app.ready();

    // `busy` has a stream in flight at the signal; `idle` had one answered before it.
    const busy = await RawH2Client.connect(port, ca, streamAfterFirstGoaway);
    const idle = await RawH2Client.connect(port, ca, streamAfterFirstGoaway);
    clients.push(busy, idle);
    busy.get('/held');
    idle.get('/slow?ms=1');
    await Promise.all([app.waitFor('ev:held 1'), idle.until(() => idle.streams.get(1)!.ended)]);

    app.kill('SIGTERM');
    const [exit] = await Promise.all([app.exited, busy.closed, idle.closed]);

    for (const client of [busy, idle]) {
      // The first GOAWAY refuses nothing; the final one names stream 1, the last the server took.
      expectGoaways(client, 1);
      expect(Object.fromEntries(client.streams)).toEqual({
        1: { status: 200, body: 'done', ended: true },
        // Sent after the first GOAWAY: never processed, no answer, no RST_STREAM (refused by the final GOAWAY).
        3: { body: '', ended: false },
      });
      expect(client.errors).toEqual([]);
    }
    // Only the two streams numbered 1 reached the app.
    expect(await app.waitFor(/^ev:served /)).toBe('ev:served 2 2 0');
    expect(await app.report()).toEqual({ ok: true, pending: [] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGTERM' });
  });

  it('at the transports phase timeout, answers the stream still running 503 and destroys the connection itself once that answer is written', async () => {
    const { app, ca } = h2App({
      // `ev:loaded` once one request was served and one is in flight.
      LOADED: '1',
      CONNS: '1',
      QUIT_OPTIONS: JSON.stringify({ phaseTimeouts: { transports: 500 } }),
    });
    const port = await app.ready();

    const client = await RawH2Client.connect(port, ca, streamAfterFirstGoaway);
    clients.push(client);
    client.get('/slow?ms=1');
    await client.until(() => client.streams.get(1)!.ended);
    client.get('/slow?ms=20000');
    await app.waitFor('ev:loaded');

    app.kill('SIGTERM');
    const [exit] = await Promise.all([app.exited, client.closed]);

    expectGoaways(client, 3);
    expect(Object.fromEntries(client.streams)).toEqual({
      1: { status: 200, body: 'done', ended: true },
      // Cut short by the phase timeout: a whole answer, not a reset.
      3: { status: 503, body: '', ended: true },
      5: { body: '', ended: false },
    });
    expect(client.errors).toEqual([]);
    expect(await app.waitFor(/^ev:served /)).toBe('ev:served 2 1 0');
    expect(await app.report()).toEqual({
      ok: false,
      pending: [expect.stringMatching(/^transports: http:\d+: 0 request\(s\) in flight, 0 connection\(s\) open, 1 HTTP\/2 session\(s\) open with 1 stream\(s\)$/)],
    });
    expect(exit).toMatchObject({ code: 1, signal: null });
  });
});
