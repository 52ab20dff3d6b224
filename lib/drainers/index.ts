import type { HttpAdapterHost } from '@nestjs/core';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import type { ResolvedQuitOptions } from '../quit.options.js';
import { HttpDrainer } from './http.drainer.js';

export interface DrainerContext {
  httpHost?: HttpAdapterHost;
  options: ResolvedQuitOptions;
}

/** One finder per transport: a new transport is a new file and a line here. */
const finders: Array<(ctx: DrainerContext) => TransportDrainer[]> = [
  ({ httpHost, options }) => {
    const server = httpHost?.httpAdapter?.getHttpServer?.();
    return server ? [new HttpDrainer(server, options.http.idleGraceMs)] : [];
  },
];

export function discoverDrainers(ctx: DrainerContext): TransportDrainer[] {
  return finders.flatMap((find) => find(ctx));
}
