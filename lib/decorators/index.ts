export * from './on-quit.decorator.js';
export * from './tracked-worker.decorator.js';
