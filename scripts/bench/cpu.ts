// CPU time by process while a load runs, read from /proc: where the machine's cores went (our
// api and worker, Postgres's backends, Redis, the load generator itself, anything else).
import { readdirSync, readFileSync } from 'node:fs';

const TICK = 100; // USER_HZ on Linux

function cpuSecondsOf(pid: string): { comm: string; seconds: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    // utime, stime are fields 14 and 15 of the whole line (11 and 12 after the comm).
    return { comm, seconds: (Number(f[11]) + Number(f[12])) / TICK };
  } catch {
    return null;
  }
}

export type CpuSnapshot = Record<string, number>;

/** A Postgres backend serving another database (another run's): its title names the database. */
function otherDatabaseBackend(pid: string, database: string | undefined): boolean {
  if (!database) return false;
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const m = /^postgres: [^:]+: \S+ (\S+) /.exec(title);
    return !!m && m[1] !== database;
  } catch {
    return false;
  }
}

/**
 * CPU seconds so far, by role: the named pids, then postgres (background processes and the
 * backends of `database`), redis-server, and "other" (including other databases' backends).
 */
export function cpuSnapshot(roles: Record<string, number>, database?: string): CpuSnapshot {
  const byPid = new Map(Object.entries(roles).map(([role, pid]) => [String(pid), role]));
  const out: CpuSnapshot = { postgres: 0, redis: 0, other: 0 };
  for (const role of Object.keys(roles)) out[role] = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const s = cpuSecondsOf(pid);
    if (!s) continue;
    const role = byPid.get(pid) ?? (s.comm === 'postgres' && !otherDatabaseBackend(pid, database) ? 'postgres' : s.comm === 'redis-server' ? 'redis' : 'other');
    out[role] += s.seconds;
  }
  return out;
}

/**
 * CPU milliseconds per unit of work (e.g. per prediction) by role between two snapshots. Postgres
 * backends that exited in between are missed (the bench's connections live for the whole load).
 */
export function cpuPerUnit(before: CpuSnapshot, after: CpuSnapshot, units: number): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const role of Object.keys(after)) out[role] = ((after[role] - (before[role] ?? 0)) * 1000) / Math.max(1, units);
  return out;
}
