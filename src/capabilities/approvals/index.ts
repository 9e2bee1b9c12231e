/**
 * Approvals: two-person sign-off (`disable`/`enable`/`remove`, `requests`), the card and its
 * buttons, the request form, and the execution, expiry and reminder jobs. Its public face.
 */
export { createApprovalsFeature } from './feature';
export type { ApprovalRequest } from './rules/request';
export type { StoredRequest } from './rules/approval';
export { createRequestStore, type RequestStore } from './stores/requests';
export { ACTION_TITLE } from './views/card';
export { JOB } from './jobs/names';
