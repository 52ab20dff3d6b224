import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { errorMessage } from '../errors/error-message.js';
import { QuitOptionsError } from '../errors/quit-options.error.js';
import {
  afterListen,
  grpcServerOf,
  grpcServiceNames,
  isGrpcStrategy,
  loadGrpcHealthCheck,
  onRpcTargets,
  type GrpcAddService,
  type GrpcHealthCheckPackage,
  type RpcStrategy,
  type ServingStatus,
} from '../internals/grpc-health.js';
import { QUIT_MODULE_OPTIONS } from '../quit.constants.js';
import { QuitMessages } from '../quit.messages.js';
import type { ResolvedQuitOptions } from '../quit.options.js';
import { QuitService } from '../quit.service.js';
import { GrpcHealthServer } from './grpc-health.server.js';

/**
 * The standard gRPC health service (`grpc.health.v1.Health`, Check and Watch) on every
 * gRPC server of the app, hybrid or standalone, when the module is set up with
 * `grpcHealth: true`: `""` and each of the app's own services answer SERVING while the
 * app is up and NOT_SERVING from the first moment of quitting (before any intake stops,
 * and through `readinessDelayMs`), so Kubernetes' gRPC probes, Envoy and meshes take the
 * instance out while it still serves.
 *
 * Inject it to mark one of your services NOT_SERVING (and back) while the app is up, e.g.
 * while a database it needs is down.
 */
@Injectable()
export class QuitGrpcHealth implements OnModuleInit, OnApplicationBootstrap {
  private pkg?: GrpcHealthCheckPackage;
  private readonly servers: GrpcHealthServer[] = [];
  /** Statuses set before a server was found: a server found later starts with them. */
  private readonly overrides = new Map<string, ServingStatus>();

  constructor(
    @Inject(QUIT_MODULE_OPTIONS) private readonly options: ResolvedQuitOptions,
    private readonly quit: QuitService,
    private readonly modules: ModulesContainer,
  ) {}

  /** Loads grpc-health-check at startup, so that a missing package fails the start, not the first probe. */
  async onModuleInit(): Promise<void> {
    if (!this.options.grpcHealth) return;
    try {
      this.pkg = await loadGrpcHealthCheck();
    } catch (error) {
      throw new QuitOptionsError('grpcHealth', true, QuitMessages.grpcHealthPackageMissing(errorMessage(error)));
    }
  }

  onApplicationBootstrap(): void {
    if (!this.pkg) return;
    this.quit.signal.addEventListener('abort', () => this.servers.forEach((s) => s.quit()), { once: true });
    // Every microservice server, hybrid or standalone, created before bootstrap or after.
    onRpcTargets(this.modules, (strategy) => {
      if (isGrpcStrategy(strategy)) this.watchStrategy(strategy);
    });
  }

  /** Whether the module serves the health service (`grpcHealth: true` and the package loaded). */
  get enabled(): boolean {
    return this.pkg !== undefined;
  }

  /**
   * The status a Check for `service` answers on the first gRPC server (`""`: the whole
   * server); `undefined` for a service it does not know.
   */
  status(service = ''): ServingStatus | undefined {
    return this.servers[0]?.status(service);
  }

  /**
   * Sets one service's status on every gRPC server, e.g. NOT_SERVING while a dependency
   * is down. Once quitting began every service is NOT_SERVING and this does nothing.
   */
  setStatus(service: string, status: ServingStatus): void {
    if (status !== 'SERVING' && status !== 'NOT_SERVING') {
      throw new TypeError(QuitMessages.grpcHealthBadStatus(status));
    }
    if (this.quit.isQuitting) return;
    this.overrides.set(service, status);
    for (const server of this.servers) server.setStatus(service, status);
  }

  private watchStrategy(strategy: RpcStrategy): void {
    const attach = () => {
      const server = grpcServerOf(strategy);
      if (server) this.attach(server);
      return server !== undefined;
    };
    // Nest creates the grpc-js server in listen(): wait for it when it is not there yet.
    if (!attach() && !afterListen(strategy, attach)) this.options.logger?.warn(QuitMessages.grpcHealthNoListen());
  }

  private attach(server: object): void {
    const names = grpcServiceNames(server);
    if (!names) {
      this.options.logger?.warn(QuitMessages.grpcHealthNoServiceList());
    }
    const health = new GrpcHealthServer(this.pkg!, names ?? []);
    for (const [service, status] of this.overrides) health.setStatus(service, status);
    try {
      health.addTo(server as GrpcAddService);
    } catch (error) {
      this.options.logger?.warn(QuitMessages.grpcHealthServedByApp(errorMessage(error)));
      return;
    }
    if (this.quit.isQuitting) health.quit();
    this.servers.push(health);
  }
}

export type { ServingStatus as GrpcServingStatus };
