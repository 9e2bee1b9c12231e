/** Reads a V8 .cpuprofile and lists where the time went (self time per function). */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  fn: string;
  where: string;
  self_pct: number;
}

export function hotFunctions(path: string, top = 12): { total_ms: number; idle_pct: number; gc_pct: number; top: HotFunction[]; byArea: Record<string, number> } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const areas: Record<string, number> = {};
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const n = byId.get(id);
    if (!n) return;
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    const short = url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 13) : url.replace(/^.*?\/(src|bench|test)\//, '$1/');
    const key = `${n.callFrame.functionName || '(anonymous)'}\t${short ? `${short}:${n.callFrame.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const area = n.callFrame.functionName === '(idle)' ? 'idle'
      : n.callFrame.functionName === '(garbage collector)' ? 'gc'
      : short.startsWith('src/') ? 'zoomjwt'
      : short.includes('@slack/') ? 'bolt'
      : short.includes('ioredis') || short.includes('redis-parser') ? 'ioredis'
      : short.includes('axios') ? 'axios'
      : short.includes('pino') ? 'pino'
      : short.includes('bullmq') ? 'bullmq'
      : short.startsWith('node:') ? 'node core'
      : short === '' ? 'native/other' : 'other';
    areas[area] = (areas[area] ?? 0) + dt;
  });
  const pct = (v: number) => Math.round((v / (total || 1)) * 1000) / 10;
  const rows = [...self.entries()].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    total_ms: Math.round(total / 1000),
    idle_pct: pct(areas.idle ?? 0),
    gc_pct: pct(areas.gc ?? 0),
    top: rows.map(([k, v]) => {
      const [fn, where] = k.split('\t');
      return { fn: fn ?? '', where: where ?? '', self_pct: pct(v) };
    }),
    byArea: Object.fromEntries(Object.entries(areas).map(([k, v]) => [k, pct(v)]).sort((a, b) => (b[1] as number) - (a[1] as number))),
  };
}
