export * from './quit.health-indicator.js';
export * from './quit-grpc-health.service.js';
