import { Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { OnQuit } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'

/** A stand-in for a service-registry client (Consul, Eureka…). */
@Injectable()
export class RegistryClient {
  private readonly logger = new Logger('Registry');

  /**
   * A quit hook: runs once the transports and workers are drained, with its own
   * timeout; the `signal` aborts when that timeout passes.
   */
  @OnQuit({ order: 0, timeoutMs: 2_000 })
  async deregister(signal: AbortSignal): Promise<void> {
    await sleep(20, undefined, { signal });
    this.logger.log('deregistered from the service registry');
  }
}
