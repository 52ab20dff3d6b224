import { startBrokers, type Broker, type BrokerName } from './brokers.js';

/**
 * Jest globalSetup: the brokers, once per run, in parallel (RabbitMQ takes ~15-20 s to
 * boot; the others well under a second). A run of only test files that need none (their
 * paths given on the command line, none matching `NEEDS`) starts none.
 */
const NEEDS = /transports|rpc\.e2e/;

export default async function setup(globalConfig: { testPathPatterns?: { patterns?: string[] } | string[] }): Promise<void> {
  const raw = globalConfig.testPathPatterns;
  const patterns = Array.isArray(raw) ? raw : (raw?.patterns ?? []);
  if (patterns.length && !patterns.some((p) => NEEDS.test(p))) return;
  const names: BrokerName[] = ['redis', 'nats', 'mqtt', 'rmq'];
  (globalThis as { __quitBrokers?: Broker[] }).__quitBrokers = await startBrokers(names);
}
