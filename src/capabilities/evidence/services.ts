/** What the evidence capability works with: the platform, its own stores, the audit log, poll events. */
import type { Platform } from '../../platform/feature';
import type { AuditLog } from '../audit';
import type { EventBus } from './events';
import type { AppStore } from './stores/apps';
import type { HealthStore } from './stores/health';
import type { UsageStore } from './stores/usage';

/** The stores evidence owns; the other capabilities read through them. */
export interface EvidenceStores {
  apps: AppStore;
  usage: UsageStore;
  health: HealthStore;
}

export type EvidenceServices = Platform & EvidenceStores & { audit: AuditLog; events: EventBus };
