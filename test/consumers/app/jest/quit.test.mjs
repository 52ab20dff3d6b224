/**
 * Run by Jest in ESM mode (`node --experimental-vm-modules`), as a Nest 12 app's own
 * tests must be: the app module (compiled to ../../dist/src) imports nestjs-quit, and
 * app.close() runs the quit pipeline before any onModuleDestroy.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { QuitService } from 'nestjs-quit';
import { AppModule } from '../../dist/src/probe.module.js';

test('app.close() runs the quit pipeline before onModuleDestroy', async () => {
  const lines = [];
  import.meta.jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk).trim());
    return true;
  });
  const app = await NestFactory.createApplicationContext(AppModule.with([]), { logger: false });
  const quit = app.get(QuitService);
  await app.close();
  import.meta.jest.restoreAllMocks();
  expect(lines).toEqual(['ev:hook.flush', 'ev:pool.destroy', 'ev:hooks.destroy']);
  expect(quit.report).toMatchObject({ trigger: 'close', ok: true, pending: [], failures: [] });
  expect(quit.report.phases.map((p) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
});
