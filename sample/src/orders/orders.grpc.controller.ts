import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { DatabasePool } from '../database/database.pool.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** `sample.Orders` on the gRPC server connected next to HTTP (see main.ts). */
@Controller()
export class OrdersGrpcController {
  constructor(
    private readonly db: DatabasePool,
    private readonly metrics: MetricsService,
  ) {}

  @GrpcMethod('Orders', 'GetOrder')
  async getOrder({ id, ms }: { id: number; ms: number }): Promise<{ id: number; status: string }> {
    this.metrics.inc('grpc.accepted');
    try {
      await this.db.query(ms || 100);
    } catch (error) {
      this.metrics.inc('grpc.failed');
      throw error;
    }
    this.metrics.inc('grpc.completed');
    return { id, status: 'shipped' };
  }
}
