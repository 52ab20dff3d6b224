import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { Server, type CustomTransportStrategy } from '@nestjs/microservices';
import { rpcFinder } from '../lib/drainers/rpc.finder.js';
import type { TransportDrainer } from '../lib/interfaces/transport-drainer.interface.js';
import { QuitMessages } from '../lib/quit.messages.js';
import type { ResolvedQuitOptions } from '../lib/quit.options.js';

/**
 * A strategy on a Nest whose handler seams moved: neither `runWithProcessingHooks` (12)
 * nor the processing hook slots (11) are there, so no handler can be counted.
 */
class SeamlessStrategy extends Server implements CustomTransportStrategy {
  constructor(
    override readonly transportId: number | symbol,
    readonly options: { port?: number } = {},
  ) {
    super();
    Object.assign(this, { runWithProcessingHooks: undefined, onProcessingStartHook: undefined });
  }
  listen(callback: () => void): void {
    callback();
  }
  close(): void {}
  on(): void {}
  unwrap<T>(): T {
    return this as unknown as T;
  }
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  return done;
};

function find(strategies: object[]) {
  const warnings: string[] = [];
  const logger = { log: () => undefined, error: () => undefined, warn: (m: string) => void warnings.push(m) } as LoggerService;
  const modules = new ModulesContainer();
  const drainers: TransportDrainer[] = [];
  rpcFinder({ modules, options: { logger } as unknown as ResolvedQuitOptions, add: (d) => drainers.push(d) });
  for (const strategy of strategies) modules.addRpcTarget(strategy);
  return { warnings, drainers };
}

describe('rpcFinder: a strategy whose handlers cannot be counted', () => {
  it.each([
    ['a custom transport', new SeamlessStrategy(Symbol('memory')), 'memory', 'rpc', 'memory: messages in flight not counted'],
    ['Redis', new SeamlessStrategy(1, { port: 6379 }), 'redis:6379', 'redis', 'redis:6379: messages in flight not counted'],
    ['gRPC', new SeamlessStrategy(4), 'grpc', 'grpc', 'grpc: calls in flight not counted'],
  ])('%s: one warning at discovery naming the transport, and pending() says so', async (_label, strategy, name, transport, pending) => {
    // Emitted twice (Nest's registry replays): still one drainer, one warning.
    const { warnings, drainers } = find([strategy, strategy]);
    expect(drainers.map((d) => [d.name, d.transport])).toEqual([[name, transport]]);
    expect(warnings).toEqual([QuitMessages.rpcHandlersNotCounted(name, transport)]);
    expect(warnings[0]).toContain(`@nestjs/microservices ${transport} server`);
    expect(drainers[0].pending()).toEqual([pending]);
  });

  it('the drain of a broker or custom transport then does not wait (what the warning says)', async () => {
    const { drainers } = find([new SeamlessStrategy(Symbol('memory'))]);
    await drainers[0].stopIntake();
    expect(await settled(drainers[0].drain())).toBe(true);
  });

  it('no warning for a strategy whose handlers are counted', () => {
    class Counted extends SeamlessStrategy {
      constructor() {
        super(Symbol('memory'));
        delete (this as unknown as { runWithProcessingHooks?: unknown }).runWithProcessingHooks; // Nest 12's own method again
      }
    }
    const { warnings, drainers } = find([new Counted()]);
    expect(warnings).toEqual([]);
    expect(drainers[0].pending()).toEqual(['memory: 0 message(s) in flight']);
  });
});
