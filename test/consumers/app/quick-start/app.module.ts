/**
 * The README's quick start, app.module.ts: from the line `// app.module.ts` on, word for
 * word the README's block (test/consumers.e2e-spec.ts compares them). main.ts runs it
 * with the probe and the gRPC service (QUICK_START=1).
 */
// app.module.ts
import { Controller, Get, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { QuitHealthIndicator, QuitModule } from 'nestjs-quit';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly quitHealth: QuitHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.quitHealth.isReady()]); // 503 from the first moment of quitting
  }
}

@Module({
  imports: [
    QuitModule.forRoot({
      readinessDelayMs: 3_000, // keep serving while balancers see the 503 (see Readiness below)
      grpcHealth: true, // gRPC apps: grpc.health.v1 answers NOT_SERVING from the first moment of quitting
    }),
    TerminusModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}
