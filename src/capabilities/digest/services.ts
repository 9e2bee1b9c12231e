/** What the digest and the alerts work with: what evidence works with (its stores, the audit log, poll events). */
import type { EvidenceServices } from '../evidence';

export type DigestServices = EvidenceServices;
