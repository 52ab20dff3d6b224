export * from './quit-options.interface.js';
export * from './quit-event.interface.js';
export * from './quit-report.interface.js';
export * from './quit-hook.interface.js';
export * from './tracked-worker.interface.js';
export * from './transport-drainer.interface.js';
