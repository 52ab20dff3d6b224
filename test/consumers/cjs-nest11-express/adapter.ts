import type { DynamicModule, INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/** This consumer's HTTP adapter: Express, Nest's default. `options` override the quiet logger. */
export function createApp(module: DynamicModule, options: NestApplicationOptions = {}): Promise<INestApplication> {
  return NestFactory.create(module, { logger: ['error', 'warn'], ...options });
}
