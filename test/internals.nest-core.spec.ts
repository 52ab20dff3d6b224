/**
 * Contract test of every reach into @nestjs/core's internals (lib/internals/nest-core.ts)
 * against the installed Nest: each one still finds what it reads, and a missing field
 * degrades to a warning, not a crash. The consumer apps run the module on Nest 11 and 12.
 */
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Injectable, Module, Scope, type LoggerService } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, ModulesContainer } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { QuitModule } from '../lib/index.js';
import { importersOf, moduleClass, modulesWhere, setHookDistance, wrapperInstance } from '../lib/internals/nest-core.js';

const warnings: string[] = [];
const logger: LoggerService = { log: () => undefined, error: () => undefined, warn: (m: string) => void warnings.push(m) };

@Module({})
class Leaf {}

@Module({ imports: [Leaf] })
class Root {}

describe('lib/internals/nest-core.ts on the installed @nestjs/core', () => {
  it('Module#metatype and Module#distance: read, and distance set before init()', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [Root] }).compile();
    const modules = moduleRef.get(ModulesContainer);
    const [leaf] = modulesWhere(modules, (cls) => cls === Leaf);
    expect(moduleClass(leaf)).toBe(Leaf);
    expect(setHookDistance(leaf, -7, logger)).toBe(true);
    expect((leaf as { distance: number }).distance).toBe(-7);
    expect(warnings).toEqual([]);
    await moduleRef.close();
  });

  it('a module entry without a settable distance: false and a warning naming it, no crash', () => {
    expect(setHookDistance({ metatype: Leaf }, 1, logger)).toBe(false);
    expect(warnings.at(-1)).toContain('Module#distance is not there in this version of @nestjs/core');
  });

  it('@Module() imports metadata: names the modules importing QuitModule, and a second forRoot() fails the startup naming both', async () => {
    @Module({ imports: [QuitModule.forRoot({ logger: false })] })
    class FeatureModule {}
    @Module({ imports: [QuitModule.forRoot({ logger: false }), FeatureModule] })
    class AppModule {}
    await expect(Test.createTestingModule({ imports: [AppModule] }).compile().then((m) => m.createNestApplication().init())).rejects.toThrow(
      'QuitModule.forRoot() is imported more than once (AppModule and FeatureModule)',
    );
    const single = await Test.createTestingModule({ imports: [Root, QuitModule.forRoot({ logger: false })] }).compile();
    const modules = single.get(ModulesContainer);
    expect(importersOf(modules, (cls) => cls === Leaf)).toEqual(['Root']);
    await single.close();
  });

  it('InstanceWrapper: a singleton is static, a request-scoped provider is not, an alias is skipped', async () => {
    @Injectable()
    class Single {}
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {}
    const moduleRef = await Test.createTestingModule({
      imports: [DiscoveryModule],
      providers: [Single, PerRequest, { provide: 'ALIAS', useExisting: Single }],
    }).compile();
    const wrappers = moduleRef.get(DiscoveryService).getProviders();
    const byName = (name: unknown) => wrappers.find((w) => w.name === name || w.token === name);
    expect(wrapperInstance(byName('Single'), logger)).toMatchObject({ name: 'Single', isStatic: true });
    expect(wrapperInstance(byName('ALIAS'), logger)).toBeUndefined();
    // Nest keeps a prototype instance of a request-scoped provider: found, and marked not static.
    expect(wrapperInstance(byName('PerRequest'), logger)).toMatchObject({ name: 'PerRequest', isStatic: false });
    expect(wrapperInstance({ instance: {}, name: 'Bare' }, logger)).toEqual({ instance: {}, name: 'Bare', isStatic: true });
    expect(warnings.at(-1)).toContain('InstanceWrapper#isDependencyTreeStatic() is not there');
    await moduleRef.close();
  });
});
