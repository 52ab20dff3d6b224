import { QuitMessages } from '../quit.messages.js';

/** Thrown by a `@TrackedWorker({ whenQuitting: 'reject' })` method called once quitting has begun. */
export class QuitRejectedError extends Error {
  constructor(readonly worker: string) {
    super(QuitMessages.workerRejected(worker));
    this.name = 'QuitRejectedError';
  }
}
