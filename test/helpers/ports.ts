/**
 * A loopback port nobody listens on right now (the OS picks it), for a server that must
 * be told its port up front (gRPC, Redis, HAProxy, a replica restarted on the same port):
 * the one `nestjs-quit/testing` uses.
 */
export { freePort } from '../../lib/testing/free-port.js';
