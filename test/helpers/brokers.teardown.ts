import type { Broker } from './brokers.js';

/** Jest globalTeardown: stops exactly the brokers the globalSetup started. */
export default async function teardown(): Promise<void> {
  const brokers = (globalThis as { __quitBrokers?: Broker[] }).__quitBrokers ?? [];
  await Promise.all(brokers.map((b) => b.stop()));
}
