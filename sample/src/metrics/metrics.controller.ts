import { Controller, Get } from '@nestjs/common';
import { MetricsService } from './metrics.service.js';

/** What this replica accepted and completed so far, by kind (`http.completed`, `grpc.accepted`, …). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  counts(): MetricsService['counts'] {
    return this.metrics.counts;
  }
}
