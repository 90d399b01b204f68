/**
 * Pure functions over parsed TMDE payloads (REFERENCE.md §1–2). No I/O, no clock: everything is testable
 * against the recorded fixtures.
 */
import type { ContainerStats, CpuStats, MemoryStats, TmdeContainer, TmdeTask } from './types';

/** `memory_stats.limit` at or above this means "no container limit" (the real value ≈ 2^63 is not exact in JS). */
export const NO_LIMIT_THRESHOLD = 2 ** 62;
export const BYTES_PER_MIB = 1048576;

const TS_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/;

/**
 * Parses an RFC 3339 timestamp with up to nanosecond fraction into epoch milliseconds (fractional).
 * Returns undefined for anything unparsable or before 1970 (`0001-01-01T00:00:00Z` marks "no previous read").
 */
export function parseTimestampMs(value: unknown): number | undefined {
  const p = parseTimestampParts(value);
  return p ? p[0] + p[1] : undefined;
}

/** [whole epoch ms, sub-ms fraction in ms] — kept apart so differences keep nanosecond precision. */
function parseTimestampParts(value: unknown): [number, number] | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TS_RE.exec(value.trim());
  if (!m) return undefined;
  const digits = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const whole = Date.parse(`${m[1]}.${digits.slice(0, 3)}${m[3]}`);
  if (!Number.isFinite(whole) || whole <= 0) return undefined;
  return [whole, Number(digits.slice(3)) / 1e6];
}

/** `b − a` in ms at nanosecond precision; undefined when either does not parse. */
export function timestampDiffMs(a: unknown, b: unknown): number | undefined {
  const pa = parseTimestampParts(a);
  const pb = parseTimestampParts(b);
  if (!pa || !pb) return undefined;
  return (pb[0] - pa[0]) + (pb[1] - pa[1]);
}

export function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A usable stats entry: an object with cpu or memory stats (not `null`, not `{}`). */
export function isStatsEntry(v: unknown): v is ContainerStats {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const s = v as ContainerStats;
  return (!!s.cpu_stats && typeof s.cpu_stats === 'object') || (!!s.memory_stats && typeof s.memory_stats === 'object');
}

/** The pause container ECS injects in awsvpc tasks. */
export function isPauseContainer(c: TmdeContainer): boolean {
  return c.Type === 'CNI_PAUSE' || c.Name === '~internal~ecs~pause';
}

/** `arn:aws:ecs:r:a:cluster/NAME` → `NAME`; anything else is returned as is. */
export function clusterName(cluster: unknown): string | undefined {
  if (typeof cluster !== 'string' || cluster === '') return undefined;
  const i = cluster.indexOf(':cluster/');
  if (cluster.startsWith('arn:') && i >= 0) return cluster.slice(i + ':cluster/'.length) || undefined;
  return cluster;
}

/** Region from a task or cluster ARN (`arn:aws:ecs:REGION:...`). */
export function regionFromArn(arn: unknown): string | undefined {
  if (typeof arn !== 'string') return undefined;
  const parts = arn.split(':');
  return parts.length > 4 && parts[0] === 'arn' && /^[a-z0-9-]+$/.test(parts[3]) ? parts[3] : undefined;
}

/**
 * Memory in use in bytes (Docker ≥ 20.10 `docker stats`): `usage − total_inactive_file` (cgroup v1) or
 * `usage − inactive_file` (cgroup v2), subtracted only when smaller than `usage`. Windows stats (no `stats`
 * block) use `privateworkingset`, as `docker stats` does on Windows.
 */
export function memoryWorkingSetBytes(mem: MemoryStats | undefined): number | undefined {
  if (!mem || typeof mem !== 'object') return undefined;
  const usage = mem.usage;
  const stats = mem.stats && typeof mem.stats === 'object' ? mem.stats : undefined;
  if (!stats && isFiniteNumber(mem.privateworkingset) && mem.privateworkingset >= 0) return mem.privateworkingset;
  if (!isFiniteNumber(usage) || usage < 0) return undefined;
  if (!stats) return usage;
  // cgroup v1 reports both inactive_file (this cgroup) and total_inactive_file (hierarchy): docker uses the total.
  const inactive = 'total_inactive_file' in stats ? stats.total_inactive_file : stats.inactive_file;
  if (isFiniteNumber(inactive) && inactive >= 0 && inactive < usage) return usage - inactive;
  return usage;
}

/** The container's own memory limit in bytes from `memory_stats.limit`, or undefined when unlimited/absent. */
export function statsMemoryLimitBytes(mem: MemoryStats | undefined): number | undefined {
  const l = mem?.limit;
  return isFiniteNumber(l) && l > 0 && l < NO_LIMIT_THRESHOLD ? l : undefined;
}

export type CpuResult =
  | { kind: 'ok'; cores: number; method: 'preread' | 'history' | 'docker' }
  | { kind: 'reset' }
  | { kind: 'none' };

function totalUsage(c: CpuStats | undefined): number | undefined {
  const v = c?.cpu_usage?.total_usage;
  return isFiniteNumber(v) && v >= 0 ? v : undefined;
}

function coresOver(deltaCpuNs: number, deltaMs: number): CpuResult {
  if (deltaCpuNs < 0) return { kind: 'reset' };
  if (!(deltaMs > 0)) return { kind: 'none' };
  const cores = deltaCpuNs / (deltaMs * 1e6);
  return Number.isFinite(cores) ? { kind: 'ok', cores, method: 'preread' } : { kind: 'none' };
}

