import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { QuitHealthIndicator } from '../../../lib/index.js'; // in an app: from 'nestjs-quit'
import { HealthController } from './health.controller.js';

@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [QuitHealthIndicator],
})
export class HealthModule {}
