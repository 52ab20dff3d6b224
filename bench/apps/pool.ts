import { Injectable, InternalServerErrorException, type OnModuleDestroy } from '@nestjs/common';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The benchmarks' stand-in for a database pool: a query takes `ms`, and fails (a 500 over
 * HTTP) if the pool was closed meanwhile — closed in `onModuleDestroy`, as a real one is.
 */
@Injectable()
export class Pool implements OnModuleDestroy {
  private open = true;

  async query(ms: number): Promise<void> {
    await sleep(ms);
    if (!this.open) throw new InternalServerErrorException('pool closed');
  }

  onModuleDestroy(): void {
    this.open = false;
  }
}
