/** What one kind of work (HTTP requests, gRPC calls, jobs, cron runs) came to. */
export interface Outcome {
  label: string;
  /** Sent by the demo's clients (undefined: nothing is sent, e.g. cron runs). */
  sent?: number;
  /** Taken on by the app, as it counted them. */
  accepted: number;
  /** Finished with success, as the client saw it (or as the queue recorded it). */
  completed: number;
  /** Turned away cleanly before the app took them (503, connection refused, UNAVAILABLE): a client retries them elsewhere. */
  refused?: number;
  /** Still queued in Redis for the next replica. */
  waiting?: number;
}

/** Work the app took on, or the client sent, that neither finished nor was cleanly refused or left queued. */
export function lost(o: Outcome): number {
  const unaccounted = o.sent === undefined ? 0 : o.sent - o.completed - (o.refused ?? 0) - (o.waiting ?? 0);
  return Math.max(0, unaccounted, o.accepted - o.completed - (o.waiting ?? 0));
}
