export * from './quit.module.js';
export * from './quit.service.js';
export * from './decorators/index.js';
export * from './interfaces/index.js';
export * from './errors/index.js';
// No import of @nestjs/terminus in there: the package does not need it unless the app uses it.
export * from './health/index.js';
export { QUIT_DEFAULTS } from './quit.options.js';
export { QuitMessages } from './quit.messages.js';
export type { OwnServer } from './drainers/own-server.js';
