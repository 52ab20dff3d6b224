/**
 * A hub's subscription: adds `subscriber`, lets the hub re-evaluate what it listens to,
 * and returns what takes the subscriber out again (and re-evaluates again).
 */
export function subscribeTo<T>(subscribers: Set<T>, subscriber: T, sync: () => void): () => void {
  subscribers.add(subscriber);
  sync();
  return () => {
    subscribers.delete(subscriber);
    sync();
  };
}
