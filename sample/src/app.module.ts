import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { QuitModule } from '../../lib/index.js'; // in an app: from 'nestjs-quit'
import { config } from './config.js';
import { DatabaseModule } from './database/database.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { JobsModule } from './jobs/jobs.module.js';
import { OrdersGrpcController } from './orders/orders.grpc.controller.js';
import { OrdersHttpController } from './orders/orders.http.controller.js';
import { QuitEventsPrinter } from './quit-events.printer.js';
import { RegistryClient } from './registry/registry.client.js';
import { ReportsCron } from './reports/reports.cron.js';

@Module({
  imports: [
    QuitModule.forRoot({
      // Keep serving this long after readiness turns 503 (see docs/KUBERNETES.md).
      readinessDelayMs: config.readinessDelayMs,
      // Under Kubernetes' default 30 s grace period.
      timeoutMs: 25_000,
      // A clean shutdown exits 0 (not by re-raising SIGTERM); a failed one exits 1.
      exitCode: 0,
      // grpc.health.v1 on the gRPC port: NOT_SERVING from the first moment of quitting.
      grpcHealth: true,
    }),
    ScheduleModule.forRoot(),
    DatabaseModule,
    JobsModule.forRoot(config.redis),
    HealthModule,
  ],
  controllers: [OrdersHttpController, OrdersGrpcController, MetricsController],
  providers: [ReportsCron, RegistryClient, QuitEventsPrinter],
})
export class AppModule {}

