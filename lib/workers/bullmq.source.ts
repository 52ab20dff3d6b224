import type { WorkerHost } from '@nestjs/bullmq';
import { QUIT_WHEN_QUITTING, TRACKED_WORKER_METADATA } from '../quit.constants.js';
import type { TrackedWorkerOptions } from '../interfaces/tracked-worker.interface.js';
import { QuitMessages } from '../quit.messages.js';
import { importIfUsed } from './optional-peer.js';
import type { WorkerSource, WorkerSourceFinder } from './worker-source.interface.js';

/**
 * `@nestjs/bullmq`: closes every `WorkerHost`'s worker at the fire phase. BullMQ's
 * `close()` stops fetching at once, lets the jobs already active run to the end and
 * acknowledges them (moved to completed or failed, locks released), then closes its
 * connections; jobs still waiting stay in Redis for another replica. The workers phase
 * waits for it, so it happens before any `onModuleDestroy` — `@nestjs/bullmq` itself
 * closes workers only in `onApplicationShutdown`, after the pools they use are gone.
 */
export const findBullMqSources: WorkerSourceFinder = async (ctx) => {
  const bull = await importIfUsed<typeof import('@nestjs/bullmq')>(ctx, 'BullModule', '@nestjs/bullmq');
  if (!bull) return [];
  const sources: WorkerSource[] = [];
  const seen = new Set<WorkerHost>();
  for (const wrapper of ctx.discovery.getProviders()) {
    const host = wrapper.instance as (WorkerHost & Record<symbol, unknown>) | undefined;
    // One instance can sit behind several providers (an alias, a re-export).
    if (!(host instanceof bull.WorkerHost) || seen.has(host)) continue;
    seen.add(host);
    const className = host.constructor.name;
    const process = (host as unknown as { process?: Function }).process;
    const tracked = process && (Reflect.getMetadata(TRACKED_WORKER_METADATA, process) as TrackedWorkerOptions | undefined);
    if (tracked?.whenQuitting === 'skip') throw new Error(QuitMessages.skipOnQueueProcessor(`${className}@process`));
    // A job reaching process() after quitting began was fetched just before: it must run.
    Object.defineProperty(host, QUIT_WHEN_QUITTING, { value: 'run', configurable: true });
    sources.push(new BullMqSource(host, className));
  }
  return sources;
};

class BullMqSource implements WorkerSource {
  constructor(
    private readonly host: WorkerHost,
    private readonly className: string,
  ) {}

  get name(): string {
    return `bullmq:${this.worker?.name ?? this.className}`;
  }

  /** Read at quit time: with `manualRegistration` the worker may be created after bootstrap. */
  private get worker() {
    try {
      return this.host.worker;
    } catch {
      return undefined;
    }
  }

  stopIntake(): Promise<unknown> | void {
    return this.worker?.close();
  }
}