/**
 * CPU cores used within one stats entry: Δtotal_usage (ns) between `precpu_stats` and `cpu_stats` over
 * `read − preread`. The pair is valid only when both timestamps parse (preread is not 0001-01-01) and
 * precpu carries a non-zero counter (a first read has precpu all zero).
 */
export function cpuCoresWithinSample(s: ContainerStats): CpuResult {
  const cur = totalUsage(s.cpu_stats);
  const pre = totalUsage(s.precpu_stats);
  const dt = timestampDiffMs(s.preread, s.read);
  if (cur === undefined || pre === undefined || pre === 0 || dt === undefined) return { kind: 'none' };
  return coresOver(cur - pre, dt);
}

/** CPU cores between two entries of the same container with distinct `read`s (`prev` older). */
export function cpuCoresBetween(prev: ContainerStats, cur: ContainerStats): CpuResult {
  const a = totalUsage(prev.cpu_stats);
  const b = totalUsage(cur.cpu_stats);
  const dt = timestampDiffMs(prev.read, cur.read);
  if (a === undefined || b === undefined || dt === undefined || dt <= 0) return { kind: 'none' };
  const r = coresOver(b - a, dt);
  return r.kind === 'ok' ? { ...r, method: 'history' } : r;
}

/**
 * The `docker stats` formula, used only without usable `read`/`preread`: cores = Δcpu / Δsystem × online_cpus,
 * and only when Δsystem > 0 and 0 ≤ Δcpu ≤ Δsystem.
 */
export function cpuCoresDocker(s: ContainerStats): CpuResult {
  const cur = totalUsage(s.cpu_stats);
  const pre = totalUsage(s.precpu_stats);
  const sys = s.cpu_stats?.system_cpu_usage;
  const presys = s.precpu_stats?.system_cpu_usage;
  const online = s.cpu_stats?.online_cpus;
  if (cur === undefined || pre === undefined || pre === 0 || !isFiniteNumber(sys) || !isFiniteNumber(presys)) return { kind: 'none' };
  if (!isFiniteNumber(online) || online <= 0) return { kind: 'none' };
  const dcpu = cur - pre;
  const dsys = sys - presys;
  if (dcpu < 0) return { kind: 'reset' };
  if (!(dsys > 0) || dcpu > dsys) return { kind: 'none' };
  return { kind: 'ok', cores: (dcpu / dsys) * online, method: 'docker' };
}

/**
 * Cores for a new entry, best method first: the entry's own precpu pair, else the previous distinct entry we
 * kept, else the Docker formula. A negative Δ from the first applicable method is a counter reset.
 */
export function cpuCores(cur: ContainerStats, prev?: ContainerStats): CpuResult {
  const own = cpuCoresWithinSample(cur);
  if (own.kind !== 'none') return own;
  if (prev) {
    const h = cpuCoresBetween(prev, cur);
    if (h.kind !== 'none') return h;
  }
  if (parseTimestampMs(cur.read) === undefined || parseTimestampMs(cur.preread) === undefined) return cpuCoresDocker(cur);
  return { kind: 'none' };
}

/** Percent of the task's vCPU (`Limits.CPU`) for a number of cores; undefined when the task limit is unknown. */
export function cpuPercentOfTask(cores: number, vcpu: number | undefined): number | undefined {
  if (!isFiniteNumber(vcpu) || vcpu <= 0 || !isFiniteNumber(cores)) return undefined;
  const p = (100 * cores) / vcpu;
  return Number.isFinite(p) ? p : undefined;
}

/** Memory limit in MiB a container is measured against: its own `Limits.Memory`, else the task's. */
export function containerMemoryLimitMiB(c: TmdeContainer | undefined, task: TmdeTask | undefined): number | undefined {
  const own = c?.Limits?.Memory;
  if (isFiniteNumber(own) && own > 0) return own;
  const t = task?.Limits?.Memory;
  return isFiniteNumber(t) && t > 0 ? t : undefined;
}

export function taskVcpu(task: TmdeTask | undefined): number | undefined {
  const v = task?.Limits?.CPU;
  return isFiniteNumber(v) && v > 0 ? v : undefined;
}

export function taskMemoryMiB(task: TmdeTask | undefined): number | undefined {
  const v = task?.Limits?.Memory;
  return isFiniteNumber(v) && v > 0 ? v : undefined;
}

export function percentOf(value: number | undefined, limit: number | undefined): number | undefined {
  if (!isFiniteNumber(value) || !isFiniteNumber(limit) || limit <= 0) return undefined;
  const p = (100 * value) / limit;
  return Number.isFinite(p) ? p : undefined;
}

/**
 * The app container: the named one if given and present, else the first container that is neither the agent
 * itself nor the pause container.
 */
export function findAppContainer(task: TmdeTask | undefined, appName: string | undefined, selfName: string | undefined): TmdeContainer | undefined {
  const containers = Array.isArray(task?.Containers) ? task!.Containers : [];
  if (appName) return containers.find((c) => c && c.Name === appName);
  return containers.find((c) => c && !isPauseContainer(c) && c.Name !== selfName);
}

/** Seconds between two RFC 3339 timestamps (or epoch ms), undefined when either is unknown or the span is negative. */
export function secondsBetween(fromMs: number | undefined, toMs: number | undefined): number | undefined {
  if (!isFiniteNumber(fromMs) || !isFiniteNumber(toMs) || toMs < fromMs) return undefined;
  return (toMs - fromMs) / 1000;
}
