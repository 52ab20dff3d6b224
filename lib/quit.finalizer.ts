import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { QUIT_HOOK_DISTANCE } from './quit.constants.js';
import { QuitExitPolicy } from './process/exit.policy.js';

/** Runs after every other `onApplicationShutdown`: the shutdown is over, the exit code is decided. */
@Injectable()
export class QuitFinalizer implements OnApplicationShutdown {
  constructor(private readonly policy: QuitExitPolicy) {}

  onApplicationShutdown(): void {
    this.policy.finish();
  }
}

/** Holds the finalizer in a module of its own, so that its hooks can be ordered last. */
@Module({ providers: [QuitFinalizer] })
export class QuitFinalizerModule {
  static readonly [QUIT_HOOK_DISTANCE] = Infinity;
}
