import type { DynamicModule, INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';

/** This consumer's HTTP adapter: Fastify. `options` override the quiet logger. */
export function createApp(module: DynamicModule, options: NestApplicationOptions = {}): Promise<INestApplication> {
  return NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: ['error', 'warn'], ...options });
}
