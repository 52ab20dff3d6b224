import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/** This consumer's HTTP adapter: Express, Nest's default. */
export function createApp(module: Type<unknown>): Promise<INestApplication> {
  return NestFactory.create(module, { logger: ['error', 'warn'] });
}
