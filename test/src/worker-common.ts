/**
 * What the worker fixtures share: a quit hook that marks where the hooks phase runs, and
 * a bootstrap that prints the phases and the report as `ev:` lines.
 */
import { Injectable, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OnQuit, QuitService } from '../../lib/index.js';
import { ev } from './log.js';

/** Resolves once quitting has begun: work held on it is in flight at the signal by construction. */
export const untilQuitting = (quit: QuitService) =>
  new Promise<void>((resolve) => (quit.isQuitting ? resolve() : quit.signal.addEventListener('abort', () => resolve())));

@Injectable()
export class FlushHook {
  @OnQuit()
  flush(): void {
    ev('hook.flush');
  }
}

/** Boots `module` as an application context with shutdown hooks; prints `ready 0` once up. */
export async function bootWorkerFixture(module: Type): Promise<void> {
  const app = await NestFactory.createApplicationContext(module, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'phase.started') ev(`phase.${e.phase}`);
    if (e.type === 'quit.ended') ev(`report ${JSON.stringify({ ok: e.report.ok, pending: e.report.pending, skipped: e.report.skippedWorkerRuns })}`);
  });
  process.stdout.write('ready 0\n');
}
