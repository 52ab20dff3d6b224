import http from 'node:http';

export interface SseEvent {
  id?: string;
  data: string;
}

export interface SseEnd {
  /** 'end' when the body ended normally, else the error code. */
  how: string;
  status: number;
  events: SseEvent[];
  /** The `id` of the last whole event: what an EventSource sends back as `Last-Event-ID`. */
  lastEventId?: string;
  /** Characters after the last blank line: part of an event, cut. */
  partial: string;
  /** Errors seen on the socket (a reset shows here even after the body ended). */
  socketErrors: string[];
}

/**
 * One EventSource connection, read as the WHATWG algorithm does: events are blocks of
 * `field: value` lines ended by a blank line; `id` is remembered from whole events only.
 * `first` resolves at the first event, `ended` when the stream is over. `close()` leaves.
 */
export function readSse(port: number, path: string, options: { lastEventId?: string; agent?: http.Agent | false } = {}) {
  const events: SseEvent[] = [];
  const socketErrors: string[] = [];
  let buffer = '';
  let lastEventId: string | undefined;
  let status = 0;
  let firstEvent!: () => void;
  const first = new Promise<void>((resolve) => (firstEvent = resolve));
  let req!: http.ClientRequest;
  const ended = new Promise<SseEnd>((resolve) => {
    // Blank lines alone (the one Nest sends first) dispatch nothing and cut nothing.
    const finish = (how: string) => resolve({ how, status, events, lastEventId, partial: buffer.replace(/^\n+/, ''), socketErrors });
    req = http.get(
      {
        host: '127.0.0.1',
        port,
        path,
        agent: options.agent ?? false,
        headers: { accept: 'text/event-stream', ...(options.lastEventId ? { 'last-event-id': options.lastEventId } : {}) },
      },
      (res) => {
        status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let i: number;
          while ((i = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, i);
            buffer = buffer.slice(i + 2);
            const event: SseEvent = { data: '' };
            for (const line of block.split('\n')) {
              if (line.startsWith('id: ')) event.id = line.slice(4);
              else if (line.startsWith('data: ')) event.data += line.slice(6);
            }
            if (!event.data && event.id === undefined) continue; // the opening blank line, a comment
            events.push(event);
            if (event.id !== undefined) lastEventId = event.id;
            firstEvent();
          }
        });
        res.on('end', () => finish('end'));
        res.on('error', (e: NodeJS.ErrnoException) => finish(`error ${e.code ?? e.message}`));
      },
    );
    req.on('socket', (socket) => socket.on('error', (e: NodeJS.ErrnoException) => socketErrors.push(e.code ?? e.message)));
    req.on('error', (e: NodeJS.ErrnoException) => finish(`error ${e.code ?? e.message}`));
  });
  return { first, ended, close: () => req.destroy() };
}
