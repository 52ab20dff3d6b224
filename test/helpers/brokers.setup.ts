import { startBrokers, type Broker, type BrokerName } from './brokers.js';

/**
 * Jest globalSetup: the brokers, once per run, in parallel. Redis, NATS and Mosquitto are up
 * in well under a second and waited for; RabbitMQ takes ~15-20 s to boot, so it boots in the
 * background while the tests run, and its tests wait for it (`brokerReady('rmq')`). A run of
 * only test files that need none (their paths given on the command line, none matching
 * `NEEDS`) starts none.
 */
const NEEDS = /transports|rpc\.e2e/;

export default async function setup(globalConfig: { testPathPatterns?: { patterns?: string[] } | string[] }): Promise<void> {
  const raw = globalConfig.testPathPatterns;
  const patterns = Array.isArray(raw) ? raw : (raw?.patterns ?? []);
  if (patterns.length && !patterns.some((p) => NEEDS.test(p))) return;
  const names: BrokerName[] = ['redis', 'nats', 'mqtt', 'rmq'];
  (globalThis as { __quitBrokers?: Broker[] }).__quitBrokers = await startBrokers(names, ['rmq']);
}
