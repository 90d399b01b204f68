/** The end-of-task REPORT: task-level figures gathered over the agent's life, printed at SIGTERM. */
import {
  BYTES_PER_MIB, containerMemoryLimitMiB, findAppContainer, isFiniteNumber, isStatsEntry, memoryWorkingSetBytes, parseTimestampMs,
  percentOf, secondsBetween, taskMemoryMiB,
} from './formulas';
import type { TaskStats, TmdeContainer, TmdeTask } from './types';
import type { AgentReportData } from '../../lib/shared/agent-report';

/** The REPORT's figures: one shape shared with the run-outcome handler that reads them (lib/shared/agent-report.ts). */
export type ReportData = AgentReportData;

export class ReportTracker {
  private task?: TmdeTask;
  private lastSampleMs?: number;
  private samples = 0;
  private cpuSum = 0;
  private cpuCount = 0;
  private cpuMax?: number;
  private memMaxTmde?: number;
  private memMaxProcfs?: number;
  private appMemMaxTmde?: number;
  private appMemMaxProcfs?: number;

  constructor(private readonly appName: string | undefined) {}

  setTask(task: TmdeTask | undefined): void {
    if (task && typeof task === 'object') this.task = task;
  }

  /**
   * A new (de-duplicated) TMDE sample: the task's memory in use (MiB) and the stats it came from, for the app
   * container's own working set.
   */
  addSample(timestampMs: number, memoryMiB: number | undefined, stats?: TaskStats, selfName?: string): void {
    this.samples++;
    if (isFiniteNumber(timestampMs) && (this.lastSampleMs === undefined || timestampMs > this.lastSampleMs)) this.lastSampleMs = timestampMs;
    this.memMaxTmde = max(this.memMaxTmde, memoryMiB);
    const app = findAppContainer(this.task, this.appName, selfName);
    const entry = typeof app?.DockerId === 'string' && stats && typeof stats === 'object' ? (stats as Record<string, unknown>)[app.DockerId] : undefined;
    if (isStatsEntry(entry)) {
      const bytes = memoryWorkingSetBytes(entry.memory_stats);
      if (isFiniteNumber(bytes)) this.appMemMaxTmde = max(this.appMemMaxTmde, bytes / BYTES_PER_MIB);
    }
  }

  /** A task-level CPU figure from the source that publishes CPU (TMDE, or /proc when enabled). */
  addCpu(percent: number | undefined): void {
    if (!isFiniteNumber(percent)) return;
    this.cpuSum += percent;
    this.cpuCount++;
    if (this.cpuMax === undefined || percent > this.cpuMax) this.cpuMax = percent;
  }

  /**
   * Resident memory from /proc (1 s), which catches peaks TMDE's 10 s samples miss: the task's (MiB) and, per
   * container, bytes by DockerId (the app container's is kept).
   */
  addProcfsMemory(memoryMiB: number | undefined, containers: ReadonlyArray<{ dockerId: string; rssBytes: number }> = [], selfName?: string): void {
    this.memMaxProcfs = max(this.memMaxProcfs, memoryMiB);
    const app = findAppContainer(this.task, this.appName, selfName);
    const own = app && containers.find((c) => c.dockerId === app.DockerId);
    if (own && isFiniteNumber(own.rssBytes)) this.appMemMaxProcfs = max(this.appMemMaxProcfs, own.rssBytes / BYTES_PER_MIB);
  }

  /** Whether the app container is running per the last `/task` read: undefined when no app container is known. */
  appRunning(selfName: string | undefined): boolean | undefined {
    return isRunning(findAppContainer(this.task, this.appName, selfName));
  }

