/** What the gRPC and RPC fixtures share: the quit events they print, and a wait for quitting. */
import type { QuitService } from '../../lib/index.js';
import { ev } from './log.js';

/** Prints the shutdown as `ev:` lines: phases, intake stops, drains, the report, the exit code. */
export function printQuitEvents(quit: QuitService): void {
  quit.events$.subscribe((e) => {
    if (e.type === 'phase.started') ev(`phase.${e.phase}`);
    if (e.type === 'transport.intake-stopped') ev(`intake-stopped ${e.name}`);
    if (e.type === 'transport.drained') ev(`drained ${e.name}${e.forced ? ' forced' : ''}`);
    if (e.type === 'quit.ended') ev(`report ${JSON.stringify({ ok: e.report.ok, pending: e.report.pending })}`);
  });
  process.on('exit', (code) => ev(`exit ${code}`));
}

// One promise for all handlers: a listener per call would trip Node's MaxListeners warning.
let quitting: Promise<void> | undefined;

/** Resolves once the app begins quitting. */
export function untilQuitting(quit: QuitService): Promise<void> {
  return (quitting ??= new Promise<void>((resolve) => (quit.isQuitting ? resolve() : quit.signal.addEventListener('abort', () => resolve()))));
}
