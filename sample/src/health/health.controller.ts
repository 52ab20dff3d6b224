import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { QuitHealthIndicator } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'

/**
 * Probes for Kubernetes (docs/KUBERNETES.md). Readiness turns 503 the moment quitting
 * begins, so the endpoints controller takes the pod out while it still serves
 * (`readinessDelayMs`); liveness stays 200 to the end, so the kubelet does not kill a
 * pod that is draining.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly quitHealth: QuitHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.quitHealth.isReady()]);
  }

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.quitHealth.isAlive()]);
  }
}
