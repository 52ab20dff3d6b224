/**
 * A live status line: rewritten in place on a terminal; on a pipe (CI, the test
 * suite), one plain line every `pipeEveryMs`.
 */
export class ProgressLine {
  private timer?: NodeJS.Timeout;
  private lastPrinted = 0;
  private lastLine = '';
  private readonly tty = Boolean(process.stdout.isTTY);

  constructor(
    private readonly render: () => string,
    private readonly pipeEveryMs = 500,
  ) {}

  start(everyMs = 100): void {
    this.timer = setInterval(() => this.tick(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.tick(true);
    if (this.tty) process.stdout.write('\n');
  }

  private tick(force = false): void {
    const line = this.render();
    if (this.tty) {
      process.stdout.write(`\r\x1b[2K${line}`);
    } else if ((force && line !== this.lastLine) || Date.now() - this.lastPrinted >= this.pipeEveryMs) {
      this.lastPrinted = Date.now();
      this.lastLine = line;
      process.stdout.write(`${line}\n`);
    }
  }
}
