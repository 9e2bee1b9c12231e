/**
 * The one place that spells Redis key names, and the registry of every key namespace an install
 * writes. Everything of an install sits under one hash tag, `{REDIS_PREFIX}`, so Lua scripts and
 * MULTI blocks touching several keys stay on one Redis Cluster slot, and BullMQ (given the same
 * prefix) lands there too.
 *
 * `keys.k(namespace, …parts)` takes only a namespace listed here (the type says so), so a new
 * namespace is declared, with its owner and what it holds, before anything can write it. The
 * README's "What Redis keeps" table gives the lifetimes.
 */

/** BullMQ queue names. Our own key namespaces never reuse them. */
export const QUEUE_NAMES = {
  poll: 'poll',
  actions: 'actions',
  digest: 'digest',
} as const;

/** Every key namespace: `{prefix}:<namespace>[:…]`, its owner and what lives there. */
export const KEY_NAMESPACES = {
  // evidence
  app: 'evidence: one tracked app (hash); approvals re-reads it inside its Lua scripts',
  tracked: 'evidence: the set of tracked app ids',
  candidates: 'evidence: created apps not tracked, per account (hash)',
  zoomusage: "evidence: Zoom's usage fields of a tracked app, from the last app list",
  usage: 'evidence: usage summary per app, and daily aggregates per app and UTC day',
  hours: 'evidence: hourly call counters per app (last 15 days)',
  families: 'evidence: endpoint families first seen per app',
  sample: 'evidence: the capped sample of recent calls per app',
  readstate: "evidence: where the call-log read stands per app (watermark, pages, quality)",
  seen: 'evidence: ids of calls already counted in the late-arrival lookback, per app',
  readlock: 'evidence: the per-app read lock of a poll',
  pollrun: 'evidence: the per-account poll lock',
  health: 'evidence: poll health per account',
  // approvals
  request: 'approvals: one request (hash)',
  requests: 'approvals: the pending and open request indexes',
  reqlock: 'approvals: the one-open-request-per-app lock',
  execution: 'approvals: the execution record of a request',
  executions: 'approvals: executions not settled yet (the sweeper reads it)',
  notified: 'approvals: claims that the requester was told the outcome',
  reminded: 'approvals: claims of each reminder moment, per request',
  announced: 'approvals: claims of each thread announcement, per request',
  // digest
  'digest-day': 'digest: the claim and posting record of one digest date',
  alert: 'digest: claims of each alert, so it is posted once',
  // home
  home: 'home: visitors, their last page and the dashboard epoch of the Home tab',
  // audit
  audit: 'audit: the hash-chained stream, its head, dedupe, count and key id',
  install: 'audit: the install marker audit:verify tells a wrong REDIS_PREFIX by',
  // platform
  status: 'platform/redis: the status and signature epochs',
  lease: 'platform/redis: per-app leases of the steps that change an app',
  zoomtoken: 'platform/zoom: the cached Zoom access token per account',
  zoomtokenlock: 'platform/zoom: the single-flight lock of a token fetch',
  zoompause: "platform/zoom: the pause until Zoom's Retry-After, per account",
  slackproblems: 'platform/slack: Slack API problems seen (for status and digest)',
  slackok: 'platform/slack: when Slack last answered well',
  'native-refused': 'platform/slack: installs that refuse native charts and tables',
} as const;

export type KeyNamespace = keyof typeof KEY_NAMESPACES;

export interface Keys {
  /** `{prefix}` — also the BullMQ `prefix` option. */
  readonly base: string;
  /** `{prefix}:namespace:part…` */
  k(namespace: KeyNamespace, ...parts: Array<string | number>): string;
}

export function createKeys(prefix: string): Keys {
  const base = `{${prefix}}`;
  return {
    base,
    k: (namespace, ...parts) => [base, namespace, ...parts].join(':'),
  };
}
