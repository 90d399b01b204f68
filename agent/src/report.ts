/** The end-of-task REPORT: task-level figures gathered over the agent's life, printed at SIGTERM. */
import { findAppContainer, isFiniteNumber, parseTimestampMs, percentOf, secondsBetween, taskMemoryMiB } from './formulas';
import type { TmdeContainer, TmdeTask } from './types';
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

  constructor(private readonly appName: string | undefined) {}

  setTask(task: TmdeTask | undefined): void {
    if (task && typeof task === 'object') this.task = task;
  }

  /** A new (de-duplicated) TMDE sample. */
  addSample(timestampMs: number, memoryMiB: number | undefined): void {
    this.samples++;
    if (isFiniteNumber(timestampMs) && (this.lastSampleMs === undefined || timestampMs > this.lastSampleMs)) this.lastSampleMs = timestampMs;
    if (isFiniteNumber(memoryMiB) && (this.memMaxTmde === undefined || memoryMiB > this.memMaxTmde)) this.memMaxTmde = memoryMiB;
  }

  /** A task-level CPU figure from the source that publishes CPU (TMDE, or /proc when enabled). */
  addCpu(percent: number | undefined): void {
    if (!isFiniteNumber(percent)) return;
    this.cpuSum += percent;
    this.cpuCount++;
    if (this.cpuMax === undefined || percent > this.cpuMax) this.cpuMax = percent;
  }

  /** A task-level resident-memory figure from /proc (1 s), which catches peaks TMDE's 10 s samples miss. */
  addProcfsMemory(memoryMiB: number | undefined): void {
    if (isFiniteNumber(memoryMiB) && (this.memMaxProcfs === undefined || memoryMiB > this.memMaxProcfs)) this.memMaxProcfs = memoryMiB;
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
    const useProcfs = this.memMaxProcfs !== undefined && (this.memMaxTmde === undefined || this.memMaxProcfs > this.memMaxTmde);
    const maxMem = useProcfs ? this.memMaxProcfs : this.memMaxTmde;
    const limit = taskMemoryMiB(this.task);
    const exit = app?.ExitCode;
    return {
      taskArn: typeof this.task?.TaskARN === 'string' ? this.task.TaskARN : null,
      appContainer: typeof app?.Name === 'string' ? app.Name : (this.appName ?? null),
      appExitCode: isFiniteNumber(exit) ? exit : null,
      appRunningAtShutdown: running ?? null,
      durationSeconds: round(duration, 3),
      maxMemoryUsedMiB: round(maxMem, 1),
      memoryLimitMiB: limit ?? null,
      maxMemoryUtilizationPercent: round(percentOf(maxMem, limit), 1),
      cpuAverageUtilizationPercent: round(this.cpuCount > 0 ? this.cpuSum / this.cpuCount : undefined, 1),
      cpuMaxUtilizationPercent: round(this.cpuMax, 1),
      samples: this.samples,
      memorySource: useProcfs ? 'procfs' : 'tmde',
    };
  }
}

/** Running per `/task`: no `FinishedAt` and not STOPPED; undefined when there is no app container. */
function isRunning(app: TmdeContainer | undefined): boolean | undefined {
  if (!app) return undefined;
  return parseTimestampMs(app.FinishedAt) === undefined && app.KnownStatus !== 'STOPPED';
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

/** The two REPORT lines: the tab-separated text line and the JSON line. */
export function formatReport(d: ReportData): [string, string] {
  const mem = d.maxMemoryUsedMiB === null
    ? '-'
    : `${Math.round(d.maxMemoryUsedMiB)} MiB (${fixed(d.maxMemoryUtilizationPercent, 1)}% of ${d.memoryLimitMiB === null ? '-' : d.memoryLimitMiB} MiB)`;
  const text = [
    `REPORT TaskArn: ${d.taskArn ?? '-'}`,
    `Duration: ${d.durationSeconds === null ? '-' : `${d.durationSeconds.toFixed(1)} s`}`,
    `App Exit Code: ${d.appExitCode === null ? '-' : d.appExitCode}`,
    ...(d.appRunningAtShutdown ? ['App: still running at agent shutdown (ECS stops the agent before the app)'] : []),
    `Max Memory Used: ${mem}`,
    `CPU Average: ${d.cpuAverageUtilizationPercent === null ? '-' : `${d.cpuAverageUtilizationPercent.toFixed(1)}%`}`,
    `CPU Max: ${d.cpuMaxUtilizationPercent === null ? '-' : `${d.cpuMaxUtilizationPercent.toFixed(1)}%`}`,
    `Samples: ${d.samples}`,
  ].join('\t');
  const json = JSON.stringify({ type: 'REPORT', ...d });
  return [text, json];
}
