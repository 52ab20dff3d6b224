/**
 * The one place where the Socket.IO drain reaches past engine.io's documented API. Read
 * from engine.io 6.6.13 (`build/socket.js`, `build/transports/polling.js`): a socket's
 * `transport` (its `name` and `writable`: a long-poll GET is pending) and its `writeBuffer`
 * (packets not yet sent). Probed: a missing field reads as "not known", and the drain
 * then keeps engine.io's own behaviour.
 */

/**
 * A long-polling engine.io socket with nothing left to send and no poll pending: its
 * orderly close (`socket.close()`) would wait for the client's next poll, up to
 * engine.io's 30 s `closeTimeout`, and during a drain that poll may never come (the HTTP
 * listener is closed). Such a socket owes its client nothing more.
 */
export function idlePollingSocket(socket: unknown): boolean {
  const s = socket as { transport?: { name?: unknown; writable?: unknown }; writeBuffer?: unknown } | null;
  return s?.transport?.name === 'polling' && s.transport.writable === false && Array.isArray(s.writeBuffer) && s.writeBuffer.length === 0;
}
