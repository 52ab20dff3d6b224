/**
 * Thrown at startup when a `QuitModule` option has a value the module cannot use.
 * The message names the option and the value.
 */
export class QuitOptionsError extends Error {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super(`QuitModule option "${option}" is invalid: got ${describe(value)}; expected ${expected}.`);
    this.name = 'QuitOptionsError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return Object.prototype.toString.call(value);
}
