/**
 * The product's capabilities, in the order they plug in. Each feature owns its commands,
 * listeners, job processors and schedulers; main.ts only merges them.
 */
import type { Feature } from '../platform/feature';
import type { Services } from '../services';
import { createApprovalsFeature, createRequestStore } from './approvals';
import { createAuditFeature } from './audit';
import { createDigestFeature } from './digest';
import { createEvidenceFeature, resolveApp } from './evidence';
import { createHomeFeature } from './home';

export function createFeatures(services: Services): Feature[] {
  const requests = createRequestStore(services.redis, services.keys);
  return [
    createEvidenceFeature(services, {
      pendingRequests: async () => {
        const counts = new Map<string, number>();
        for (const req of await requests.listOpen()) {
          if (req.status === 'pending') counts.set(req.appId, (counts.get(req.appId) ?? 0) + 1);
        }
        return counts;
      },
      openRequestsOf: async (appId) => (await requests.listOpen()).filter((r) => r.appId === appId).map((r) => ({ id: r.id, action: r.action })),
    }),
    createApprovalsFeature(services),
    createDigestFeature(services),
    createHomeFeature(services, requests),
    createAuditFeature({
      audit: services.audit,
      log: services.log,
      ...(services.config.auditToken ? { token: services.config.auditToken } : {}),
      findApp: async (query) => {
        const res = resolveApp(query, await services.apps.list());
        return res.ok ? res.app : undefined;
      },
    }),
  ];
}
