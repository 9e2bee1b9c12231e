/** Audit: the hash-chained log every change is written to, its export route and its verifier. */
export type { AuditEntry, AuditInput, VerifyExpectation } from './chain';
export { createAuditLog, type AppendOptions, type AuditLog } from './stores/audit';
export { createAuditFeature } from './feature';
