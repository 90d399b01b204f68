/**
 * Turns successive (`/task`, `/task/stats`) payloads into metric datums. Keeps per-container state (last `read`,
 * last entry, last cores) to skip repeated samples and to re-baseline on counter resets. No I/O.
 */
import {
  BYTES_PER_MIB, clusterName, containerMemoryLimitMiB, cpuCores, cpuPercentOfTask, findAppContainer,
  isFiniteNumber, isPauseContainer, isStatsEntry, memoryWorkingSetBytes, parseTimestampMs, percentOf,
  secondsBetween, taskMemoryMiB, taskVcpu,
} from './formulas';
import type { ContainerStats, Datum, TaskStats, TmdeContainer, TmdeTask } from './types';

export interface SamplerOptions {
  /** When set, metrics carry `ServiceName` instead of `TaskDefinitionFamily`. */
  serviceName?: string;
  appContainer?: string;
  runDuration: boolean;
  /** When false (the /proc source publishes CPU), TMDE CPU datums are not emitted but still computed for the REPORT. */
  publishCpu?: boolean;
}

export interface TaskSample {
  timestampMs: number;
  cpuPercent?: number;
  memoryMiB?: number;
  memoryPercent?: number;
  runDurationSeconds?: number;
}

export interface SampleOutput {
  task: TaskSample;
  datums: Datum[];
  /** Containers whose CPU counter went backwards (re-baselined, nothing published for that pair). */
  resets: string[];
}

interface ContainerState {
  readKey: string;
  entry: ContainerStats;
  cores?: number;
  memBytes?: number;
}

function readKey(s: ContainerStats): string {
  // Entries without a usable `read` are keyed by their counters so unchanged repeats are still skipped.
  if (typeof s.read === 'string' && parseTimestampMs(s.read) !== undefined) return s.read;
  return `#${s.cpu_stats?.cpu_usage?.total_usage}/${s.memory_stats?.usage}`;
}

export class Sampler {
  private readonly state = new Map<string, ContainerState>();
  /** The app run (DockerId|StartedAt) whose final RunDuration datum (at FinishedAt) was emitted. */
  private finalRunDurationFor?: string;

  constructor(private readonly opts: SamplerOptions) {}

  /** The /proc source takes over (false) or hands back (true) publishing CPUUtilization. */
  setPublishCpu(on: boolean): void {
    this.opts.publishCpu = on;
  }

  /** Base dimensions for task-level metrics. */
  taskDimensions(task: TmdeTask | undefined): Array<[string, string]> {
    const dims: Array<[string, string]> = [];
    const cluster = clusterName(task?.Cluster);
    if (cluster) dims.push(['ClusterName', cluster]);
    if (this.opts.serviceName) dims.push(['ServiceName', this.opts.serviceName]);
    else if (typeof task?.Family === 'string' && task.Family) dims.push(['TaskDefinitionFamily', task.Family]);
    return dims;
  }

  /** Containers that get per-container metrics: all but the pause container (the agent included). */
  monitoredContainers(task: TmdeTask | undefined): TmdeContainer[] {
    const list = Array.isArray(task?.Containers) ? task!.Containers : [];
    return list.filter((c) => c && typeof c === 'object' && typeof c.DockerId === 'string' && !isPauseContainer(c));
  }

