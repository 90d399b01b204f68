/**
 * One-second CPU and resident memory from /proc, for tasks that share their PID namespace (`pidMode: task`).
 * Processes are grouped into containers by matching `/proc/<pid>/cgroup` against the DockerIds from `/task`.
 *
 * CPU is counted in nanoseconds: the first field of `/proc/<pid>/task/<tid>/schedstat` is the thread's
 * `sum_exec_runtime`, the same scheduler counter the cgroup's own `cpuacct.usage` / `cpu.stat` adds up. Per thread,
 * because `/proc/<pid>/schedstat` is the main thread's alone. What a sum over live threads cannot see comes from the
 * process's `/proc/<pid>/stat` (clock ticks, 10 ms):
 * - a thread that exited since the last poll: its last nanoseconds move to the process's dead-thread total, and the
 *   slice it ran after the last poll is estimated from `utime + stime` (which the kernel keeps for dead threads);
 * - a process that exited: the kernel adds its whole lifetime CPU to its reaper's `cutime + cstime`; the agent counts
 *   that increase minus what it had already counted of the exited process (so the CPU of processes that start and
 *   exit between two polls is counted too, and nothing twice);
 * - a process or thread that started since the last poll is counted from its start, not from when it was first seen.
 * Kernels without per-thread schedstat (no CONFIG_SCHED_INFO, or a kernel that reads zeros) fall back to the
 * `utime + stime` clock ticks, with the same accounting of exited and new processes.
 * Synchronous reads of small virtual files: one `stat` per process and one `schedstat` per thread of the task's
 * processes each poll (see agent/README.md for what it costs).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** USER_HZ: /proc reports utime/stime in 1/100 s on every Linux architecture ECS runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;
const NS_PER_TICK = 1e9 / CLOCK_TICKS_PER_SECOND;

export type CpuSource = 'schedstat' | 'ticks';

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

/** The fields of `/proc/<pid>/stat` the agent reads. Times are in clock ticks. */
export interface ProcStat {
  state: string;
  ppid: number;
  /** utime + stime of the whole thread group, dead threads included. */
  ticks: number;
  /** cutime + cstime: CPU of the reaped children (and, through them, of their reaped descendants). */
  childTicks: number;
  threads: number;
  start: string;
  rssPages: number;
}

interface PidState {
  start: string;
  ppid: number;
  /** `/proc/<pid>/cgroup`, read once per process (it does not change). */
  cgroup: string;
  dockerId: string | null;
  /** CPU accounting, from the first poll that mapped the process to a container. */
  cpu?: CpuState;
}

interface CpuState {
  /** Counted in nanoseconds (per-thread schedstat); else in clock ticks. */
  ns: boolean;
  /** schedstat nanoseconds of each live thread at the last poll (schedstat source only). */
  threads: Map<number, number>;
  /** Lifetime ns of the live threads (schedstat) or utime+stime in ns (ticks) at the last poll. */
  liveNs: number;
  /** Estimated ns of the exited threads (schedstat source; 0 with ticks, whose utime+stime includes them). */
  deadNs: number;
  /** cutime + cstime at the last poll, in ns. */
  childNs: number;
  /** Lifetime CPU of exited children the agent counted and whose reaping has not yet shown in childNs, ns. */
  debtNs: number;
}

/** Parses `/proc/<pid>/stat`. The comm field may contain spaces and ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); ppid = 4 → f[1]; utime = 14 → f[11], stime = 15 → f[12], cutime = 16 → f[13],
  // cstime = 17 → f[14], num_threads = 20 → f[17], starttime = 22 → f[19], rss = 24 → f[21]
  const n = (i: number) => Number(f[i]);
  const [utime, stime, cutime, cstime] = [n(11), n(12), n(13), n(14)];
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || f[19] === undefined) return undefined;
  const rss = n(21);
  return {
    state: f[0],
    ppid: Number.isFinite(n(1)) ? n(1) : 0,
    ticks: utime + stime,
    childTicks: Number.isFinite(cutime) && Number.isFinite(cstime) ? cutime + cstime : 0,
    threads: Number.isFinite(n(17)) ? n(17) : 0,
    start: f[19],
    rssPages: Number.isFinite(rss) && rss >= 0 ? rss : 0,
  };
}

/** The first field of a `schedstat` file: nanoseconds the thread has run. */
export function parseSchedstatNs(text: string): number | undefined {
  const sp = text.indexOf(' ');
  const v = Number(sp < 0 ? text.trim() : text.slice(0, sp));
  return Number.isFinite(v) && v >= 0 ? v : undefined;
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

/**
 * Whether this kernel gives per-thread nanoseconds: our own schedstat must exist and read above zero (we have run).
 * Read under `procRoot` when it has a `self` entry, else from /proc (tests give proc roots without one). Returns why
 * not, or undefined.
 */
export function schedstatProblem(procRoot: string): string | undefined {
  const file = fs.existsSync(path.join(procRoot, 'self')) ? path.join(procRoot, 'self', 'schedstat') : '/proc/self/schedstat';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return `cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): kernel built without CONFIG_SCHED_INFO`;
  }
  const ns = parseSchedstatNs(text);
  if (ns === undefined || ns === 0) return `${file} reads ${JSON.stringify(text.trim())}: the kernel keeps no scheduler statistics`;
  return undefined;
}

