export * from './quit-options.error.js';
export * from './quit-timeout.error.js';
export * from './quit-rejected.error.js';
