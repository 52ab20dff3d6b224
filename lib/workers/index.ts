import { findBullMqSources } from './bullmq.source.js';
import { findScheduleSources } from './schedule.source.js';
import type { WorkerSourceFinder } from './worker-source.interface.js';

/** One finder per library that starts work on its own. */
export const workerSourceFinders: WorkerSourceFinder[] = [findScheduleSources, findBullMqSources];
