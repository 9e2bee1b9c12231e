/** Redis-side evidence: memory of a prefix's keys, command statistics and server CPU, as deltas. */
import type { Redis } from 'ioredis';

/** Bytes (MEMORY USAGE, every element sampled) of the prefix's keys, in total and per namespace. */
export async function prefixMemory(redis: Redis, prefix: string): Promise<{ keys: number; bytes: number; byNamespace: Record<string, number> }> {
  const base = `{${prefix}}`;
  let cursor = '0';
  let keys = 0;
  let bytes = 0;
  const byNamespace: Record<string, number> = {};
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length === 0) continue;
    const pipe = redis.pipeline();
    for (const k of found) pipe.call('MEMORY', 'USAGE', k, 'SAMPLES', '0');
    const rows = (await pipe.exec()) ?? [];
    found.forEach((k, i) => {
      const n = Number(rows[i]?.[1] ?? 0);
      keys++;
      bytes += n;
      const ns = k.slice(base.length + 1).split(':')[0] ?? '';
      byNamespace[ns] = (byNamespace[ns] ?? 0) + n;
    });
  } while (cursor !== '0');
  return { keys, bytes, byNamespace };
}

export interface ServerSnapshot {
  cpuSeconds: number;
  commands: Map<string, { calls: number; usec: number }>;
}

export async function serverSnapshot(redis: Redis): Promise<ServerSnapshot> {
  const [cpu, stats] = await Promise.all([redis.info('cpu'), redis.info('commandstats')]);
  const num = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(cpu)?.[1] ?? 0);
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const m of stats.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    commands.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return { cpuSeconds: num('used_cpu_user') + num('used_cpu_sys'), commands };
}

/**
 * What Redis did between two snapshots: its CPU seconds and the busiest commands. The server is
 * shared, so other clients' commands are included; the poll dominates while it runs.
 */
export function serverDelta(a: ServerSnapshot, b: ServerSnapshot, top = 6): { cpu_s: number; commands: Array<{ command: string; calls: number; usec_per_call: number; total_ms: number }> } {
  const rows: Array<{ command: string; calls: number; usec_per_call: number; total_ms: number }> = [];
  for (const [name, v] of b.commands) {
    const before = a.commands.get(name) ?? { calls: 0, usec: 0 };
    const calls = v.calls - before.calls;
    const usec = v.usec - before.usec;
    if (calls > 0) rows.push({ command: name, calls, usec_per_call: Math.round((usec / calls) * 10) / 10, total_ms: Math.round(usec / 1000) });
  }
  rows.sort((x, y) => y.total_ms - x.total_ms);
  return { cpu_s: Math.round((b.cpuSeconds - a.cpuSeconds) * 100) / 100, commands: rows.slice(0, top) };
}

/** Deletes every key of the prefix (never FLUSHDB: the server is shared). */
export async function dropPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length) n += await redis.unlink(...found);
  } while (cursor !== '0');
  return n;
}
