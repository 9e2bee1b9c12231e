/**
 * Two-person sign-off (SPEC §5) as a feature: the request commands, the card buttons, and the
 * execution, expiry and sweeper jobs on the `actions` queue.
 */
import type { Feature } from '../../platform/feature';
import type { ApprovalServices as Services } from './services';
import { createApprovalJobs } from './jobs/execute';
import { createApprovalFlow } from './flow';
import { createApprovalListeners } from './listeners';
import { createRequestModal } from './modal';
import { createRequestStore } from './stores/requests';

export function createApprovalsFeature(services: Services): Feature {
  const store = createRequestStore(services.redis, services.keys);
  const flow = createApprovalFlow(services, store);
  const jobs = createApprovalJobs(services, flow);
  const listeners = createApprovalListeners(services, flow);
  const modal = createRequestModal(services, flow);
  flow.useRequestForm(modal.form);
  return {
    name: 'approvals',
    commands: flow.commands,
    registerSlack: (app) => {
      listeners.register(app);
      modal.register(app);
    },
    processors: { actions: jobs.processors },
    schedule: () => jobs.schedule(),
  };
}
