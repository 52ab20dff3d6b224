import { Injectable } from '@nestjs/common';
import { QuitService } from '../quit.service.js';

/**
 * The result of one health indicator, in the shape `@nestjs/terminus` reads
 * (`HealthIndicatorResult`): declared here so that this file, and the package, do not
 * need terminus at all unless the app uses it.
 */
export type QuitHealthResult<Key extends string = string> = Record<Key, { status: 'up' | 'down'; message?: string }>;

/**
 * A `@nestjs/terminus` health indicator for the quit event. `QuitModule` (global) exports
 * it: inject it in the health controller, with no `providers` entry, and use it in a
 * readiness check:
 *
 * ```ts
 * @Get('ready') @HealthCheck()
 * ready() { return this.health.check([() => this.quitHealth.isReady()]); }
 * ```
 *
 * Readiness goes down ("shutting down") at the first moment of quitting, so a load
 * balancer takes the instance out during `readinessDelayMs`, while it still serves
 * normally. Liveness never changes on quitting: a shutting-down process is not a
 * process to restart.
 */
@Injectable()
export class QuitHealthIndicator {
  constructor(private readonly quit: QuitService) {}

  /** `up` until quitting begins, then `down` with the message "shutting down". */
  isReady<Key extends string = 'shutdown'>(key: Key = 'shutdown' as Key): QuitHealthResult<Key> {
    const state: QuitHealthResult[string] = this.quit.isReady ? { status: 'up' } : { status: 'down', message: 'shutting down' };
    return { [key]: state } as QuitHealthResult<Key>;
  }

  /** Always `up`: quitting does not make the process unhealthy. For a liveness check. */
  isAlive<Key extends string = 'process'>(key: Key = 'process' as Key): QuitHealthResult<Key> {
    return { [key]: { status: 'up' } } as QuitHealthResult<Key>;
  }
}
