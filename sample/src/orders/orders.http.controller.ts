import { Controller, Get, Param, ParseIntPipe, Query } from '@nestjs/common';
import { DatabasePool } from '../database/database.pool.js';
import { MetricsService } from '../metrics/metrics.service.js';

@Controller('orders')
export class OrdersHttpController {
  constructor(
    private readonly db: DatabasePool,
    private readonly metrics: MetricsService,
  ) {}

  /** An order, after a database query of `ms` (default 100). */
  @Get(':id')
  async get(@Param('id', ParseIntPipe) id: number, @Query('ms') ms = '100'): Promise<{ id: number; status: string }> {
    this.metrics.inc('http.accepted');
    try {
      await this.db.query(Number(ms));
    } catch (error) {
      this.metrics.inc('http.failed');
      throw error;
    }
    this.metrics.inc('http.completed');
    return { id, status: 'shipped' };
  }
}