  /**
   * Ingests one poll. Returns undefined when no container has a new `read` (a repeated sample) or nothing is usable.
   * `nowMs` is used as the timestamp only for entries that carry no parsable `read`.
   */
  ingest(task: TmdeTask | undefined, stats: TaskStats | undefined, selfName: string | undefined, nowMs: number): SampleOutput | undefined {
    if (!stats || typeof stats !== 'object') return undefined;
    const containers = this.monitoredContainers(task);
    const vcpu = taskVcpu(task);
    const taskMem = taskMemoryMiB(task);
    const baseDims = this.taskDimensions(task);
    const datums: Datum[] = [];
    const resets: string[] = [];
    let anyNew = false;
    let latestRead: number | undefined;
    let sumCores = 0;
    let coresKnown = true;
    let coresCount = 0;
    let sumMem = 0;
    let memCount = 0;
    const publishCpu = this.opts.publishCpu !== false;
    const seen = new Set<string>();

    for (const c of containers) {
      const id = c.DockerId!;
      seen.add(id);
      const entry = (stats as Record<string, unknown>)[id];
      if (!isStatsEntry(entry)) {
        // Stopped (null / {}) or not started yet (missing): forget it so a restart re-baselines.
        this.state.delete(id);
        continue;
      }
      const key = readKey(entry);
      const prev = this.state.get(id);
      const isNew = !prev || prev.readKey !== key;
      const readMs = parseTimestampMs(entry.read) ?? nowMs;
      let st: ContainerState;
      if (isNew) {
        if (parseTimestampMs(entry.read) !== undefined || isFiniteNumber(entry.memory_stats?.usage)) anyNew = true;
        const cpu = cpuCores(entry, prev?.entry);
        const memBytes = memoryWorkingSetBytes(entry.memory_stats);
        st = { readKey: key, entry, cores: cpu.kind === 'ok' ? cpu.cores : undefined, memBytes };
        if (cpu.kind === 'reset') resets.push(c.Name ?? id);
        this.state.set(id, st);
        const dims: Array<[string, string]> = [...baseDims, ['ContainerName', c.Name ?? id]];
        const cpuPct = st.cores === undefined ? undefined : cpuPercentOfTask(st.cores, vcpu);
        if (publishCpu && cpuPct !== undefined) datums.push({ name: 'CPUUtilization', unit: 'Percent', value: cpuPct, timestampMs: readMs, dimensions: dims });
        if (isFiniteNumber(memBytes)) {
          const mib = memBytes / BYTES_PER_MIB;
          datums.push({ name: 'MemoryUtilized', unit: 'Megabytes', value: mib, timestampMs: readMs, dimensions: dims });
          const pct = percentOf(mib, containerMemoryLimitMiB(c, task));
          if (pct !== undefined) datums.push({ name: 'MemoryUtilization', unit: 'Percent', value: pct, timestampMs: readMs, dimensions: dims });
        }
        if (cpu.kind !== 'ok') coresKnown = false;
      } else {
        st = prev!;
        if (st.cores === undefined) coresKnown = false;
      }
      if (latestRead === undefined || readMs > latestRead) latestRead = readMs;
      if (st.cores !== undefined) { sumCores += st.cores; coresCount++; }
      if (isFiniteNumber(st.memBytes)) { sumMem += st.memBytes; memCount++; }
    }
    for (const id of [...this.state.keys()]) if (!seen.has(id)) this.state.delete(id);

    // Not a new sample: nothing changed, or only entries with neither a `read` nor memory figures (garbage).
    if (!anyNew || latestRead === undefined) return undefined;

    const sample: TaskSample = { timestampMs: latestRead };
    if (coresKnown && coresCount > 0) {
      const pct = cpuPercentOfTask(sumCores, vcpu);
      if (pct !== undefined) {
        sample.cpuPercent = pct;
        if (publishCpu) datums.push({ name: 'CPUUtilization', unit: 'Percent', value: pct, timestampMs: latestRead, dimensions: baseDims });
      }
    }
    if (memCount > 0) {
      const mib = sumMem / BYTES_PER_MIB;
      sample.memoryMiB = mib;
      datums.push({ name: 'MemoryUtilized', unit: 'Megabytes', value: mib, timestampMs: latestRead, dimensions: baseDims });
      const pct = percentOf(mib, taskMem);
      if (pct !== undefined) {
        sample.memoryPercent = pct;
        datums.push({ name: 'MemoryUtilization', unit: 'Percent', value: pct, timestampMs: latestRead, dimensions: baseDims });
      }
    }
    const rd = this.runDurationDatum(task, stats, selfName, baseDims);
    if (rd) {
      sample.runDurationSeconds = rd.value;
      datums.push(rd);
    }
    return { task: sample, datums: datums.filter((d) => Number.isFinite(d.value) && Number.isFinite(d.timestampMs)), resets };
  }

  /**
   * The final RunDuration datum (StartedAt → FinishedAt, at FinishedAt) of an app that `/task` shows as ended, if it
   * was not emitted yet; for the shutdown, when the app's end is learned from the last `/task` read and no new
   * stats sample follows. (With no stats, a running app gets no datum.)
   */
  finalRunDuration(task: TmdeTask | undefined, selfName: string | undefined): Datum | undefined {
    return this.runDurationDatum(task, {}, selfName, this.taskDimensions(task));
  }

  /**
   * RunDuration for this sample, or undefined. While the app container runs: its `StartedAt` → its own stats `read`
   * (not another container's: after the app exits, the agent's samples go on). Once `/task` says it has ended
   * (`FinishedAt` set, or `KnownStatus` STOPPED): one last datum, `StartedAt` → `FinishedAt` timestamped at
   * `FinishedAt` (the REPORT's duration), then nothing more for that run. An app with a `null`/`{}`/missing
   * stats entry that `/task` does not yet show as stopped gets no datum (its end is not known yet).
   */
  private runDurationDatum(task: TmdeTask | undefined, stats: TaskStats, selfName: string | undefined,
    dimensions: Array<[string, string]>): Datum | undefined {
    if (!this.opts.runDuration) return undefined;
    const app = findAppContainer(task, this.opts.appContainer, selfName);
    const started = parseTimestampMs(app?.StartedAt);
    if (!app || started === undefined) return undefined;
    const datum = (value: number | undefined, timestampMs: number | undefined): Datum | undefined =>
      value === undefined || timestampMs === undefined ? undefined : { name: 'RunDuration', unit: 'Seconds', value, timestampMs, dimensions };
    const finished = parseTimestampMs(app.FinishedAt);
    if (finished !== undefined || app.KnownStatus === 'STOPPED') {
      const key = `${app.DockerId ?? app.Name}|${app.StartedAt}`;
      if (finished === undefined || this.finalRunDurationFor === key) return undefined;
      const final = datum(secondsBetween(started, finished), finished);
      if (final) this.finalRunDurationFor = key;
      return final;
    }
    const entry = typeof app.DockerId === 'string' ? (stats as Record<string, unknown>)[app.DockerId] : undefined;
    if (!isStatsEntry(entry)) return undefined;
    const read = parseTimestampMs(entry.read);
    return datum(secondsBetween(started, read), read);
  }
}
