import { Controller, Get, HttpCode, HttpException, HttpStatus } from '@nestjs/common';
import { QuitService } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'

/**
 * Probes for Kubernetes. Readiness turns 503 the moment quitting begins, so the
 * endpoints controller takes the pod out while it still serves (`readinessDelayMs`);
 * liveness stays 200 to the end, so the kubelet does not kill a pod that is draining.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly quit: QuitService) {}

  @Get('ready')
  ready(): { status: string } {
    if (!this.quit.isReady) throw new HttpException({ status: 'shutting down' }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ok' };
  }

  @Get('live')
  @HttpCode(200)
  live(): { status: string } {
    return { status: 'ok' };
  }
}
