import type { LoggerService } from '@nestjs/common';

/**
 * Calls the user's logger and swallows what it throws: a logger that fails must not
 * stop a shutdown (the pipeline promises never to reject, and `app.close()` waits for it).
 */
export function safeLog(logger: LoggerService | undefined, level: 'log' | 'warn' | 'error', message: string, stack?: string): void {
  if (!logger) return;
  try {
    if (level === 'error') logger.error(message, stack);
    else logger[level](message);
  } catch {
    // Nowhere left to say it: the report still records what went wrong.
  }
}
