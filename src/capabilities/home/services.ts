/** What the Home tab works with: the platform and evidence's stores. */
import type { Platform } from '../../platform/feature';
import type { EvidenceStores } from '../evidence';

export type HomeServices = Platform & EvidenceStores;
