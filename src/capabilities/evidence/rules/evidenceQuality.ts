/**
 * Whether an app's call-log evidence can be staked on (SPEC §4.3): a pure function of its read
 * health. Counts are exact only when the last read reached the end of the listing, found it in
 * newest-first order, and neither held back future-dated entries nor dropped unreadable ones.
 * `status` and `app` show the reasons in words; `remove` (and its execution re-check) is refused
 * while there is any.
 */
import type { ReadHealth } from '../stores/usageRead';

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en')} ${n === 1 ? one : many}`;

/** Why the evidence is degraded, one clause each; empty when the last read was clean. */
export function degradedReasons(read: ReadHealth | undefined): string[] {
  const out: string[] = [];
  if (read?.inProgressSince !== undefined) {
    out.push('a read of its call logs has not reached the end of the listing yet (the poll running now, or the next one, finishes it)');
  } else if (read?.lastComplete === undefined) {
    out.push('its call logs have not been read to the end yet');
  }
  const q = read?.quality;
  if (q?.unordered) out.push('Zoom listed its call logs out of order in the last read (they were read whole)');
  if (q && q.heldBack > 0) out.push(`${plural(q.heldBack, 'entry', 'entries')} dated in the future ${q.heldBack === 1 ? 'was' : 'were'} held back, not counted`);
  if (q && q.unreadable > 0) out.push(`${plural(q.unreadable, 'entry', 'entries')} Zoom sent could not be read and ${q.unreadable === 1 ? 'was' : 'were'} dropped`);
  return out;
}

/** One sentence for `status` and `app`, or undefined when the evidence is clean. */
export function degradedSentence(read: ReadHealth | undefined): string | undefined {
  const reasons = degradedReasons(read);
  if (reasons.length === 0) return undefined;
  return `Evidence degraded: ${reasons.join('; ')}.`;
}

/** The refusal of a removal on degraded evidence, or undefined when removal may go on. */
export function removalRefusal(appName: string, read: ReadHealth | undefined): string | undefined {
  const reasons = degradedReasons(read);
  if (reasons.length === 0) return undefined;
  return `The call-log evidence for *${appName}* is not complete: ${reasons.join('; ')}. Removal is refused until a clean read of its call logs has happened (the next polls try again; \`/zoomjwt poll\` asks now).`;
}
