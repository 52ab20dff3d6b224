import { Logger, type LoggerService } from '@nestjs/common';
import { constants as osConstants } from 'node:os';
import { QuitOptionsError } from './errors/quit-options.error.js';
import type { QuitModuleOptions, TransportKind } from './interfaces/quit-options.interface.js';

/** The options with every default filled in: what the rest of the module reads. */
export interface ResolvedQuitOptions {
  timeoutMs: number;
  readinessDelayMs: number;
  phaseTimeouts: { transports: number; workers: number; hooks: number };
  hookTimeoutMs: number;
  transportOrder: TransportKind[];
  http: { idleGraceMs: number };
  signals: NodeJS.Signals[];
  exitCode: number | undefined;
  failureExitCode: number;
  quitOnUncaughtError: boolean;
  logger: LoggerService | undefined;
  grpcHealth: boolean;
}

/** The defaults, in one place. */
export const QUIT_DEFAULTS = {
  timeoutMs: 25_000,
  readinessDelayMs: 0,
  phaseTimeouts: { transports: 10_000, workers: 10_000, hooks: 10_000 },
  hookTimeoutMs: 5_000,
  transportOrder: ['http', 'grpc', 'rpc'] as TransportKind[],
  http: { idleGraceMs: 250 },
  signals: ['SIGTERM', 'SIGINT'] as NodeJS.Signals[],
  failureExitCode: 1,
  quitOnUncaughtError: true,
} as const;

const TRANSPORTS: readonly TransportKind[] = ['http', 'grpc', 'tcp', 'redis', 'nats', 'mqtt', 'rmq', 'kafka', 'rpc'];
const KNOWN_KEYS = new Set([
  'timeoutMs',
  'readinessDelayMs',
  'phaseTimeouts',
  'hookTimeoutMs',
  'transportOrder',
  'http',
  'signals',
  'exitCode',
  'failureExitCode',
  'quitOnUncaughtError',
  'logger',
  'grpcHealth',
]);

/**
 * Checks every option and fills in the defaults. Throws a `QuitOptionsError` naming
 * the first option whose value the module cannot use.
 */
export function resolveQuitOptions(options: QuitModuleOptions | undefined | null): ResolvedQuitOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || Array.isArray(o)) throw new QuitOptionsError('options', o, 'an object');
  for (const key of Object.keys(o)) {
    if (!KNOWN_KEYS.has(key)) throw new QuitOptionsError(key, (o as Record<string, unknown>)[key], 'no such option');
  }
  const timeoutMs = duration('timeoutMs', o.timeoutMs, QUIT_DEFAULTS.timeoutMs, 1);
  const readinessDelayMs = duration('readinessDelayMs', o.readinessDelayMs, QUIT_DEFAULTS.readinessDelayMs, 0);
  // A delay as long as the deadline would leave no time to drain anything.
  if (readinessDelayMs >= timeoutMs) {
    throw new QuitOptionsError('readinessDelayMs', readinessDelayMs, `less than timeoutMs (${timeoutMs})`);
  }
  const phases = section('phaseTimeouts', o.phaseTimeouts, ['transports', 'workers', 'hooks']);
  const http = section('http', o.http, ['idleGraceMs']);
  return {
    timeoutMs,
    readinessDelayMs,
    phaseTimeouts: {
      transports: duration('phaseTimeouts.transports', phases.transports, QUIT_DEFAULTS.phaseTimeouts.transports, 0),
      workers: duration('phaseTimeouts.workers', phases.workers, QUIT_DEFAULTS.phaseTimeouts.workers, 0),
      hooks: duration('phaseTimeouts.hooks', phases.hooks, QUIT_DEFAULTS.phaseTimeouts.hooks, 0),
    },
    hookTimeoutMs: duration('hookTimeoutMs', o.hookTimeoutMs, QUIT_DEFAULTS.hookTimeoutMs, 1),
    transportOrder: transportOrder(o.transportOrder),
    http: { idleGraceMs: duration('http.idleGraceMs', http.idleGraceMs, QUIT_DEFAULTS.http.idleGraceMs, 0) },
    signals: signals(o.signals),
    exitCode: o.exitCode === undefined ? undefined : exitCode('exitCode', o.exitCode),
    failureExitCode: o.failureExitCode === undefined ? QUIT_DEFAULTS.failureExitCode : exitCode('failureExitCode', o.failureExitCode),
    quitOnUncaughtError: flag('quitOnUncaughtError', o.quitOnUncaughtError, QUIT_DEFAULTS.quitOnUncaughtError),
    logger: logger(o.logger),
    grpcHealth: flag('grpcHealth', o.grpcHealth, false),
  };
}

function duration(option: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > 2_147_483_647) {
    throw new QuitOptionsError(option, value, `a finite number of milliseconds from ${min} to 2147483647`);
  }
  return value;
}

function section(option: string, value: unknown, keys: string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new QuitOptionsError(option, value, `an object with ${keys.join(', ')}`);
  }
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) {
      throw new QuitOptionsError(`${option}.${key}`, (value as Record<string, unknown>)[key], `one of ${keys.join(', ')}`);
    }
  }
  return value as Record<string, unknown>;
}

function transportOrder(value: unknown): TransportKind[] {
  if (value === undefined) return [...QUIT_DEFAULTS.transportOrder];
  if (!Array.isArray(value) || value.length === 0) {
    throw new QuitOptionsError('transportOrder', value, `a non-empty array of ${TRANSPORTS.join(', ')}`);
  }
  value.forEach((name, i) => {
    if (!TRANSPORTS.includes(name)) throw new QuitOptionsError(`transportOrder[${i}]`, name, `one of ${TRANSPORTS.join(', ')}`);
  });
  if (new Set(value).size !== value.length) throw new QuitOptionsError('transportOrder', value, 'each transport once');
  return [...value];
}

function signals(value: unknown): NodeJS.Signals[] {
  if (value === undefined) return [...QUIT_DEFAULTS.signals];
  if (!Array.isArray(value)) throw new QuitOptionsError('signals', value, 'an array of signal names such as "SIGTERM"');
  return value.map((name, i) => {
    const upper = typeof name === 'string' ? name.trim().toUpperCase() : name;
    if (typeof upper !== 'string' || !(upper in osConstants.signals) || upper === 'SIGKILL' || upper === 'SIGSTOP') {
      throw new QuitOptionsError(`signals[${i}]`, name, 'a signal name Node can listen to, such as "SIGTERM"');
    }
    return upper as NodeJS.Signals;
  });
}

function exitCode(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) {
    throw new QuitOptionsError(option, value, 'an integer exit code from 0 to 255');
  }
  return value;
}

function flag(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new QuitOptionsError(option, value, 'true or false');
  return value;
}

function logger(value: unknown): LoggerService | undefined {
  if (value === false) return undefined;
  if (value === undefined) return new Logger('QuitModule');
  const l = value as Partial<LoggerService>;
  if (value === null || typeof value !== 'object' || typeof l.log !== 'function' || typeof l.error !== 'function' || typeof l.warn !== 'function') {
    throw new QuitOptionsError('logger', value, 'a Nest LoggerService (log, warn, error) or false');
  }
  return value as LoggerService;
}
