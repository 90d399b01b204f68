/**
 * One-second CPU and resident memory from /proc, for tasks that share their PID namespace (`pidMode: task`).
 * Processes are grouped into containers by matching `/proc/<pid>/cgroup` against the DockerIds from `/task`.
 * Synchronous reads of small virtual files: a few hundred microseconds per poll for a typical task.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** USER_HZ: /proc reports utime/stime in 1/100 s on every Linux architecture ECS runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcContainer {
  dockerId: string;
  pids: number;
  /** CPU cores used since the previous sample; undefined on the first sample. */
  cores?: number;
  rssBytes: number;
}

export type ProcResult =
  | { status: 'ok'; timestampMs: number; containers: ProcContainer[]; taskCores?: number; taskRssBytes: number }
  | { status: 'unavailable'; kind: 'unreadable' | 'only-agent' | 'no-mapping'; reason: string };

interface PidState {
  start: string;
  ticks: number;
  /** `/proc/<pid>/cgroup`, read once per process (it does not change). */
  cgroup: string;
  dockerId: string | null;
}

/** Parses `/proc/<pid>/stat`: [utime+stime ticks, starttime, rss pages]. The comm field may contain spaces and ')'. */
export function parseStat(text: string): { ticks: number; start: string; rssPages: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); utime = field 14 → f[11], stime = 15 → f[12], starttime = 22 → f[19], rss = 24 → f[21]
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rss = Number(f[21]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || f[19] === undefined) return undefined;
  return { ticks: utime + stime, start: f[19], rssPages: Number.isFinite(rss) && rss >= 0 ? rss : 0 };
}

/** `VmRSS:   1234 kB` from /proc/<pid>/status, in bytes. */
export function parseVmRssBytes(status: string): number | undefined {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The DockerId whose text appears in a `/proc/<pid>/cgroup` file, or null. */
export function matchDockerId(cgroup: string, dockerIds: string[]): string | null {
  for (const id of dockerIds) if (id && cgroup.includes(id)) return id;
  return null;
}

export class ProcfsSource {
  private readonly pids = new Map<number, PidState>();
  private prevWallMs?: number;
  private pageSize = 4096;

  constructor(private readonly root: string, private readonly clock: () => number = () => performance.timeOrigin + performance.now()) {
    this.pageSize = this.detectPageSize();
  }

  /** Page size from our own process: VmRSS (kB) vs the rss field (pages); 4096 if it cannot be told. */
  private detectPageSize(): number {
    try {
      const st = parseStat(fs.readFileSync('/proc/self/stat', 'utf8'));
      const rss = parseVmRssBytes(fs.readFileSync('/proc/self/status', 'utf8'));
      if (st && rss && st.rssPages > 0) {
        const ratio = rss / st.rssPages;
        for (const p of [4096, 16384, 65536]) if (Math.abs(ratio - p) / p < 0.2) return p;
      }
    } catch { /* not Linux */ }
    return 4096;
  }

  /**
   * One sample. `dockerIds`: the task's containers (pause excluded); `agentDockerId`: the agent's own, so that
   * "only the agent is visible" can be told apart from "nothing maps".
   */
  sample(dockerIds: string[], agentDockerId: string | undefined): ProcResult {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch (e) {
      return { status: 'unavailable', kind: 'unreadable', reason: `cannot list ${this.root}: ${(e as Error).message}` };
    }
    const now = this.clock();
    const wallMs = this.prevWallMs === undefined ? undefined : now - this.prevWallMs;
    const perContainer = new Map<string, ProcContainer>();
    const seen = new Set<number>();
    let visible = 0;
    let others = 0;
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      const dir = path.join(this.root, name);
      let stat: ReturnType<typeof parseStat>;
      try {
        stat = parseStat(fs.readFileSync(path.join(dir, 'stat'), 'utf8'));
      } catch { continue; } // exited between readdir and read, or not readable
      if (!stat) continue;
      visible++;
      if (pid !== process.pid) others++;
      seen.add(pid);
      let st = this.pids.get(pid);
      let delta = 0;
      if (st && st.start === stat.start) {
        delta = stat.ticks - st.ticks;
        if (delta < 0) delta = 0;
        st.ticks = stat.ticks;
      } else {
        // New process (or a recycled pid): read its cgroup once; its CPU counts from now on.
        let cgroup = '';
        try { cgroup = fs.readFileSync(path.join(dir, 'cgroup'), 'utf8'); } catch { /* gone */ }
        st = { start: stat.start, ticks: stat.ticks, cgroup, dockerId: null };
        this.pids.set(pid, st);
      }
      // Matched until it maps: a process can appear before /task lists its container (started since the last read).
      st.dockerId ??= matchDockerId(st.cgroup, dockerIds);
      if (!st.dockerId) continue;
      let c = perContainer.get(st.dockerId);
      if (!c) {
        c = { dockerId: st.dockerId, pids: 0, rssBytes: 0, cores: wallMs !== undefined && wallMs > 0 ? 0 : undefined };
        perContainer.set(st.dockerId, c);
      }
      c.pids++;
      c.rssBytes += stat.rssPages * this.pageSize;
      if (c.cores !== undefined && wallMs) c.cores += (delta / CLOCK_TICKS_PER_SECOND) / (wallMs / 1000);
    }
    for (const pid of [...this.pids.keys()]) if (!seen.has(pid)) this.pids.delete(pid);
    this.prevWallMs = now;

    if (others === 0) {
      return { status: 'unavailable', kind: 'only-agent', reason: `${this.root} shows only the agent's own process (${visible} visible): is the task's pidMode "task"?` };
    }
    const mappedOthers = [...perContainer.keys()].filter((id) => id !== agentDockerId);
    if (mappedOthers.length === 0) {
      return { status: 'unavailable', kind: 'no-mapping', reason: `no process in ${this.root} maps to a task container (${others} processes; /proc/<pid>/cgroup holds none of the DockerIds from /task)` };
    }
    const containers = [...perContainer.values()];
    const taskRssBytes = containers.reduce((a, c) => a + c.rssBytes, 0);
    const taskCores = containers.every((c) => c.cores !== undefined) ? containers.reduce((a, c) => a + (c.cores ?? 0), 0) : undefined;
    // Intervals come from the monotonic clock above; the datum's timestamp is wall time.
    return { status: 'ok', timestampMs: Date.now(), containers, taskCores, taskRssBytes };
  }
}
