import { countOption, type LoadTarget, type ShutdownLoad, type StopFlag } from './load.js';
import type { Tally } from './tally.js';

export interface WsLoadOptions {
  /** The WebSocket path, e.g. `/` or `/events`. @default '/' */
  path?: string;
  /** What each unit sends; a unit is done at the next message received. @default '{"event":"ping","data":1}' */
  message?: string | ((loop: number, n: number) => string);
  /** WebSockets open at once, each looping message → reply. @default 8 */
  connections?: number;
  /** Pause between a reply and the next message (a close frame that follows a reply is seen first). @default 0 */
  intervalMs?: number;
  port?: number | string;
  name?: string;
}

/** What the load uses of a `ws` WebSocket client. */
interface WsClient {
  readonly readyState: number;
  send(data: string): void;
  close(): void;
  on(event: 'open' | 'message' | 'close' | 'error', listener: (...args: any[]) => void): unknown;
}

const OPEN = 1;

/**
 * WebSocket messages, each answered by one message, over the `ws` package (loaded when
 * the load runs: install `ws` in your project to use it). A message unanswered when its
 * socket closes is lost (a reset); a socket that cannot open, or closes between two
 * messages, ends its loop.
 */
export function wsLoad(options: WsLoadOptions = {}): ShutdownLoad {
  const connections = countOption('wsLoad', 'connections', options.connections ?? 8);
  return {
    name: options.name ?? 'ws',
    port: options.port,
    async run(target, tally, stop) {
      const { default: WebSocket } = (await import('ws' as string)) as { default: new (url: string) => WsClient };
      await Promise.all(Array.from({ length: connections }, (_, i) => socketLoop(WebSocket, options, target, i, tally, stop)));
    },
  };
}

function socketLoop(WebSocket: new (url: string) => WsClient, options: WsLoadOptions, target: LoadTarget, loop: number, tally: Tally, stop: StopFlag): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${target.host}:${target.port}${options.path ?? '/'}`);
    let end: ReturnType<Tally['begin']> | undefined;
    let n = 0;
    let opened = false;
    const next = () => {
      // Closing (the server said goodbye): no new message on it.
      if (stop.stopped || ws.readyState !== OPEN) return ws.close();
      end = tally.begin();
      const message = options.message ?? '{"event":"ping","data":1}';
      ws.send(typeof message === 'function' ? message(loop, n++) : message);
    };
    ws.on('open', () => {
      opened = true;
      next();
    });
    ws.on('message', () => {
      end?.('ok');
      end = undefined;
      if (options.intervalMs) setTimeout(next, options.intervalMs);
      else next();
    });
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', (code: number) => {
      if (end) end('reset', `closed ${code} with a message unanswered`);
      else if (!opened) tally.begin()('refused', 'ECONNREFUSED');
      resolve();
    });
  });
}
