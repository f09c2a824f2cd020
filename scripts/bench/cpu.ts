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

/** CPU time by role (ms per unit, or seconds per million rows): what the bench reports. */
export type CpuSnapshot = Record<string, number>;
/** CPU seconds so far of every process, by pid, with its role. */
export type CpuSample = Map<string, { role: string; seconds: number }>;

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
 * CPU seconds so far of every process, by role: the named pids, then postgres (background
 * processes and the backends of `database`), redis-server, and "other" (including other
 * databases' backends).
 */
export function cpuSnapshot(roles: Record<string, number>, database?: string): CpuSample {
  const byPid = new Map(Object.entries(roles).map(([role, pid]) => [String(pid), role]));
  const out: CpuSample = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const s = cpuSecondsOf(pid);
    if (!s) continue;
    const role = byPid.get(pid) ?? (s.comm === 'postgres' && !otherDatabaseBackend(pid, database) ? 'postgres' : s.comm === 'redis-server' ? 'redis' : 'other');
    out.set(pid, { role, seconds: s.seconds });
  }
  return out;
}

/**
 * CPU milliseconds per unit of work (e.g. per prediction) by role between two samples, process by
 * process: one that started in between counts from 0, one that exited in between (a Postgres
 * backend its pool closed) is left out rather than subtracted, so no role comes out below 0.
 */
export function cpuPerUnit(before: CpuSample, after: CpuSample, units: number): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const { role } of [...before.values(), ...after.values()]) out[role] = 0;
  for (const [pid, { role, seconds }] of after) out[role] += ((seconds - (before.get(pid)?.seconds ?? 0)) * 1000) / Math.max(1, units);
  return out;
}
