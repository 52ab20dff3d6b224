/**
 * Long-lived responses: an SSE stream (`GET /sse`), a streaming download
 * (`GET /download`), a request never answered (`GET /hang`) and a WebSocket gateway sharing the HTTP server. With `?watch=1`
 * (SSE, download) or the `watch` message (WebSocket), the handler watches `quit.signal`
 * and ends by itself; otherwise it never ends, and the drainers end it at the
 * transports phase timeout.
 *
 * env: PLATFORM=express|fastify, GATEWAY_PROP=1 gives the gateway a
 * `@WebSocketServer()` property, WS_PORT=<n> puts it (with the property) on a port of
 * its own, H2=1 (Fastify) serves HTTP/2 over TLS (TLS_KEY, TLS_CERT), QUIT_OPTIONS (JSON).
 */
import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query, Sse, StreamableFile, type INestApplication, type MessageEvent } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway, WebSocketServer, type OnGatewayConnection } from '@nestjs/websockets';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fromEvent, interval, map, takeUntil, type Observable } from 'rxjs';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { QuitModule, QuitService, type QuitModuleOptions } from '../../lib/index.js';
import { ev } from './log.js';

const TICK_MS = 40;

@Controller()
class StreamsController {
  constructor(private readonly quit: QuitService) {}

  @Sse('sse')
  sse(@Query('watch') watch?: string): Observable<MessageEvent> {
    ev('sse.open');
    const ticks = interval(TICK_MS).pipe(map((n) => ({ data: `tick ${n}` })));
    // Watching the quit signal: the stream completes and Nest ends the response.
    return watch ? ticks.pipe(takeUntil(fromEvent(this.quit.signal, 'abort'))) : ticks;
  }

  /** Never answers, and ignores the quit signal: at the phase timeout it gets a 503. */
  @Get('hang')
  hang(): Promise<string> {
    ev('hang.open');
    return new Promise(() => undefined);
  }

  @Get('download')
  download(@Query('watch') watch?: string): StreamableFile {
    ev('download.open');
    let n = 0;
    const stream = new Readable({ read: () => undefined });
    const timer = setInterval(() => stream.push(`chunk ${n++};`), TICK_MS);
    stream.once('close', () => clearInterval(timer));
    if (watch) {
      this.quit.signal.addEventListener('abort', () => {
        clearInterval(timer);
        stream.push(null);
      });
    }
    return new StreamableFile(stream, { type: 'text/plain' });
  }
}

@Injectable()
class GatewayBase implements OnGatewayConnection {
  constructor(private readonly quit: QuitService) {}

  handleConnection(): void {
    ev('ws.open');
  }

  @SubscribeMessage('watch')
  watch(@ConnectedSocket() client: WebSocket) {
    this.quit.signal.addEventListener('abort', () => {
      client.send('bye');
      client.close(1001, 'going away');
    });
    return { event: 'watching', data: true };
  }
}

/** Found through the adapter's registry. */
@WebSocketGateway()
class Gateway extends GatewayBase {}

/** Found through its `@WebSocketServer()` property. */
@WebSocketGateway()
class GatewayWithServer extends GatewayBase {
  @WebSocketServer() server!: WsServer;
}

/** On a port of its own: its `ws` server is only known through the property. */
@WebSocketGateway(Number(process.env.WS_PORT ?? 0))
class GatewayOnOwnPort extends GatewayBase {
  @WebSocketServer() server!: WsServer;
}

const gateway = process.env.WS_PORT ? GatewayOnOwnPort : process.env.GATEWAY_PROP === '1' ? GatewayWithServer : Gateway;

@Module({
  imports: [QuitModule.forRoot({ timeoutMs: 8_000, ...(JSON.parse(process.env.QUIT_OPTIONS ?? '{}') as QuitModuleOptions) })],
  controllers: [StreamsController],
  providers: [gateway],
})
class StreamsModule {}

async function main() {
  const logger = ['error', 'warn'] as ('error' | 'warn')[];
  // H2=1: Fastify over HTTP/2 with TLS (TLS_KEY, TLS_CERT).
  const h2 = process.env.H2 === '1' ? { http2: true as const, https: { key: readFileSync(process.env.TLS_KEY!), cert: readFileSync(process.env.TLS_CERT!) } } : undefined;
  const app: INestApplication =
    process.env.PLATFORM === 'fastify'
      ? await NestFactory.create(StreamsModule, new FastifyAdapter(h2), { logger })
      : await NestFactory.create(StreamsModule, { logger });
  app.useWebSocketAdapter(new WsAdapter(app));
  app.enableShutdownHooks();
  app.get(QuitService).events$.subscribe((e) => {
    if (e.type === 'transport.intake-stopped') ev(`intake-stopped ${e.name}`);
    if (e.type === 'transport.drained') ev(`drained ${e.name}${e.forced ? ' forced' : ''}`);
    if (e.type === 'quit.ended') ev(`report ${JSON.stringify({ ok: e.report.ok, pending: e.report.pending })}`);
  });
  process.on('exit', (code) => ev(`exit ${code}`));
  await app.listen(0, '127.0.0.1');
  process.stdout.write(`ready ${(app.getHttpServer().address() as { port: number }).port}\n`);
}

void main();
