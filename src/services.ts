/**
 * What the composition root hands to every feature: configuration, adapters and repositories,
 * all built once in `main.ts`. Features never construct connections themselves.
 */
import type { App } from '@slack/bolt';
import type { webApi } from '@slack/bolt';
import type { Config } from './config';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { RouteHandler } from './platform/http/server';
import type { ProcessorTable, Queues } from './platform/queue/queues';
import type { PollEvent } from './capabilities/evidence/jobs/pollAccount';
import type { AppStore } from './capabilities/evidence/stores/apps';
import type { AuditLog } from './capabilities/audit/stores/audit';
import type { HealthStore } from './capabilities/evidence/stores/health';
import type { Keys } from './platform/redis/keys';
import type { Redis } from './platform/redis/connection';
import type { UsageStore } from './capabilities/evidence/stores/usage';
import type { Access } from './platform/slack/access';
import type { SlackHealth } from './platform/slack/client';
import type { CommandTable } from './platform/slack/commands';
import type { ZoomClient } from './platform/zoom/client';

export type Clock = () => number;

/** Evidence events raised by polls, consumed by alerts (worker side, in-process). */
export interface EventBus {
  on(handler: (event: PollEvent) => void | Promise<void>): void;
  emit(event: PollEvent): Promise<void>;
}

export interface Services {
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
  slackIdentity: { teamId: string; enterpriseId?: string; botUserId: string; botId: string };
  /** Who may do what (SPEC §5.5), from Slack's facts about a person. */
  access: Access;
  apps: AppStore;
  usage: UsageStore;
  health: HealthStore;
  audit: AuditLog;
  /** One client per configured account, by account name. */
  zoom: Map<string, ZoomClient>;
  queues: Queues;
  events: EventBus;
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

export function createEventBus(log: Logger): EventBus {
  const handlers: Array<(event: PollEvent) => void | Promise<void>> = [];
  return {
    on: (handler) => void handlers.push(handler),
    async emit(event) {
      for (const handler of handlers) {
        try {
          await handler(event);
        } catch (err) {
          log.warn({ event: event.type, err: { message: (err as Error).message } }, 'event handler failed');
        }
      }
    },
  };
}
