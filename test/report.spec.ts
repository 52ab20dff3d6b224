import 'reflect-metadata';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConsoleLogger, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OnQuit, QuitModule, QuitService, type QuitModuleOptions } from '../lib/index.js';

/** Everything written to stdout and stderr while a test runs (Nest's ConsoleLogger writes there). */
let out: { stdout: string[]; stderr: string[] };
beforeEach(() => {
  out = { stdout: [], stderr: [] };
  for (const stream of ['stdout', 'stderr'] as const) {
    jest.spyOn(process[stream], 'write').mockImplementation((chunk: unknown) => {
      out[stream].push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  jest.restoreAllMocks();
});

let mode: 'ok' | 'fail' = 'ok';

@Injectable()
class Hooks {
  @OnQuit({ order: 1 })
  flush() {
    if (mode === 'fail') throw new Error('disk full');
  }
  @OnQuit({ order: 2, timeoutMs: 30 })
  async slow(signal: AbortSignal) {
    if (mode === 'fail') await new Promise((resolve) => signal.addEventListener('abort', resolve));
  }
}

/** Boots an app with the given logger, closes it (the pipeline runs), returns its QuitService. */
async function closeWith(logger: ConsoleLogger, options: QuitModuleOptions = {}) {
  const ref = await Test.createTestingModule({ imports: [QuitModule.forRoot({ logger, ...options })], providers: [Hooks] }).compile();
  const app = await ref.createNestApplication({ logger: false }).init();
  const quit = app.get(QuitService);
  await app.close();
  return quit;
}

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
const quitLines = (chunks: string[]) => chunks.map(strip).filter((c) => c.includes('QuitModule'));

describe('shutdown report, Nest ConsoleLogger in text mode', () => {
  it('a clean shutdown logs one summary line with each phase and its duration', async () => {
    mode = 'ok';
    await closeWith(new ConsoleLogger('QuitModule', { colors: false }));
    const lines = quitLines(out.stdout);

    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/LOG \[QuitModule\] Shutting down \(close\)\n$/);
    expect(lines[1]).toMatch(
      /LOG \[QuitModule\] Shutdown done in [\d.]+ ms \(app\.close\(\)\): fire [\d.]+ ms, readiness [\d.]+ ms, transports [\d.]+ ms, workers [\d.]+ ms, hooks [\d.]+ ms( \+\d+ms)?\n$/,
    );
    expect(lines[1]!.split('\n')).toHaveLength(2); // one line, and its newline
    expect(quitLines(out.stderr)).toEqual([]);
  });

  it('a failed shutdown logs a table: phase, duration, outcome, pending, then the failures', async () => {
    mode = 'fail';
    await closeWith(new ConsoleLogger('QuitModule', { colors: false }));
    const errors = quitLines(out.stderr);
    const report = errors.find((c) => c.includes('Shutdown failed'));
    expect(report).toBeDefined();
    const table = report!.split('\n').map((l) => l.trimEnd());

    expect(table[0]).toMatch(/ERROR \[QuitModule\] Shutdown failed after [\d.]+ ms \(app\.close\(\)\)$/);
    // Durations vary; the columns are aligned whatever their width.
    const header = table[1]!;
    expect(header).toBe(`  phase       ${' '.repeat(header.indexOf('duration') - 14)}duration  outcome    pending`);
    const at = (word: string) => header.indexOf(word);
    expect(table.slice(2, 7).map((l) => [l.slice(0, at('duration')).trim(), l.slice(at('duration'), at('outcome')).trim(), l.slice(at('outcome'), at('pending')).trim(), l.slice(at('pending'))])).toEqual([
      ['fire', expect.stringMatching(/^[\d.]+ ms$/), 'ok', ''],
      ['readiness', expect.stringMatching(/^[\d.]+ ms$/), 'ok', ''],
      ['transports', expect.stringMatching(/^[\d.]+ ms$/), 'ok', ''],
      ['workers', expect.stringMatching(/^[\d.]+ ms$/), 'ok', ''],
      ['hooks', expect.stringMatching(/^[\d.]+ ms$/), 'timed out', 'Hooks@slow'],
    ]);
    // Durations are right-aligned: every one ends where the header's "duration" ends.
    expect(table.slice(2, 7).every((l) => l.slice(0, at('duration') + 'duration'.length).endsWith(' ms'))).toBe(true);
    expect(table[7]).toBe('  failures');
    expect(table.slice(8, 11)).toEqual([
      '  phase  source       error',
      '  hooks  Hooks@flush  Quit hook Hooks@flush failed: disk full',
      '  hooks  Hooks@slow   Quit hook Hooks@slow did not finish within 30 ms',
    ]);
    // The log line ends the table: nothing else (no JSON) on it.
    expect(table[11]).toMatch(/^ \+\d+ms$|^$/);
  });
});

describe('shutdown report, Nest ConsoleLogger in JSON mode', () => {
  const records = (chunks: string[]) =>
    chunks
      .flatMap((c) => c.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; context?: string; message: unknown });

  it('a clean shutdown: one record whose message has the report as fields', async () => {
    mode = 'ok';
    await closeWith(new ConsoleLogger('QuitModule', { json: true }));
    const logs = records(out.stdout).filter((r) => r.context === 'QuitModule');

    expect(logs).toHaveLength(2);
    expect(logs[0]!.message).toBe('Shutting down (close)');
    const report = logs[1]!.message as Record<string, any>;
    expect(typeof report).toBe('object');
    expect(report.summary).toMatch(/^Shutdown done in [\d.]+ ms \(app\.close\(\)\): fire /);
    expect(report).toMatchObject({ ok: true, trigger: 'close', pending: [], failures: [], skippedWorkerRuns: 0 });
    expect(report.phases.map((p: { phase: string }) => p.phase)).toEqual(['fire', 'readiness', 'transports', 'workers', 'hooks']);
    expect(report.phases.every((p: { durationMs: unknown }) => typeof p.durationMs === 'number')).toBe(true);
    expect(records(out.stderr).filter((r) => r.context === 'QuitModule')).toEqual([]);
  });

  it('a failed shutdown: an error record with the phases, what was pending and each failure as fields', async () => {
    mode = 'fail';
    await closeWith(new ConsoleLogger('QuitModule', { json: true }));
    const reports = records(out.stderr).filter((r) => r.context === 'QuitModule' && typeof r.message === 'object');

    expect(reports).toHaveLength(1);
    expect(reports[0]!.level).toBe('error');
    const report = reports[0]!.message as Record<string, any>;
    expect(report.summary).toMatch(/^Shutdown failed after [\d.]+ ms \(app\.close\(\)\)$/);
    expect(report).toMatchObject({ ok: false, trigger: 'close', pending: ['hooks: Hooks@slow'] });
    expect(report.failures).toEqual([
      { source: 'Hooks@flush', phase: 'hooks', message: 'Quit hook Hooks@flush failed: disk full', error: 'disk full' },
      { source: 'Hooks@slow', phase: 'hooks', message: 'Quit hook Hooks@slow did not finish within 30 ms' },
    ]);
    expect(report.phases.map((p: { phase: string; timedOut: boolean }) => `${p.phase}:${p.timedOut}`)).toEqual([
      'fire:false',
      'readiness:false',
      'transports:false',
      'workers:false',
      'hooks:true',
    ]);
    expect(report.phases[4].pending).toEqual(['Hooks@slow']);
  });
});
