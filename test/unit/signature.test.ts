/**
 * The guard's signature check against Bolt's own (`verifySlackRequest`), which it replaces on the
 * ack path: the same verdict for genuine signatures, for any altered byte of body, timestamp or
 * signature, and for a signature made with another secret.
 */
import fc from 'fast-check';
import { verifySlackRequest } from '@slack/bolt';
import { signatureMatches } from '../../src/platform/slack/guard';
import { sign } from '../../dev/fakes/signing';

function boltSays(secret: string, ts: number, body: string, signature: string): boolean {
  try {
    verifySlackRequest({ signingSecret: secret, body, headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts }, nowMilliseconds: ts * 1000 });
    return true;
  } catch {
    return false;
  }
}

const secret = fc.string({ minLength: 1, maxLength: 40 });
const ts = fc.integer({ min: 1_600_000_000, max: 2_000_000_000 });
const body = fc.string({ maxLength: 300 });

it('accepts exactly what Bolt accepts for genuine signatures', () => {
  fc.assert(
    fc.property(secret, ts, body, (s, t, b) => {
      const sig = sign(s, t, b);
      expect(signatureMatches(s, String(t), b, sig)).toBe(true);
      expect(boltSays(s, t, b, sig)).toBe(true);
    }),
    { numRuns: 500 },
  );
});

it('refuses an altered body, timestamp, signature or secret, as Bolt does', () => {
  fc.assert(
    fc.property(secret, ts, body, fc.nat(), fc.constantFrom('body', 'ts', 'sig', 'secret', 'truncated'), (s, t, b, at, what) => {
      const sig = sign(s, t, b);
      let [s2, t2, b2, sig2] = [s, t, b, sig];
      if (what === 'body') b2 = b.length ? `${b.slice(0, at % b.length)}${b[at % b.length] === 'x' ? 'y' : 'x'}${b.slice((at % b.length) + 1)}` : 'x';
      if (what === 'ts') t2 = t + 1;
      if (what === 'secret') s2 = `${s}!`;
      if (what === 'truncated') sig2 = sig.slice(0, -1);
      if (what === 'sig') {
        const i = 3 + (at % (sig.length - 3));
        sig2 = `${sig.slice(0, i)}${sig[i] === '0' ? '1' : '0'}${sig.slice(i + 1)}`;
      }
      // The guard checks the header as given against the body as given; Bolt's verdict is the reference.
      expect(signatureMatches(s2, String(t2), b2, sig2)).toBe(false);
      expect(boltSays(s2, t2, b2, sig2)).toBe(false);
    }),
    { numRuns: 1000 },
  );
});
