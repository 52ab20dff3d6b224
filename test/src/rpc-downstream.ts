/**
 * "Another service": a plain Nest TCP microservice (no quit module) that the rpc fixture
 * calls through a ClientProxy while it drains. Output: `ready <port>`, `ev:double <n>`.
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { AddressInfo, Server } from 'node:net';
import { ev } from './log.js';

@Controller()
class DoubleController {
  @MessagePattern('double')
  double(n: number): number {
    ev(`double ${n}`);
    return n * 2;
  }
}

@Module({ controllers: [DoubleController] })
class DownstreamModule {}

async function main() {
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(DownstreamModule, {
    transport: Transport.TCP,
    options: { host: '127.0.0.1', port: 0 },
    logger: ['error', 'warn'],
  });
  await app.listen();
  process.stdout.write(`ready ${(app.unwrap<Server>().address() as AddressInfo).port}\n`);
}

void main();
