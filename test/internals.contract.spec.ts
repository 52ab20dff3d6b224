/**
 * The contract of lib/internals/ (lib/internals/contract.ts) on the repository's own
 * install: @nestjs/core 12.5, @nestjs/microservices 12.1, grpc-js, the broker clients and
 * both WebSocket adapters. Every reach is found. The consumer apps run the same contract
 * from the packed package on Nest 11.0, 11.1, 11.2, 12.0 and 12.5
 * (test/consumers.e2e-spec.ts), where some reaches are genuinely missing.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Server } from '@nestjs/microservices';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkInternals, UNCHECKED } from '../lib/internals/contract.js';
import { expectedContract } from './helpers/internals-contract.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const version = (name: string) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version as string;

describe('lib/internals/contract.ts on the installed libraries', () => {
  const restore: Array<() => void> = [];
  afterEach(() => restore.splice(0).forEach((r) => r()));

  it('finds every reach of every library installed here (the versions each was read in)', async () => {
    expect([version('@nestjs/core'), version('@nestjs/microservices'), version('@grpc/grpc-js')]).toEqual(['12.5.1', '12.1.1', '1.14.7']);
    const { libraries, unchecked } = await checkInternals();
    expect(libraries).toEqual(expectedContract({ microservices: [], grpc: true, brokers: true, websockets: true }));
    expect(unchecked).toBe(UNCHECKED);
  });

  it('a reach that stops working is reported missing with what was seen, the rest still checked; nothing throws', async () => {
    // As if a Nest release renamed `getHandlers()`: the one reach goes missing, nothing else changes.
    const original = Object.getOwnPropertyDescriptor(Server.prototype, 'getHandlers')!;
    Object.defineProperty(Server.prototype, 'getHandlers', { ...original, value: () => undefined });
    restore.push(() => Object.defineProperty(Server.prototype, 'getHandlers', original));
    const { libraries } = await checkInternals();
    const microservices = libraries.find((l) => l.library === '@nestjs/microservices')!;
    const expected = expectedContract({ microservices: [], grpc: true, brokers: true, websockets: true }).find((l) => l.library === '@nestjs/microservices')!;
    expect(microservices.missing).toEqual([{ reach: 'Server#getHandlers()', seen: '[]' }]);
    expect(microservices.found).toEqual(expected.found.filter((r) => r !== 'Server#getHandlers()'));
  });
});
