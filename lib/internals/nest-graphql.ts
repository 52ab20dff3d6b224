/**
 * The one place where the drainers reach past the public API of `@nestjs/graphql`. Read
 * from @nestjs/graphql 14.0.3 and @nestjs/apollo 14.0.3 (`services/gql-subscription.service.js`,
 * `drivers/apollo.driver.js`): a driver started with `subscriptions` keeps its
 * `GqlSubscriptionService` in the protected `_subscriptionService`, and that service its
 * `ws` server in `wss` (graphql-ws runs on it; the server takes the HTTP server's
 * upgrades). Apollo and its federation driver both do; a driver without the field has
 * no graphql-ws server to drain here. The packages are optional: nothing is imported.
 */
import type { ModulesContainer } from '@nestjs/core';

/** The graphql-ws `ws` servers of the app's GraphQL drivers, started in `GraphQLModule.onModuleInit`. */
export function graphqlWsServers(modules: ModulesContainer): unknown[] {
  const found = new Set<unknown>();
  for (const moduleRef of modules.values()) {
    for (const wrapper of moduleRef.providers.values()) {
      const instance = wrapper.instance as { _subscriptionService?: { wss?: { handleUpgrade?: unknown } } } | null | undefined;
      if (typeof instance !== 'object' || instance === null) continue;
      const wss = instance._subscriptionService?.wss;
      if (wss && typeof wss.handleUpgrade === 'function') found.add(wss);
    }
  }
  return [...found];
}
