import { describe, expect, it } from '@jest/globals';
import { QuitModule, QuitOptionsError } from '../lib/index.js';

describe('QuitModule.forRoot() options', () => {
  it.each([
    ['timeoutMs', { timeoutMs: -1 }, 'QuitModule option "timeoutMs" is invalid: got -1'],
    ['timeoutMs', { timeoutMs: Infinity }, 'QuitModule option "timeoutMs" is invalid: got Infinity'],
    ['phaseTimeouts.workers', { phaseTimeouts: { workers: Number.NaN } }, 'QuitModule option "phaseTimeouts.workers" is invalid: got NaN'],
    ['signals[0]', { signals: ['SIGNOPE'] }, 'QuitModule option "signals[0]" is invalid: got "SIGNOPE"'],
    ['transportOrder[1]', { transportOrder: ['http', 'smtp'] }, 'QuitModule option "transportOrder[1]" is invalid: got "smtp"'],
    ['exitCode', { exitCode: 256 }, 'QuitModule option "exitCode" is invalid: got 256'],
    ['logger', { logger: 'yes' }, 'QuitModule option "logger" is invalid: got "yes"'],
    ['quitOnUncaughtError', { quitOnUncaughtError: 'no' }, 'QuitModule option "quitOnUncaughtError" is invalid: got "no"; expected true or false.'],
    ['unknown', { timeout: 5 }, 'QuitModule option "timeout" is invalid: got 5; expected no such option.'],
  ])('rejects a bad %s, naming it', (option, options, message) => {
    const call = () => QuitModule.forRoot(options as never);
    expect(call).toThrow(QuitOptionsError);
    expect(call).toThrow(message);
  });
});
