/**
 * Run by Jest in its default CommonJS mode, as a Nest 11 app's own tests are: the app
 * module (compiled to ../../dist/src) requires nestjs-quit, and app.close() runs the
 * quit pipeline before any onModuleDestroy. With `grpcHealth: true` the CommonJS build
 * loads grpc-health-check lazily through Jest's require (this mode has no `import()`).
 */
require('reflect-metadata');
const { NestFactory } = require('@nestjs/core');
const { QuitGrpcHealth, QuitService } = require('nestjs-quit');
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

test('grpcHealth: true loads grpc-health-check at startup where the app has it, and fails the start naming grpcHealth where it does not', async () => {
  const installed = 'grpc-health-check' in require('../../package.json').dependencies;
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  process.env.QUIT_OPTIONS = JSON.stringify({ grpcHealth: true });
  try {
    const starting = NestFactory.createApplicationContext(AppModule.with([]), { logger: false });
    if (installed) {
      const app = await starting;
      expect(app.get(QuitGrpcHealth).enabled).toBe(true);
      await app.close();
    } else {
      const error = await starting.then(() => undefined, (e) => e);
      // Jest's resolver throws an Error of its own realm: still read as an error (its message, no 'Error: ' prefix).
      expect(error?.name).toBe('QuitOptionsError');
      expect(error.message).toMatch(/^QuitModule option "grpcHealth" is invalid: got true; expected the package grpc-health-check installed \(npm install grpc-health-check\); loading it failed: Cannot find module 'grpc-health-check' from '\.\.\/\.\.\/node_modules\/nestjs-quit\/dist\/cjs\/internals\/grpc-health\.js'/);
    }
  } finally {
    delete process.env.QUIT_OPTIONS;
    jest.restoreAllMocks();
  }
});
