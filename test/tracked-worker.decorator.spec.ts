import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { SetMetadata } from '@nestjs/common';
import { TrackedWorker } from '../lib/index.js';

describe('@TrackedWorker()', () => {
  it('keeps the metadata of decorators listed above and below it', () => {
    class Jobs {
      @SetMetadata('above', 'a')
      @TrackedWorker()
      @SetMetadata('below', 'b')
      run() {
        return 'ran';
      }
    }
    const fn = Jobs.prototype.run;
    expect(Reflect.getMetadata('above', fn)).toBe('a');
    expect(Reflect.getMetadata('below', fn)).toBe('b');
    expect(Reflect.getMetadata('quit:tracked_worker', fn)).toEqual({});
    expect(fn.name).toBe('run');
    // Outside a bootstrapped app there is no QuitService: the method just runs.
    expect(new Jobs().run()).toBe('ran');
  });

  it('on a class, tracks the methods the class declares, not its lifecycle hooks, and never twice', () => {
    @TrackedWorker({ name: 'consumer' })
    class Consumer {
      @TrackedWorker({ name: 'own' })
      handle() {}
      poll() {}
      onModuleDestroy() {}
    }
    expect(Reflect.getMetadata('quit:tracked_worker', Consumer.prototype.poll)).toEqual({ name: 'consumer' });
    expect(Reflect.getMetadata('quit:tracked_worker', Consumer.prototype.handle)).toEqual({ name: 'own' });
    expect(Reflect.getMetadata('quit:tracked_worker', Consumer.prototype.onModuleDestroy)).toBeUndefined();
  });

  it('rejects a bad whenQuitting at decoration time, naming the method', () => {
    expect(() => {
      class Bad {
        @TrackedWorker({ whenQuitting: 'drop' as never })
        run() {}
      }
      return Bad;
    }).toThrow("@TrackedWorker() on Bad@run: whenQuitting must be 'skip', 'reject' or 'run', got drop.");
  });
});
