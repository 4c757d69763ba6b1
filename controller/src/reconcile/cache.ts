// The read side of an informer, as reconcilers use it.
export type ObjectCache<T> = {
  get(namespace: string, name: string): T | undefined;
  list(namespace?: string): T[];
};
