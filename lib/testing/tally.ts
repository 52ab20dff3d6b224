/** How one unit of work (a request, a call, a message) ended. */
export type Outcome = 'ok' | 'refused' | 'reset' | '5xx' | '503' | 'other-status' | 'bad-body' | 'timeout' | 'error';

interface Unit {
  outcome?: Outcome;
  detail?: string;
}

/** The figures of one load (or of all loads summed). */
export interface LoadFigures {
  /** Units of work sent that the server could have taken (all but the refused ones). */
  sent: number;
  /** Answered completely and successfully. */
  ok: number;
  /** Never reached the app: connection refused, HTTP/2 stream refused, gRPC UNAVAILABLE, WebSocket closed before sending. */
  refused: number;
  /** Cut off mid-way: socket reset or closed before the answer, stream cancelled. */
  resets: number;
  /** 5xx answers other than 503. */
  status5xx: number;
  /** 503 answers: the app said "not now" (a client may retry elsewhere). */
  status503: number;
  /** Answers with another status outside 2xx, or a 2xx with an unexpected body. */
  badAnswers: number;
  /** Units still unanswered after the request timeout. */
  timeouts: number;
  /** Any other failure, as `code: message`. */
  errors: string[];
  /** Units sent and not yet answered at the moment of the signal (or `app.close()`). */
  inFlightAtSignal: number;
  /** Of those, the ones that did not end `ok`: work the shutdown lost. */
  lost: number;
}

/** Counts units of work and their outcomes; knows which were in flight at the signal. */
export class Tally {
  private readonly units: Unit[] = [];
  private readonly open = new Set<Unit>();
  private atSignal?: Unit[];

  get inFlight(): number {
    return this.open.size;
  }

  get completed(): number {
    return this.units.length;
  }

  /** Units that ended `ok` so far. */
  get ok(): number {
    return this.okCount;
  }
  private okCount = 0;

  /** Starts one unit; the returned function ends it (only its first call counts). */
  begin(): (outcome: Outcome, detail?: string) => Outcome {
    const unit: Unit = {};
    this.open.add(unit);
    return (outcome, detail) => {
      if (unit.outcome) return unit.outcome;
      unit.outcome = outcome;
      unit.detail = detail;
      if (outcome === 'ok') this.okCount++;
      this.open.delete(unit);
      this.units.push(unit);
      return outcome;
    };
  }

  /** Records the units in flight now: call it right before signalling. */
  markSignal(): void {
    this.atSignal = [...this.open];
  }

  figures(): LoadFigures {
    const count = (o: Outcome) => this.units.filter((u) => u.outcome === o).length;
    const atSignal = this.atSignal ?? [];
    return {
      sent: this.units.filter((u) => u.outcome !== 'refused').length + this.open.size,
      ok: count('ok'),
      refused: count('refused'),
      resets: count('reset'),
      status5xx: count('5xx'),
      status503: count('503'),
      badAnswers: count('other-status') + count('bad-body'),
      timeouts: count('timeout') + this.open.size,
      errors: this.units.filter((u) => u.outcome === 'error').map((u) => u.detail ?? 'unknown'),
      inFlightAtSignal: atSignal.length,
      lost: atSignal.filter((u) => u.outcome !== 'ok').length,
    };
  }
}

/** Sums the figures of several loads. */
export function sumFigures(all: LoadFigures[]): LoadFigures {
  const total: LoadFigures = { sent: 0, ok: 0, refused: 0, resets: 0, status5xx: 0, status503: 0, badAnswers: 0, timeouts: 0, errors: [], inFlightAtSignal: 0, lost: 0 };
  for (const f of all) {
    for (const key of Object.keys(total) as Array<keyof LoadFigures>) {
      if (key === 'errors') total.errors.push(...f.errors);
      else total[key] += f[key];
    }
  }
  return total;
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'ERR_HTTP2_STREAM_CANCEL', 'ERR_HTTP2_SESSION_ERROR', 'UND_ERR_SOCKET']);

/** The outcome of a network error: refused before reaching the app, reset, timed out, or other. */
export function errorOutcome(error: unknown): [Outcome, string] {
  const e = (error ?? {}) as { code?: string | number; message?: string; cause?: { code?: unknown } };
  const message = e.message ?? String(error);
  const code = String(e.code ?? message);
  // An HTTP/2 stream opened on a session whose connection was then refused never left.
  if (e.cause?.code === 'ECONNREFUSED') return ['refused', `${code} (ECONNREFUSED)`];
  if (code === 'ECONNREFUSED' || code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_INVALID_SESSION') return ['refused', code];
  if (code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(message)) return ['refused', code];
  if (code === 'TIMEOUT') return ['timeout', code];
  if (RESET_CODES.has(code) || /socket hang up|aborted/.test(message)) return ['reset', code];
  return ['error', `${code}: ${message}`];
}
