/**
 * Evidence: what each app did, read from Zoom's call logs and usage fields, and how it is shown
 * (`status`, `app`, the poll jobs, `track`/`untrack`/`owner`/`migrated`/`poll`). Its public face:
 * what the other capabilities may use.
 */
export { createEvidenceFeature } from './feature';
export type { EvidenceServices, EvidenceStores } from './services';
export { createEventBus } from './events';
export type { CandidateApp, LifecycleState, RequestAction, TrackedApp } from './rules/app';
export { guessIntegrations, MARKETPLACE_CREATED_APPS_URL } from './rules/integrations';
export { candidateLines } from './rules/zoomUsage';
export { degradedReasons, removalRefusal } from './rules/evidenceQuality';
export { resolveApp, resolveFailureMessage, splitAppArgs } from './rules/resolveApp';
export { formatSpan, healthLine, inline, modeLine, orderForStatus, stateText, utcMinute } from './views/status';
export { REQUEST_TITLE } from './views/requestButtons';
export { callsChart } from './views/charts';
export { createAppStore, type AppStore } from './stores/apps';
export { createHealthStore, type HealthStore, type PollHealth } from './stores/health';
export { createUsageStore, type UsageStore } from './stores/usage';
export type { DailyUsage, ReadHealth, UsageSummary, UsageWindow } from './stores/usageRead';
export type { PollEvent } from './jobs/pollAccount';
export { enqueuePoll } from './jobs/pollJob';
