import { SetMetadata } from '@nestjs/common';
import type { OnQuitOptions } from '../interfaces/quit-hook.interface.js';
import { ON_QUIT_METADATA } from '../quit.constants.js';

/**
 * Runs this provider method at shutdown, after the transports and tracked workers are
 * drained and before any `onModuleDestroy`. It is called with an `AbortSignal` that
 * aborts at the hook's timeout. Hooks run by ascending `order`; within one order, the
 * last registered first.
 */
export const OnQuit = (options: Omit<OnQuitOptions, 'name'> & { name?: string } = {}): MethodDecorator =>
  SetMetadata(ON_QUIT_METADATA, options);
