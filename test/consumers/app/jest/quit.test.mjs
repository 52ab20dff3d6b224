/**
 * Run by Jest in ESM mode (`node --experimental-vm-modules`), as a Nest 12 app's own
 * tests must be: the app module (compiled to ../../dist/src) imports nestjs-quit, and
 * app.close() runs the quit pipeline before any onModuleDestroy. With `grpcHealth: true`
 * the ESM build loads grpc-health-check lazily through Jest's `import()`.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { readFileSync } from 'node:fs';
import { QuitGrpcHealth, QuitService } from 'nestjs-quit';
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

test('grpcHealth: true loads grpc-health-check at startup where the app has it, and fails the start naming grpcHealth where it does not', async () => {
  const installed = 'grpc-health-check' in JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).dependencies;
  import.meta.jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  process.env.QUIT_OPTIONS = JSON.stringify({ grpcHealth: true });
  try {
    const starting = NestFactory.createApplicationContext(AppModule.with([]), { logger: false });
    if (installed) {
      const app = await starting;
      expect(app.get(QuitGrpcHealth).enabled).toBe(true);
      await app.close();
    } else {
      const error = await starting.then(() => undefined, (e) => e);
      expect(error?.name).toBe('QuitOptionsError');
      expect(error.message).toMatch(/^QuitModule option "grpcHealth" is invalid: got true; expected the package grpc-health-check installed \(npm install grpc-health-check\); loading it failed: (Error: )?Cannot find (module|package) 'grpc-health-check'/);
    }
  } finally {
    delete process.env.QUIT_OPTIONS;
    import.meta.jest.restoreAllMocks();
  }
});
