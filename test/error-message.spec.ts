import { describe, expect, it } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { errorMessage, errorStack, isError } from '../lib/errors/error-message.js';

describe('errorMessage / errorStack', () => {
  it('reads an error made in another realm (a vm context, as Jest sandboxes modules) as an error, not as "Error: …"', () => {
    const foreign = runInNewContext('new Error("from elsewhere")') as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(isError(foreign)).toBe(true);
    expect(errorMessage(foreign)).toBe('from elsewhere');
    expect(errorStack(foreign)).toMatch(/^Error: from elsewhere\n/);
  });

  it('takes anything else as a value', () => {
    expect(errorMessage('plain')).toBe('plain');
    expect(errorMessage({ message: 'looks like one' })).toBe('[object Object]');
    expect(errorStack('plain')).toBeUndefined();
    expect(isError({ message: 'x', stack: 'y' })).toBe(false);
  });
});
