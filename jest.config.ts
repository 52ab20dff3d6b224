import type { Config } from 'jest';

// Nest 12 ships ESM only, so Jest runs in ESM mode: `node --experimental-vm-modules`
// (see the `test` script), `.ts` treated as ESM and ts-jest emitting ESM.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // Sources import siblings as `./x.js` (NodeNext); Jest resolves the `.ts` file.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  // Real brokers (Redis, NATS, Mosquitto, RabbitMQ) on loopback, once per run (test/helpers/brokers.ts),
  // loaded compiled: Jest loads these outside its module mapper (`npm test` compiles first).
  globalSetup: '<rootDir>/build/test/helpers/brokers.setup.js',
  globalTeardown: '<rootDir>/build/test/helpers/brokers.teardown.js',
  testTimeout: 30_000,
  maxWorkers: 2,
};

export default config;
