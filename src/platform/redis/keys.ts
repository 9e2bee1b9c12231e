/**
 * The one place that spells Redis key names. Everything of an install sits under one hash tag,
 * `{REDIS_PREFIX}`, so Lua scripts and MULTI blocks touching several keys stay on one Redis
 * Cluster slot, and BullMQ (given the same prefix) lands there too.
 */
export interface Keys {
  /** `{prefix}` — also the BullMQ `prefix` option. */
  readonly base: string;
  /** `{prefix}:part1:part2…` */
  k(...parts: Array<string | number>): string;
}

export function createKeys(prefix: string): Keys {
  const base = `{${prefix}}`;
  return {
    base,
    k: (...parts) => [base, ...parts].join(':'),
  };
}

/** BullMQ queue names. Our own key namespaces never reuse them. */
export const QUEUE_NAMES = {
  poll: 'poll',
  actions: 'actions',
  digest: 'digest',
} as const;
