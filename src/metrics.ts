/**
 * Prometheus metrics. One registry per running instance (not the global one), so several
 * instances in one test process never collide.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
  slackAck: Histogram<'kind'>;
  slackCommands: Counter<'subcommand'>;
  slackActions: Counter<'action'>;
  slackApiErrors: Counter<'method' | 'error'>;
  jobs: Counter<'queue' | 'name' | 'outcome'>;
  jobDuration: Histogram<'queue' | 'name'>;
  zoomRequests: Counter<'account' | 'endpoint' | 'status'>;
  entriesIngested: Counter<'account'>;
  /** Entries counted although Zoom published them after a read had passed their time. */
  entriesLate: Counter<'account'>;
  /** Entries not counted: `held_back` (dated in the future) or `unreadable` (no readable time). */
  entriesNotCounted: Counter<'account' | 'reason'>;
  /** Tracked apps whose call-log read a poll skipped: Zoom's usage fields said nothing new. */
  readsSkipped: Counter<'account'>;
  statusAnswers: Counter<'source'>;
  accessRefusals: Counter<'action' | 'code'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ app: 'zoomjwt' });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'zoomjwt_' });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({ name: 'zoomjwt_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers }),
    slackAck: new Histogram({
      name: 'zoomjwt_slack_ack_seconds',
      help: 'Time from a Slack request arriving to its HTTP response being sent',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
      registers,
    }),
    slackCommands: new Counter({ name: 'zoomjwt_slack_commands_total', help: 'Slash commands by subcommand', labelNames: ['subcommand'], registers }),
    slackActions: new Counter({ name: 'zoomjwt_slack_actions_total', help: 'Button clicks by action id', labelNames: ['action'], registers }),
    slackApiErrors: new Counter({ name: 'zoomjwt_slack_api_errors_total', help: 'Slack Web API failures', labelNames: ['method', 'error'], registers }),
    jobs: new Counter({ name: 'zoomjwt_jobs_total', help: 'Jobs processed by queue, name and outcome', labelNames: ['queue', 'name', 'outcome'], registers }),
    jobDuration: new Histogram({
      name: 'zoomjwt_job_duration_seconds',
      help: 'Job processing time',
      labelNames: ['queue', 'name'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
      registers,
    }),
    zoomRequests: new Counter({ name: 'zoomjwt_zoom_requests_total', help: 'Zoom API requests', labelNames: ['account', 'endpoint', 'status'], registers }),
    entriesIngested: new Counter({ name: 'zoomjwt_call_log_entries_ingested_total', help: 'Zoom call-log entries folded into aggregates', labelNames: ['account'], registers }),
    entriesLate: new Counter({
      name: 'zoomjwt_call_log_entries_late_total',
      help: 'Zoom call-log entries counted although Zoom published them after a read had passed their time',
      labelNames: ['account'],
      registers,
    }),
    readsSkipped: new Counter({
      name: 'zoomjwt_call_log_reads_skipped_total',
      help: "Call-log reads skipped because Zoom's usage fields said the app was not used since its last read",
      labelNames: ['account'],
      registers,
    }),
    entriesNotCounted: new Counter({
      name: 'zoomjwt_call_log_entries_not_counted_total',
      help: 'Zoom call-log entries not counted: held_back (dated in the future; counted once their time comes) or unreadable (dropped)',
      labelNames: ['account', 'reason'],
      registers,
    }),
    statusAnswers: new Counter({
      name: 'zoomjwt_status_answers_total',
      help: '/zoomjwt status answers by source: cache (unchanged since the last build), build, or shared (joined a build in flight)',
      labelNames: ['source'],
      registers,
    }),
    accessRefusals: new Counter({
      name: 'zoomjwt_access_refusals_total',
      help: 'Commands and clicks refused because of who sent them (SPEC §5.5), by action and reason',
      labelNames: ['action', 'code'],
      registers,
    }),
  };
}
