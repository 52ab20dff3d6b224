import type { OnQuitOptions, QuitHandler, Unregister } from '../interfaces/quit-hook.interface.js';
import { QuitMessages } from '../quit.messages.js';

/** A registered quit hook, ready to run. */
export interface QuitHook {
  name: string;
  order: number;
  timeoutMs: number | undefined;
  /** Registration sequence, for "last registered runs first" within one order. */
  seq: number;
  run(signal: AbortSignal): unknown;
}

/** Holds the quit hooks (closers, shutdowners and stop functions) and gives them in running order. */
export class HookRegistry {
  private readonly hooks = new Set<QuitHook>();
  private seq = 0;

  add(handler: QuitHandler, options: OnQuitOptions = {}): Unregister {
    const hook: QuitHook = {
      ...toRunner(handler, options.name),
      order: order(options.order),
      timeoutMs: timeout(options.timeoutMs),
      seq: this.seq++,
    };
    this.hooks.add(hook);
    return () => {
      this.hooks.delete(hook);
    };
  }

  /** By ascending `order`; within one order, the last registered first. */
  ordered(): QuitHook[] {
    return [...this.hooks].sort((a, b) => a.order - b.order || b.seq - a.seq);
  }
}

function order(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`onQuit option "order" must be a finite number, got ${String(value)}`);
  }
  return value;
}

function timeout(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > 2_147_483_647) {
    throw new TypeError(`onQuit option "timeoutMs" must be a finite number of milliseconds from 1 to 2147483647, got ${String(value)}`);
  }
  return value;
}

function toRunner(handler: QuitHandler, name: string | undefined): Pick<QuitHook, 'name' | 'run'> {
  if (typeof handler === 'function') {
    return { name: name ?? (handler.name || 'anonymous hook'), run: (signal) => handler(signal) };
  }
  if (handler && typeof (handler as { shutdown?: unknown }).shutdown === 'function') {
    const target = handler as { shutdown(signal: AbortSignal): unknown };
    return { name: name ?? `${className(handler)}.shutdown`, run: (signal) => target.shutdown(signal) };
  }
  if (handler && typeof (handler as { close?: unknown }).close === 'function') {
    const target = handler as { close(): unknown };
    return { name: name ?? `${className(handler)}.close`, run: () => target.close() };
  }
  throw new TypeError(QuitMessages.badHandler(name ?? String(handler)));
}

function className(value: object): string {
  return value.constructor?.name && value.constructor !== Object ? value.constructor.name : 'object';
}
