import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Broker } from './brokers.js';

/** Jest globalTeardown: stops exactly the brokers the globalSetup started (a RabbitMQ still booting included). */
export default async function teardown(): Promise<void> {
  const brokers = (globalThis as { __quitBrokers?: Broker[] }).__quitBrokers ?? [];
  await Promise.all(brokers.map((b) => b.stop()));
  const errorFile = process.env.QUIT_TEST_RMQ_PORT_ERROR;
  if (errorFile) rmSync(path.dirname(errorFile), { recursive: true, force: true });
}