export interface ProcfsSourceOptions {
  /** 'auto' (default): schedstat nanoseconds when the kernel has them, else clock ticks. 'ticks' forces ticks. */
  cpuSource?: 'auto' | 'ticks';
  /** Monotonic milliseconds (tests). */
  clock?: () => number;
}

export class ProcfsSource {
  private readonly pids = new Map<number, PidState>();
  /** Processes that exited since the previous poll, with what had been counted of their lifetime. */
  private readonly vanished = new Map<number, { ppid: number; lifetimeNs?: number }>();
  private prevWallMs?: number;
  /** Seconds since boot at the previous poll (starttime in /proc/<pid>/stat counts from boot). */
  private prevUptimeS?: number;
  private pageSize = 4096;
  private readonly clock: () => number;
  /** Where CPU comes from; fixed at construction. */
  readonly cpuSource: CpuSource;
  /** Why the tick source is used with cpuSource 'auto' (undefined when schedstat is used or ticks were asked for). */
  readonly cpuSourceReason?: string;

  constructor(private readonly root: string, opts: ProcfsSourceOptions = {}) {
    this.clock = opts.clock ?? (() => performance.timeOrigin + performance.now());
    this.pageSize = this.detectPageSize();
    if (opts.cpuSource === 'ticks') {
      this.cpuSource = 'ticks';
    } else {
      this.cpuSourceReason = schedstatProblem(root);
      this.cpuSource = this.cpuSourceReason ? 'ticks' : 'schedstat';
    }
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

  /** schedstat ns of each live thread of `dir`; undefined when none can be read. */
  private readThreads(dir: string, pid: number, stat: ProcStat): Map<number, number> | undefined {
    const out = new Map<number, number>();
    const taskDir = path.join(dir, 'task');
    let tids: string[];
    if (stat.threads === 1 && stat.state !== 'Z') {
      tids = [String(pid)]; // single-threaded: its only thread is the main one (saves listing task/)
    } else {
      try { tids = fs.readdirSync(taskDir); } catch { return undefined; }
    }
    for (const tid of tids) {
      try {
        const ns = parseSchedstatNs(fs.readFileSync(path.join(taskDir, tid, 'schedstat'), 'utf8'));
        if (ns !== undefined) out.set(Number(tid), ns);
      } catch { /* the thread exited meanwhile */ }
    }
    return out.size > 0 ? out : undefined; // none readable: gone, or a proc root without task/
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
    const uptimeS = os.uptime();
    const wallMs = this.prevWallMs === undefined ? undefined : now - this.prevWallMs;
    const first = this.prevWallMs === undefined;
    // A process that started after the previous poll (starttime is in clock ticks since boot) is counted from its
    // start; one tick of slack for the rounding of both clocks.
    const startedSincePrev = (start: string) =>
      this.prevUptimeS !== undefined && Number(start) >= Math.floor(this.prevUptimeS * CLOCK_TICKS_PER_SECOND) - 1;
    const perContainer = new Map<string, ProcContainer>();
    const cpuNs = new Map<string, number>();
    const seen = new Set<number>();
    const counted: Array<{ pid: number; st: PidState; stat: ProcStat; cpu: CpuState; newNs: number; childGainNs: number }> = [];
    let visible = 0;
    let others = 0;
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      const dir = path.join(this.root, name);
      let stat: ProcStat | undefined;
      try {
        stat = parseStat(fs.readFileSync(path.join(dir, 'stat'), 'utf8'));
      } catch { continue; } // exited between readdir and read, or not readable
      if (!stat) continue;
      visible++;
      if (pid !== process.pid) others++;
      seen.add(pid);
      let st = this.pids.get(pid);
      const firstSight = !st || st.start !== stat.start;
      if (firstSight) {
        // New process (or a recycled pid): read its cgroup once.
        if (st) this.vanish(pid, st); // the old process of a recycled pid has exited
        let cgroup = '';
        try { cgroup = fs.readFileSync(path.join(dir, 'cgroup'), 'utf8'); } catch { /* gone */ }
        st = { start: stat.start, ppid: stat.ppid, cgroup, dockerId: null };
        this.pids.set(pid, st);
      }
      st = st!;
      st.ppid = stat.ppid;
      // Matched until it maps: a process can appear before /task lists its container (started since the last read).
      st.dockerId ??= matchDockerId(st.cgroup, dockerIds);
      if (!st.dockerId) continue;
      let c = perContainer.get(st.dockerId);
      if (!c) {
        c = { dockerId: st.dockerId, pids: 0, rssBytes: 0, cores: wallMs !== undefined && wallMs > 0 ? 0 : undefined };
        perContainer.set(st.dockerId, c);
        cpuNs.set(st.dockerId, 0);
      }
      c.pids++;
      c.rssBytes += stat.rssPages * this.pageSize;

      // CPU. `newNs`: what this process ran since the previous poll (its reaped children aside, see below).
      // A process whose threads cannot be read when it is first counted (a proc root without `task/`) is counted in
      // ticks; one whose threads stop being readable later has exited meanwhile (counted as exited next poll).
      const nsProcess = this.cpuSource === 'schedstat' && (st.cpu ? st.cpu.ns : true);
      const threads = nsProcess ? this.readThreads(dir, pid, stat) : undefined;
      if (nsProcess && !threads && st.cpu) continue;
      let liveNs = 0;
      if (threads) for (const ns of threads.values()) liveNs += ns;
      else liveNs = stat.ticks * NS_PER_TICK;
      const childNs = stat.childTicks * NS_PER_TICK;
      const prev = st.cpu;
      if (!prev) {
        // First poll with this process mapped: all of it is new if it started since the previous poll, else baseline.
        const born = !first && firstSight && startedSincePrev(stat.start);
        // Exited threads before now: at least utime+stime (floored to ticks) minus the live threads.
        const deadNs = threads ? Math.max(0, stat.ticks * NS_PER_TICK - liveNs) : 0;
        st.cpu = { ns: threads !== undefined, threads: threads ?? new Map(), liveNs, deadNs, childNs, debtNs: 0 };
        if (born) counted.push({ pid, st, stat, cpu: st.cpu, newNs: liveNs + deadNs, childGainNs: childNs });
        else counted.push({ pid, st, stat, cpu: st.cpu, newNs: 0, childGainNs: 0 });
        continue;
      }
      let newNs = 0;
      if (threads) {
        let deadLast = 0;
        for (const [tid, ns] of threads) {
          const before = prev.threads.get(tid);
          // A thread not seen before started since the previous poll (its task/ listing was complete): all of it is
          // new. A counter that went down is a new thread with a recycled tid.
          newNs += before === undefined || ns < before ? ns : ns - before;
          if (before !== undefined && ns < before) deadLast += before;
        }
        for (const [tid, ns] of prev.threads) {
          if (!threads.has(tid)) deadLast += ns;
        }
        // utime+stime counts the exited threads too (floored to ticks: the true total lies in [ticks, ticks + 2)).
        // Their nanoseconds = that total minus the live threads' ns: never less than the lower end (a certain lower
        // bound, which also catches threads that started and exited between two polls).
        const floorDead = stat.ticks * NS_PER_TICK - liveNs;
        const deadNs = Math.max(prev.deadNs + deadLast, floorDead);
        newNs += deadNs - prev.deadNs - deadLast;
        prev.threads = threads;
        prev.deadNs = deadNs;
      } else {
        newNs = Math.max(0, liveNs - prev.liveNs);
      }
      prev.liveNs = liveNs;
      const childGainNs = Math.max(0, childNs - prev.childNs);
      prev.childNs = childNs;
      counted.push({ pid, st, stat, cpu: prev, newNs, childGainNs });
    }

    // Processes gone since the previous poll: their reaper's cutime+cstime now holds their whole lifetime CPU.
    for (const [pid, st] of [...this.pids]) if (!seen.has(pid)) this.vanish(pid, st);
    this.settleDebts();
    for (const x of counted) {
      // Reaped children: what the counter gained, less what was already counted of them while they lived.
      let gain = x.childGainNs - x.cpu.debtNs;
      if (gain < 0) {
        // The reaping has not shown yet (the counter is floored to ticks): keep up to 2 ticks of debt for later.
        x.cpu.debtNs = Math.min(-gain, 2 * NS_PER_TICK);
        gain = 0;
      } else {
        x.cpu.debtNs = 0;
      }
      cpuNs.set(x.st.dockerId!, (cpuNs.get(x.st.dockerId!) ?? 0) + x.newNs + gain);
    }
    this.vanished.clear();
    for (const c of perContainer.values()) {
      if (c.cores !== undefined && wallMs) c.cores = (cpuNs.get(c.dockerId) ?? 0) / 1e9 / (wallMs / 1000);
    }
    this.prevWallMs = now;
    this.prevUptimeS = uptimeS;

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

  private vanish(pid: number, st: PidState): void {
    this.pids.delete(pid);
    const c = st.cpu;
    this.vanished.set(pid, { ppid: st.ppid, lifetimeNs: c ? c.liveNs + c.deadNs + c.childNs : undefined });
  }

  /**
   * Each exited process's counted lifetime becomes a debt of its reaper: its nearest ancestor still alive (a parent
   * that exited too passes the child's CPU on in its own lifetime). Exited processes whose reaper is not a counted
   * process (reparented outside the task's containers) leave nothing behind: their last slice is lost, never negative.
   */
  private settleDebts(): void {
    for (const [, v] of this.vanished) {
      if (v.lifetimeNs === undefined) continue;
      let r = v.ppid;
      for (let hops = 0; hops < 64 && this.vanished.has(r); hops++) r = this.vanished.get(r)!.ppid;
      const reaper = this.pids.get(r)?.cpu;
      if (reaper) reaper.debtNs += v.lifetimeNs;
    }
  }
}
