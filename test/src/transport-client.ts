import { Transport } from '@nestjs/microservices';

/** The transports the two-replica tests and the transports benchmark run (RabbitMQ with and without acks share `rmq`'s client). */
export type ClientKind = 'tcp' | 'redis' | 'nats' | 'mqtt' | 'rmq';

/**
 * The `ClientProxyFactory.create()` options of a client of `kind` on a broker (or, for tcp,
 * a replica) on loopback `port`: one definition for test/transports.e2e-spec.ts and
 * bench/transports.bench.mjs.
 */
export function transportClientOptions(kind: ClientKind, port: number, queue?: string) {
  const host = '127.0.0.1';
  switch (kind) {
    case 'tcp':
      return { transport: Transport.TCP, options: { host, port } } as const;
    case 'redis':
      return { transport: Transport.REDIS, options: { host, port } } as const;
    case 'nats':
      return { transport: Transport.NATS, options: { servers: [`nats://${host}:${port}`] } } as const;
    case 'mqtt':
      return { transport: Transport.MQTT, options: { url: `mqtt://${host}:${port}` } } as const;
    case 'rmq':
      return { transport: Transport.RMQ, options: { urls: [`amqp://guest:guest@${host}:${port}`], queue } } as const;
  }
}
