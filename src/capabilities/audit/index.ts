/** Audit: the hash-chained log every change is written to, its export route and its verifier. */
export { createAuditLog, type AppendOptions, type AuditEntry, type AuditInput, type AuditLog, type VerifyExpectation } from './stores/audit';
export { createAuditRoute } from './route';
