import tls from 'node:tls';

export interface RawStream {
  status?: number;
  body: string;
  /** END_STREAM seen from the server. */
  ended: boolean;
  rstCode?: number;
}

export interface RawGoaway {
  lastStreamId: number;
  code: number;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const Type = { Data: 0, Headers: 1, RstStream: 3, Settings: 4, Ping: 6, Goaway: 7 } as const;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

/**
 * A raw HTTP/2 client over TLS, for a peer Node's own client will not play: it sends the
 * connection preface and its SETTINGS, acknowledges the server's SETTINGS and PINGs at
 * once (RFC 9113 §6.5, §6.7), opens the streams it is asked to — also after a GOAWAY,
 * which it otherwise ignores — and never closes its side of the connection. It records
 * what the server sends: each GOAWAY, and per stream the status, the body, END_STREAM,
 * RST_STREAM.
 */
export class RawH2Client {
  readonly goaways: RawGoaway[] = [];
  readonly streams = new Map<number, RawStream>();
  /** Socket errors seen (a reset would land here). */
  readonly errors: string[] = [];
  /** Resolves when the server has closed the connection (this client never does). */
  readonly closed: Promise<void>;
  private readonly socket: tls.TLSSocket;
  private nextStreamId = 1;
  private pending: Buffer = Buffer.alloc(0);
  private readonly waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  private constructor(
    private readonly port: number,
    ca: string | Buffer,
    /** Called on each GOAWAY the server sends. */
    private readonly onGoaway?: (goaway: RawGoaway, client: RawH2Client) => void,
  ) {
    this.socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
    this.socket.on('data', (chunk: Buffer) => this.read(chunk));
    this.socket.on('error', (e: Error & { code?: string }) => this.errors.push(e.code ?? e.message));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  static async connect(port: number, ca: string | Buffer, onGoaway?: (goaway: RawGoaway, client: RawH2Client) => void): Promise<RawH2Client> {
    const client = new RawH2Client(port, ca, onGoaway);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('secureConnect', () => resolve());
      client.socket.once('error', reject);
    });
    if (client.socket.alpnProtocol !== 'h2') throw new Error(`RawH2Client: the server chose ${String(client.socket.alpnProtocol)}, not h2`);
    client.socket.write(Buffer.concat([PREFACE, frame(Type.Settings, 0, 0, Buffer.alloc(0))]));
    return client;
  }

  /** Opens a stream with `GET path` (END_STREAM: no body) and returns its id. */
  get(path: string): number {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.streams.set(id, { body: '', ended: false });
    const block = Buffer.concat([
      Buffer.from([0x82, 0x87]), // :method GET, :scheme https (static table)
      Buffer.from([0x04]), // :path, literal without indexing, name from the static table
      hpackString(path),
      Buffer.from([0x01]), // :authority, likewise
      hpackString(`127.0.0.1:${this.port}`),
    ]);
    this.socket.write(frame(Type.Headers, END_STREAM | END_HEADERS, id, block));
    return id;
  }

  /** Resolves once `test` holds (checked after every frame received). */
  until(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ test, resolve }));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      const type = this.pending[3]!;
      const flags = this.pending[4]!;
      const streamId = this.pending.readUInt32BE(5) & 0x7fffffff;
      const payload = this.pending.subarray(9, 9 + length);
      this.pending = this.pending.subarray(9 + length);
      this.onFrame(type, flags, streamId, payload);
    }
    for (const w of this.waiters.splice(0)) {
      if (w.test()) w.resolve();
      else this.waiters.push(w);
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    const stream = this.streams.get(streamId);
    switch (type) {
      case Type.Settings:
        if (!(flags & ACK)) this.socket.write(frame(Type.Settings, ACK, 0, Buffer.alloc(0)));
        return;
      case Type.Ping:
        if (!(flags & ACK)) this.socket.write(frame(Type.Ping, ACK, 0, payload));
        return;
      case Type.Goaway: {
        const goaway = { lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
        this.goaways.push(goaway);
        this.onGoaway?.(goaway, this);
        return;
      }
      case Type.Headers: {
        if (!stream) return;
        let block = unpad(payload, flags);
        if (flags & PRIORITY) block = block.subarray(5);
        stream.status ??= firstStatus(block);
        if (flags & END_STREAM) stream.ended = true;
        return;
      }
      case Type.Data:
        if (!stream) return;
        stream.body += unpad(payload, flags).toString('utf8');
        if (flags & END_STREAM) stream.ended = true;
        return;
      case Type.RstStream:
        if (stream) stream.rstCode = payload.readUInt32BE(0);
        return;
    }
  }
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function unpad(payload: Buffer, flags: number): Buffer {
  if (!(flags & PADDED)) return payload;
  return payload.subarray(1, payload.length - payload[0]!);
}

/** A short string literal, not Huffman-coded (RFC 7541 §5.2). */
function hpackString(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1');
  if (bytes.length > 126) throw new Error('RawH2Client: header value too long for a one-byte length');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** The static table's `:status` entries (RFC 7541 Appendix A). */
const STATIC_STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

/**
 * The `:status` of a response header block: its first field (RFC 9113 §8.3: pseudo-headers
 * come first), either an entry of the static table or a literal with the static name
 * `:status` (index 8) — enough for the first response of each status on a connection.
 */
function firstStatus(block: Buffer): number {
  const b = block[0]!;
  if (b & 0x80) return STATIC_STATUS[b & 0x7f] ?? NaN;
  // Literal with incremental indexing (01xxxxxx), without indexing (0000xxxx) or never indexed (0001xxxx), name index 8.
  if (b !== 0x48 && b !== 0x08 && b !== 0x18) return NaN;
  const huffman = (block[1]! & 0x80) !== 0;
  const value = block.subarray(2, 2 + (block[1]! & 0x7f));
  return Number(huffman ? huffmanDigits(value) : value.toString('latin1'));
}

/** Decodes a Huffman-coded string of digits (RFC 7541 Appendix B: '0'–'2' in 5 bits, '3'–'9' in 6). */
function huffmanDigits(bytes: Buffer): string {
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  while (i < bits.length) {
    const five = bits.slice(i, i + 5);
    if (five.length === 5 && parseInt(five, 2) <= 2) {
      out += String(parseInt(five, 2));
      i += 5;
      continue;
    }
    const six = bits.slice(i, i + 6);
    if (six.length === 6 && parseInt(six, 2) >= 0b011001 && parseInt(six, 2) <= 0b011111) {
      out += String(parseInt(six, 2) - 0b011001 + 3);
      i += 6;
      continue;
    }
    if (/^1*$/.test(bits.slice(i)) && bits.length - i < 8) break; // EOS padding
    return 'NaN';
  }
  return out;
}
