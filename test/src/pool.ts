import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { ev, sleep } from './log.js';

/** A stand-in for a database pool: closed in `onModuleDestroy`, and work fails once closed. */
@Injectable()
export class Pool implements OnModuleDestroy {
  open = true;

  async query(ms: number): Promise<string> {
    if (!this.open) throw new Error('pool is closed');
    await sleep(ms);
    if (!this.open) throw new Error('pool closed while a query ran');
    return 'ok';
  }

  /** With POOL_DESTROY=hang, closing never finishes (a stuck driver). */
  async onModuleDestroy(): Promise<void> {
    ev('pool.destroy');
    this.open = false;
    if (process.env.POOL_DESTROY === 'hang') {
      // A stuck driver: its socket keeps the process alive, and closing never finishes.
      setInterval(() => undefined, 1_000);
      await new Promise(() => undefined);
    }
  }
}
