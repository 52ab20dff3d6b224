import type { WorkerSourceContext } from './worker-source.interface.js';

/**
 * Loads an optional peer only when a module of that name is in the application:
 * never a static import, so the package works without the peer installed, and an
 * installed but unused peer costs nothing at startup.
 */
export async function importIfUsed<T>(ctx: WorkerSourceContext, moduleName: string, specifier: string): Promise<T | undefined> {
  const used = [...ctx.modules.values()].some((m) => m.metatype?.name === moduleName);
  if (!used) return undefined;
  try {
    return (await import(specifier)) as T;
  } catch {
    return undefined;
  }
}
