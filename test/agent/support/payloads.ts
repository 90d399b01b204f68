/** Fixture loading and synthetic TMDE sequences derived from the real fixtures (clearly synthetic: built here). */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURE_DIR = path.join(__dirname, '..', '..', 'fixtures', 'task-metadata');

export function loadFixture(name: string): any {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, name), 'utf8'));
}

export function fixtureNames(): string[] {
  return fs.readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();
}

export const FARGATE_TASK = 'ecs-exporter-fargate-v4-task-metadata-3containers-one-stopped.json';
export const FARGATE_STATS = 'ecs-exporter-fargate-v4-task-stats-cgroupv1-null-entry.json';

/** RFC 3339 with nanoseconds from epoch ms (fractional part kept to 0.1 µs, padded to 9 digits). */
export function isoNs(ms: number): string {
  const whole = Math.floor(ms / 1000) * 1000;
  const nanos = Math.round((ms - whole) * 1e6);
  return new Date(whole).toISOString().replace(/\.\d{3}Z$/, `.${String(nanos).padStart(9, '0')}Z`);
}

export interface ContainerPlan {
  /** CPU ns consumed during each 10 s window i (length = samples). */
  cpuDeltaNs: number[];
  /** memory_stats.usage per sample (bytes). */
  usage: number[];
}

/**
 * A sequence of `/task/stats` payloads built from the real Fargate fixture (file 1): sample i has
 * `read = t0 + i × stepMs`, `preread` = previous read, counters advanced by the plan. Memory `stats` are kept
 * (so `total_inactive_file` is the fixture's). Times are shifted so the last sample is `endMs`.
 */
export function fargateSequence(plans: Record<string, ContainerPlan>, samples: number, endMs: number, stepMs = 10_000): any[] {
  const base = loadFixture(FARGATE_STATS);
  const out: any[] = [];
  const totals: Record<string, number> = {};
  for (const [id, e] of Object.entries<any>(base)) if (e) totals[id] = e.cpu_stats.cpu_usage.total_usage;
  for (let i = 0; i < samples; i++) {
    const read = endMs - (samples - 1 - i) * stepMs;
    const payload: any = {};
    for (const [id, e] of Object.entries<any>(base)) {
      if (!e) { payload[id] = null; continue; }
      const plan = plans[id];
      const entry = JSON.parse(JSON.stringify(e));
      const pre = totals[id];
      const cur = pre + (plan ? plan.cpuDeltaNs[i] : 0);
      totals[id] = cur;
      entry.read = isoNs(read);
      entry.preread = isoNs(read - stepMs);
      entry.precpu_stats.cpu_usage.total_usage = pre;
      entry.cpu_stats.cpu_usage.total_usage = cur;
      if (plan) entry.memory_stats.usage = plan.usage[i];
      payload[id] = entry;
    }
    out.push(payload);
  }
  return out;
}

/** The real Fargate `/task` (file 2) with the cluster renamed and times shifted by `shiftMs`. */
export function fargateTask(clusterSuffix: string, shiftMs: number): any {
  const t = loadFixture(FARGATE_TASK);
  t.Cluster = `arn:aws:ecs:us-east-1:829490980523:cluster/${clusterSuffix}`;
  for (const c of t.Containers) {
    for (const k of ['StartedAt', 'FinishedAt', 'CreatedAt', 'PullStartedAt', 'PullStoppedAt']) {
      if (typeof c[k] === 'string') c[k] = isoNs(Date.parse(c[k]) + shiftMs + nanosMs(c[k]));
    }
  }
  return t;
}

/** The sub-millisecond part of an RFC 3339 timestamp, in ms. */
export function nanosMs(ts: string): number {
  const m = /\.(\d+)Z$/.exec(ts);
  if (!m) return 0;
  const digits = m[1].padEnd(9, '0');
  return Number(digits.slice(3)) / 1e6;
}

/** Epoch ms with sub-ms fraction of an RFC 3339 timestamp, computed independently of the agent's parser. */
export function tsMs(ts: string): number {
  return Date.parse(ts.replace(/\.(\d{3})\d*Z$/, '.$1Z')) + nanosMs(ts);
}

/**
 * A synthetic TMDE pair (/task, stats generator) for tests that do not care about the fixture specifics: containers
 * with fixed CPU ns per 10 s window and fixed memory usage; `next()` returns a new sample (read advances 10 s).
 */
export function syntheticTask(opts: {
  cluster?: string;
  family?: string;
  cpu?: number;
  memory?: number;
  containers: Array<{ name: string; dockerId: string; cpuNsPerSample: number; usage: number; limitMiB?: number; startedAt?: string }>;
}): { task: any; next: (mutate?: (s: any) => void) => any; samples: () => number } {
  const startMs = Date.now() - 3_600_000;
  const task = {
    Cluster: opts.cluster ?? 'synthetic',
    TaskARN: 'arn:aws:ecs:us-east-1:123456789012:task/synthetic/0123456789abcdef',
    Family: opts.family ?? 'fam',
    Revision: '1',
    Limits: { CPU: opts.cpu ?? 1, Memory: opts.memory ?? 512 },
    Containers: opts.containers.map((c) => ({
      DockerId: c.dockerId,
      Name: c.name,
      Type: 'NORMAL',
      KnownStatus: 'RUNNING',
      Limits: c.limitMiB ? { CPU: 2, Memory: c.limitMiB } : { CPU: 2 },
      StartedAt: c.startedAt ?? isoNs(startMs),
    })),
  };
  const totals: Record<string, number> = {};
  let n = 0;
  let readMs = Date.now() - 600_000;
  const next = (mutate?: (s: any) => void) => {
    n++;
    readMs += 10_000;
    const s: any = {};
    for (const c of opts.containers) {
      const pre = totals[c.dockerId] ?? 1_000_000_000;
      const cur = pre + c.cpuNsPerSample;
      totals[c.dockerId] = cur;
      s[c.dockerId] = {
        read: isoNs(readMs),
        preread: isoNs(readMs - 10_000),
        name: c.name,
        cpu_stats: { cpu_usage: { total_usage: cur }, system_cpu_usage: 1e12 + n * 2e10, online_cpus: 2 },
        precpu_stats: { cpu_usage: { total_usage: pre }, system_cpu_usage: 1e12 + (n - 1) * 2e10, online_cpus: 2 },
        memory_stats: { usage: c.usage, limit: 9223372036854771712, stats: { inactive_file: 0 } },
      };
    }
    if (mutate) mutate(s);
    return s;
  };
  return { task, next, samples: () => n };
}
