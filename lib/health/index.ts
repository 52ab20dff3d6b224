export * from './quit.health-indicator.js';
