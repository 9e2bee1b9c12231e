/** Digest: the daily message and the evidence alerts. Its public face. */
export { createDigestFeature } from './feature';
