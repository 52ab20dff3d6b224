import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * Clients looping unary `sample.Orders/GetOrder` calls on one channel. A client stops at
 * its first UNAVAILABLE (the server no longer takes calls), as a client-side balancer
 * would move to another address.
 */
export class GrpcLoad {
  sent = 0;
  completed = 0;
  refused = 0;
  errors: string[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly client: grpc.Client & Record<string, Function>;

  constructor(
    port: number,
    protoPath: string,
    private readonly concurrency: number,
  ) {
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath)) as any;
    this.client = new pkg.sample.Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  start(): void {
    this.loops = Array.from({ length: this.concurrency }, (_, i) => this.loop(i));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    this.client.close();
  }

  private async loop(caller: number): Promise<void> {
    for (let n = 0; !this.stopped; n++) {
      this.sent++;
      const code = await this.call({ id: caller * 100_000 + n, ms: 50 + ((n * 53) % 200) });
      if (code === grpc.status.OK) this.completed++;
      else if (code === grpc.status.UNAVAILABLE) this.refused++;
      else this.errors.push(grpc.status[code] ?? String(code));
      if (code !== grpc.status.OK) return;
    }
  }

  private call(request: { id: number; ms: number }): Promise<grpc.status> {
    return new Promise((resolve) => {
      this.client.GetOrder(request, { deadline: Date.now() + 20_000 }, (error: grpc.ServiceError | null) =>
        resolve(error ? error.code : grpc.status.OK),
      );
    });
  }
}
