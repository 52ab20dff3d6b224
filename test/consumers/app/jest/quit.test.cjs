/**
 * Run by Jest in its default CommonJS mode, as a Nest 11 app's own tests are: the app
 * module (compiled to ../../dist/src) requires nestjs-quit, and app.close() runs the
 * quit pipeline before any onModuleDestroy.
 */
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { QuitService } = require('nestjs-quit');
const { AppModule } = require('../../dist/src/probe.module.js');

test('app.close() runs the quit pipeline before onModuleDestroy', async () => {
  const lines = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk).trim());
    return true;
  });
  const app = await NestFactory.createApplicationContext(AppModule.with([]), { logger: false });
  const quit = app.get(QuitService);
  await app.close();
  jest.restoreAllMocks();
  expect(lines).toEqual(['ev:hook.flush', 'ev:pool.destroy', 'ev:hooks.destroy']);
  expect(quit.report).toMatchObject({ trigger: 'close', ok: true, pending: [], failures: [] });
  expect(quit.report.phases.map((p) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
});
