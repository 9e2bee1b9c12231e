/**
 * What the composition root builds once and hands to every capability (the platform: config,
 * adapters and connections), and the shape a capability plugs into the process with. Capabilities
 * never construct connections themselves; each adds the stores it owns to what it is given.
 */
import type { App, webApi } from '@slack/bolt';
import type { Config } from '../config';
import type { Clock } from '../kernel/clock';
import type { Logger } from '../log';
import type { Metrics } from '../metrics';
import type { RouteHandler } from './http/server';
import type { ProcessorTable, Queues } from './queue/queues';
import type { Keys } from './redis/keys';
import type { Redis } from './redis/connection';
import type { Access } from './slack/access';
import type { SlackHealth } from './slack/stores/problems';
import type { CommandTable } from './slack/commands';
import type { ZoomClient } from './zoom/client';

export interface SlackIdentity {
  teamId: string;
  enterpriseId?: string;
  botUserId: string;
  botId: string;
}

export interface Platform {
  config: Config;
  log: Logger;
  clock: Clock;
  redis: Redis;
  keys: Keys;
  metrics: Metrics;
  /** Web API client for the worker side (no client retries: jobs retry idempotently). */
  slack: webApi.WebClient;
  /** Slack API problems (channel not found, bot not in channel, bad token…) for status and digest. */
  slackHealth: SlackHealth;
  slackIdentity: SlackIdentity;
  /** Who may do what (SPEC §5.5), from Slack's facts about a person. */
  access: Access;
  /** One client per configured account, by account name. */
  zoom: Map<string, ZoomClient>;
  queues: Queues;
}

/** A capability (evidence, approvals, digest…) plugs into the process through this shape. */
export interface Feature {
  name: string;
  commands?: CommandTable;
  /** Registers Bolt action listeners (web role). */
  registerSlack?(app: App): void;
  processors?: ProcessorTable;
  /** Upserts job schedulers (worker role). Idempotent: many processes may call it at once. */
  schedule?(): Promise<void>;
  routes?: Record<string, RouteHandler>;
}
