import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { OnQuitOptions } from './interfaces/quit-hook.interface.js';
import type { TrackedWorkerOptions } from './interfaces/tracked-worker.interface.js';
import { ON_QUIT_METADATA, TRACKED_WORKER_METADATA } from './quit.constants.js';

/** Reads `@OnQuit()` and `@TrackedWorker()` metadata for the explorer. */
@Injectable()
export class QuitMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getOnQuit(target: Function): OnQuitOptions | undefined {
    return target ? this.reflector.get(ON_QUIT_METADATA, target) : undefined;
  }

  getTrackedWorker(target: Function): TrackedWorkerOptions | undefined {
    return target ? this.reflector.get(TRACKED_WORKER_METADATA, target) : undefined;
  }
}
