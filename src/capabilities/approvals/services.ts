/** What the approvals capability works with: the platform, evidence's app and usage stores, the audit log. */
import type { Platform } from '../../platform/feature';
import type { AuditLog } from '../audit';
import type { EvidenceStores } from '../evidence';

export type ApprovalServices = Platform & Pick<EvidenceStores, 'apps' | 'usage'> & { audit: AuditLog };
