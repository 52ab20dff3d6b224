import type { DynamicModule, INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/** This consumer's HTTP adapter: Express, Nest's default. */
export function createApp(module: DynamicModule): Promise<INestApplication> {
  return NestFactory.create(module, { logger: ['error', 'warn'] });
}
