/**
 * The product's capabilities, in the order they plug in. Each feature owns its commands,
 * listeners, job processors and schedulers; main.ts only merges them.
 */
import type { Feature, Services } from '../services';
import { createApprovalsFeature } from './approvals';
import { createDigestFeature } from './digest';
import { createEvidenceFeature } from './evidence';

export function createFeatures(services: Services): Feature[] {
  return [
    createEvidenceFeature(services),
    createApprovalsFeature(services),
    createDigestFeature(services),
  ];
}
