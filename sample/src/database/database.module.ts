import { Global, Module } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service.js';
import { DatabasePool } from './database.pool.js';

/** Global, like most database modules: its `onModuleDestroy` runs after every other module's. */
@Global()
@Module({ providers: [DatabasePool, MetricsService], exports: [DatabasePool, MetricsService] })
export class DatabaseModule {}