  data(selfName: string | undefined, nowMs: number): ReportData {
    const app = findAppContainer(this.task, this.appName, selfName);
    const running = isRunning(app);
    const started = parseTimestampMs(app?.StartedAt);
    const finished = parseTimestampMs(app?.FinishedAt);
    // Still running at the agent's shutdown: the run so far, to now. Ended: to FinishedAt.
    const end = finished ?? (running ? nowMs : (this.lastSampleMs ?? nowMs));
    const duration = secondsBetween(started, end);
    const task = peakOf(this.memMaxTmde, this.memMaxProcfs);
    const appPeak = peakOf(this.appMemMaxTmde, this.appMemMaxProcfs);
    const taskMem = taskMemoryMiB(this.task);
    // The limit that kills the app container: its own hard limit when set, else the task's memory.
    const appLimit = app ? containerMemoryLimitMiB(app, this.task) : undefined;
    const own = app?.Limits?.Memory;
    const scope = appLimit === undefined ? null : isFiniteNumber(own) && own > 0 ? 'container' : 'task';
    const exit = app?.ExitCode;
    return {
      taskArn: typeof this.task?.TaskARN === 'string' ? this.task.TaskARN : null,
      appContainer: typeof app?.Name === 'string' ? app.Name : (this.appName ?? null),
      appExitCode: isFiniteNumber(exit) ? exit : null,
      appRunningAtShutdown: running ?? null,
      durationSeconds: round(duration, 3),
      maxMemoryUsedMiB: round(appPeak.value, 1),
      memoryLimitMiB: appLimit ?? null,
      memoryLimitScope: scope,
      maxMemoryUtilizationPercent: round(percentOf(appPeak.value, appLimit), 1),
      taskMaxMemoryUsedMiB: round(task.value, 1),
      taskMemoryMiB: taskMem ?? null,
      taskMaxMemoryUtilizationPercent: round(percentOf(task.value, taskMem), 1),
      cpuAverageUtilizationPercent: round(this.cpuCount > 0 ? this.cpuSum / this.cpuCount : undefined, 1),
      cpuMaxUtilizationPercent: round(this.cpuMax, 1),
      samples: this.samples,
      memorySource: appPeak.source,
      taskMemorySource: task.source,
    };
  }
}

/** Running per `/task`: no `FinishedAt` and not STOPPED; undefined when there is no app container. */
function isRunning(app: TmdeContainer | undefined): boolean | undefined {
  if (!app) return undefined;
  return parseTimestampMs(app.FinishedAt) === undefined && app.KnownStatus !== 'STOPPED';
}

function max(a: number | undefined, b: number | undefined): number | undefined {
  if (!isFiniteNumber(b)) return a;
  return a === undefined || b > a ? b : a;
}

/** The higher of the two sources' peaks, and which it was (TMDE when equal or neither). */
function peakOf(tmde: number | undefined, procfs: number | undefined): { value: number | undefined; source: 'tmde' | 'procfs' } {
  return procfs !== undefined && (tmde === undefined || procfs > tmde) ? { value: procfs, source: 'procfs' } : { value: tmde, source: 'tmde' };
}

function round(v: number | undefined, digits: number): number | null {
  if (!isFiniteNumber(v)) return null;
  const f = 10 ** digits;
  const r = Math.round(v * f) / f;
  return Number.isFinite(r) ? r : null;
}

function fixed(v: number | null, digits: number): string {
  return v === null ? '-' : v.toFixed(digits);
}

/**
 * The two REPORT lines: the tab-separated text line and the JSON line. `Max Memory Used` is the app container's peak
 * against the limit that kills it (its hard limit, else the task's memory); `Task Max Memory Used` is the task's.
 */
export function formatReport(d: ReportData): [string, string] {
  const limitName = d.memoryLimitScope === 'container' ? ' hard limit' : d.memoryLimitScope === 'task' ? ' task memory' : '';
  const mem = d.maxMemoryUsedMiB === null
    ? '-'
    : `${Math.round(d.maxMemoryUsedMiB)} MiB (${fixed(d.maxMemoryUtilizationPercent, 1)}% of ${d.memoryLimitMiB === null ? '-' : d.memoryLimitMiB} MiB${limitName})`;
  const taskMem = d.taskMaxMemoryUsedMiB === null
    ? '-'
    : `${Math.round(d.taskMaxMemoryUsedMiB)} MiB (${fixed(d.taskMaxMemoryUtilizationPercent, 1)}% of ${d.taskMemoryMiB === null ? '-' : d.taskMemoryMiB} MiB)`;
  const text = [
    `REPORT TaskArn: ${d.taskArn ?? '-'}`,
    `Duration: ${d.durationSeconds === null ? '-' : `${d.durationSeconds.toFixed(1)} s`}`,
    `App Exit Code: ${d.appExitCode === null ? '-' : d.appExitCode}`,
    ...(d.appRunningAtShutdown ? ['App: still running at agent shutdown (ECS stops the agent before the app)'] : []),
    `App Max Memory Used: ${mem}`,
    `Task Max Memory Used: ${taskMem}`,
    `CPU Average: ${d.cpuAverageUtilizationPercent === null ? '-' : `${d.cpuAverageUtilizationPercent.toFixed(1)}%`}`,
    `CPU Max: ${d.cpuMaxUtilizationPercent === null ? '-' : `${d.cpuMaxUtilizationPercent.toFixed(1)}%`}`,
    `Samples: ${d.samples}`,
  ].join('\t');
  const json = JSON.stringify({ type: 'REPORT', ...d });
  return [text, json];
}
