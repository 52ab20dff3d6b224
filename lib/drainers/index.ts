import type { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { TransportDrainer } from '../interfaces/transport-drainer.interface.js';
import type { ResolvedQuitOptions } from '../quit.options.js';
import { HttpDrainer } from './http.drainer.js';
import { rpcFinder } from './rpc.finder.js';
import { gatewaysFinder, watchGateways } from './gateways/gateways.finder.js';

export interface DrainerContext {
  httpHost?: HttpAdapterHost;
  modules: ModulesContainer;
  options: ResolvedQuitOptions;
  /** Adds a drainer; a finder may call it later too (a microservice connected after bootstrap). */
  add(drainer: TransportDrainer): void;
  /** Starts the quit pipeline as a close would (or joins the one running); resolves when it is over. */
  beginQuit?(): Promise<unknown>;
}

/** Finds the servers of one transport and adds a drainer for each. */
export type DrainerFinder = (ctx: DrainerContext) => void;

const httpFinder: DrainerFinder = ({ httpHost, options, add }) => {
  const server = httpHost?.httpAdapter?.getHttpServer?.();
  if (server) add(new HttpDrainer(server, options.http.idleGraceMs, options.logger));
};

/** One finder per transport: a new transport is a new file and a line here. */
const finders: DrainerFinder[] = [httpFinder, gatewaysFinder, rpcFinder];

/**
 * Runs from a provider's constructor, before `app.init()` connects the gateways: what must
 * see servers being created (a gateway on its own port listens before any lifecycle hook).
 */
export function prepareDrainers(modules: ModulesContainer, options: ResolvedQuitOptions): void {
  watchGateways(modules, options.http.idleGraceMs);
}

export function discoverDrainers(ctx: DrainerContext): void {
  for (const find of finders) find(ctx);
}
