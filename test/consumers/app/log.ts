/** Fixture output: one `ev:<name>` line per event, written synchronously so the order is exact. */
export function ev(name: string): void {
  process.stdout.write(`ev:${name}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
