/** The agent loop: poll TMDE, sample, queue datums, flush on an interval, REPORT at shutdown. */
import type { Config } from './config';
import { BYTES_PER_MIB, cpuPercentOfTask, isStatsEntry, regionFromArn, taskVcpu } from './formulas';
import { Condition, errorText, log } from './log';
import { ProcfsSource } from './procfs';
import type { Publisher } from './publisher';
import { formatReport, ReportTracker } from './report';
import { Sampler } from './sampler';
import { TmdeClient } from './tmde';
import type { Datum, TaskStats, TmdeContainer, TmdeTask } from './types';

/** What the agent needs from a TMDE client (tests and the soak test inject an in-memory one). */
export interface TmdeSource {
  container(signal?: AbortSignal): Promise<TmdeContainer>;
  task(signal?: AbortSignal): Promise<TmdeTask>;
  taskStats(signal?: AbortSignal): Promise<TaskStats>;
  close(): void;
}

export interface AgentDeps {
  /** Creates the publisher once the task (and so the region) is known. */
  makePublisher: (task: TmdeTask | undefined) => Publisher;
  print: (line: string) => void;
  now?: () => number;
  tmde?: TmdeSource;
}

export class Agent {
  readonly report: ReportTracker;
  private readonly sampler: Sampler;
  private readonly tmde?: TmdeSource;
  private readonly procfs?: ProcfsSource;
  private procfsMode: 'off' | 'procfs' | 'tmde' = 'off';
  private procfsReason?: string;
  private selfDockerId?: string;
  private lastStats?: TaskStats;
  private lastStopped = '';
  private taskReadAt = 0;
  private publisher?: Publisher;
  private task?: TmdeTask;
  private selfName?: string;
  private pollTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  /** When the next periodic flush is due (monotonic ms) and when the last one started. */
  private nextFlushAt = 0;
  private lastFlushAt = 0;
  /** The latest task CPU sample is at or above FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT. */
  private fastFlush = false;
  private stopping = false;
  private polling?: Promise<void>;
  /** Monotonic ms of the last three polls that found a new /task/stats body (TMDE source: when to poll next). */
  private readonly statsChanges: number[] = [];
  private readonly statsFailures = new Condition('task metadata endpoint /task/stats unavailable');
  private readonly taskFailures = new Condition('task metadata endpoint /task unavailable');
  private readonly now: () => number;

  constructor(private readonly cfg: Config, private readonly deps: AgentDeps) {
    this.now = deps.now ?? Date.now;
    this.report = new ReportTracker(cfg.appContainer);
    this.sampler = new Sampler({
      serviceName: cfg.serviceName,
      appContainer: cfg.appContainer,
      runDuration: cfg.runDuration,
    });
    if (deps.tmde) this.tmde = deps.tmde;
    else if (cfg.metadataUri) this.tmde = new TmdeClient(cfg.metadataUri, cfg.metadataTimeoutMs);
    if (cfg.procfs && this.tmde) this.procfs = new ProcfsSource(cfg.procRoot);
  }

  get currentTask(): TmdeTask | undefined { return this.task; }
  get agentContainerName(): string | undefined { return this.selfName; }

  start(): void {
    if (!this.tmde) {
      log('warn', 'ECS_CONTAINER_METADATA_URI_V4 is not set: no metrics will be published; idling until SIGTERM');
      // Keep the event loop alive while idle.
      this.pollTimer = setInterval(() => undefined, 1_000_000_000);
      return;
    }
    log('info', 'fargate-monitor agent started', {
      namespace: this.cfg.namespace,
      publisher: this.cfg.publisher,
      pollIntervalMs: this.cfg.pollIntervalMs,
      flushIntervalMs: this.cfg.flushIntervalMs,
      procfs: this.cfg.procfs,
      fastFlushCpuPercent: this.cfg.fastFlushCpuPercent ?? null,
      fastFlushIntervalMs: this.cfg.fastFlushCpuPercent === undefined ? null : this.cfg.fastFlushIntervalMs,
    });
    if (this.procfs?.cpuSourceReason) {
      // Once: the kernel gives no per-thread nanoseconds, so 1 s CPU is counted in 10 ms clock ticks.
      log('warn', `/proc CPU falls back to clock ticks (10 ms; about ±2 points at 1 s on a 1 vCPU task): ${this.procfs.cpuSourceReason}`);
    }
    this.schedulePoll(0);
    this.lastFlushAt = monotonicMs();
    this.scheduleFlush(this.lastFlushAt + this.cfg.flushIntervalMs);
  }

  /** The interval the next flush keeps to: the fast one while the latest task CPU sample is at or above the threshold. */
  private flushIntervalMs(): number {
    return this.fastFlush ? Math.min(this.cfg.fastFlushIntervalMs, this.cfg.flushIntervalMs) : this.cfg.flushIntervalMs;
  }

  private scheduleFlush(at: number): void {
    if (this.stopping) return;
    clearTimeout(this.flushTimer);
    this.nextFlushAt = at;
    this.flushTimer = setTimeout(() => this.periodicFlush(), Math.max(0, at - monotonicMs()));
  }

  private periodicFlush(): void {
    if (this.stopping) return;
    const now = monotonicMs();
    // At the fast interval a timer that fires just before the next sample finds nothing new: it does not count as a
    // flush, so that sample goes out as soon as it is taken (see onTaskCpu) instead of one interval later.
    if (!this.fastFlush || (this.publisher?.pending() ?? 0) > 0) {
      this.lastFlushAt = now;
      void this.flush();
    }
    this.scheduleFlush(Math.max(this.lastFlushAt, now - this.flushIntervalMs() / 2) + this.flushIntervalMs());
  }

  /**
   * Adaptive flush: a task CPU sample (1 s from /proc, else the metadata endpoint's 10 s) at or above
   * FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT makes the next flush due one fast interval after the previous one (at once
   * when that has (nearly) passed, as when a sample first crosses the threshold, so each such sample goes out as soon
   * as it is taken); a sample below it puts the normal
   * interval back, counted from the previous flush. No hysteresis: every sample at or above the threshold reaches
   * CloudWatch within the fast interval either way, and samples below it cannot make a scale-out alarm breach, so
   * they wait for the normal flush (a band below the threshold would only add calls).
   */
  private onTaskCpu(percent: number): void {
    const threshold = this.cfg.fastFlushCpuPercent;
    if (threshold === undefined || this.stopping || !this.flushTimer) return;
    const fast = percent >= threshold;
    if (fast === this.fastFlush && !fast) return;
    this.fastFlush = fast;
    const interval = this.flushIntervalMs();
    // Samples and flushes both come about once a second: within 10 % of the interval counts as due (timer jitter).
    if (fast && monotonicMs() - this.lastFlushAt >= 0.9 * interval) {
      this.periodicFlush();
      return;
    }
    const due = this.lastFlushAt + interval;
    if (due !== this.nextFlushAt) this.scheduleFlush(due);
  }

  getPublisher(): Publisher {
    this.publisher ??= this.deps.makePublisher(this.task);
    return this.publisher;
  }

  private schedulePoll(delay: number): void {
    if (this.stopping) return;
    this.pollTimer = setTimeout(() => {
      this.polling = this.poll().catch((e) => log('error', `poll failed unexpectedly: ${errorText(e)}`));
      void this.polling.finally(() => this.schedulePoll(this.nextPollDelayMs()));
    }, delay);
  }

  /**
   * The metadata endpoint refreshes its stats every ~10 s on Fargate (1 s on EC2) and serves the same body in between:
   * with the TMDE source (no /proc), polling every second reads each sample ~10 times, and those reads were most of
   * the agent's CPU. Once the last two samples came a steady period apart (at least 3 poll intervals, within 1.5 of
   * each other), the poll after a new sample waits until 1.5 poll intervals before the next is due, then polls at the
   * normal interval until it comes: each sample is still seen within one poll interval of its refresh, with ~3 reads
   * per sample instead of ~10. Anything irregular (a failed read, a sample late or early, an EC2-like 1 s refresh)
   * polls at the normal interval. With /proc on, every poll samples /proc, so the interval stays as configured.
   */
  private nextPollDelayMs(): number {
    const pi = this.cfg.pollIntervalMs;
    if (this.procfs || this.statsChanges.length < 3) return pi;
    const [a, b, c] = this.statsChanges;
    const period = Math.min(b - a, c - b);
    if (period < 3 * pi || Math.abs((b - a) - (c - b)) > 1.5 * pi) return pi;
    return Math.max(pi, c + period - 1.5 * pi - monotonicMs());
  }

  private async refreshTask(signal?: AbortSignal): Promise<void> {
    if (!this.tmde) return;
    try {
      const t = await this.tmde.task(signal);
      if (!t || typeof t !== 'object' || Array.isArray(t)) throw new Error('/task did not return a JSON object');
      this.task = t;
      this.taskReadAt = this.now();
      this.report.setTask(t);
      this.taskFailures.ok();
    } catch (e) {
      this.taskFailures.fail(errorText(e));
    }
  }

  /** One poll: stats (and /task when needed), de-duplicated on `read`. */
  async poll(signal?: AbortSignal): Promise<void> {
    if (!this.tmde) return;
    if (this.selfName === undefined) {
      try {
        const me = await this.tmde.container(signal);
        if (me && typeof me.Name === 'string') this.selfName = me.Name;
        if (me && typeof me.DockerId === 'string') this.selfDockerId = me.DockerId;
      } catch { /* the stats failure below reports the endpoint problem */ }
    }
    let stats: TaskStats;
    try {
      const s = await this.tmde.taskStats(signal);
      if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Error('/task/stats did not return a JSON object');
      stats = s;
      this.statsFailures.ok();
    } catch (e) {
      this.statsFailures.fail(errorText(e));
      if (!this.task) await this.refreshTask(signal);
      this.procfsStep();
      return;
    }
    const unchanged = stats === this.lastStats; // the TMDE client returns the same object for a byte-identical body
    this.lastStats = stats;
    if (!unchanged) {
      this.statsChanges.push(monotonicMs());
      if (this.statsChanges.length > 3) this.statsChanges.shift();
    }
    if (unchanged) {
      this.procfsStep();
      return;
    }
    // /task is re-read when it is unknown, when stats name a container it does not list (restart), when a
    // container's entry became null/{} (stopped: exit code), and at least once a minute.
    const known = new Set((this.task?.Containers ?? []).map((c) => c?.DockerId));
    const unknownIds = Object.keys(stats).some((id) => !known.has(id));
    const stopped = Object.keys(stats).filter((id) => !isStatsEntry(stats[id])).join(',');
    const due = this.now() - this.taskReadAt >= 60_000;
    if (!this.task || unknownIds || stopped !== this.lastStopped || due) await this.refreshTask(signal);
    this.lastStopped = stopped;
    // /proc first: it decides whether TMDE CPU is published for this sample.
    this.procfsStep();
    const out = this.sampler.ingest(this.task, stats, this.selfName, this.now());
    if (!out) return;
    if (out.resets.length > 0) log('info', 'CPU counter went backwards (container restart?): re-baselined', { containers: out.resets });
    this.report.addSample(out.task.timestampMs, out.task.memoryMiB, stats, this.selfName);
    if (this.procfsMode !== 'procfs') this.report.addCpu(out.task.cpuPercent);
    if (out.datums.length > 0) this.getPublisher().add(out.datums);
    if (this.procfsMode !== 'procfs' && out.task.cpuPercent !== undefined) this.onTaskCpu(out.task.cpuPercent);
  }

  /** /proc sample (when enabled): 1 s CPUUtilization and resident memory; falls back to TMDE CPU with one log line. */
  private procfsStep(): void {
    try {
      this.procfsSample();
    } catch (e) {
      log('error', `/proc sample failed: ${errorText(e)}`);
    }
  }

  private procfsSample(): void {
    if (!this.procfs || !this.task) return;
    const containers = this.sampler.monitoredContainers(this.task);
    const r = this.procfs.sample(containers.map((c) => c.DockerId!), this.selfDockerId);
    if (r.status === 'unavailable') {
      // Once per kind of reason (the process count in the text may change every poll).
      if (this.procfsMode !== 'tmde' || this.procfsReason !== r.kind) {
        log('warn', `/proc source unavailable, using the metadata endpoint for CPU: ${r.reason}`);
        this.procfsReason = r.kind;
      }
      this.procfsMode = 'tmde';
      this.sampler.setPublishCpu(true);
      return;
    }
    if (this.procfsMode !== 'procfs') {
      log('info', `/proc source active: CPUUtilization at ${this.cfg.pollIntervalMs} ms from /proc`, {
        containers: r.containers.length, processes: r.containers.reduce((a, c) => a + c.pids, 0), cpuSource: this.procfs.cpuSource,
      });
      this.procfsMode = 'procfs';
      this.procfsReason = undefined;
      this.sampler.setPublishCpu(false);
    }
    this.report.addProcfsMemory(r.taskRssBytes / BYTES_PER_MIB, r.containers, this.selfName);
    const vcpu = taskVcpu(this.task);
    if (r.taskCores === undefined || vcpu === undefined) return;
    const base = this.sampler.taskDimensions(this.task);
    const ts = r.timestampMs;
    const datums: Datum[] = [];
    const taskPct = cpuPercentOfTask(r.taskCores, vcpu);
    if (taskPct !== undefined) {
      datums.push({ name: 'CPUUtilization', unit: 'Percent', value: taskPct, timestampMs: ts, dimensions: base });
      this.report.addCpu(taskPct);
    }
    for (const c of r.containers) {
      const meta = containers.find((m) => m.DockerId === c.dockerId);
      const pct = c.cores === undefined ? undefined : cpuPercentOfTask(c.cores, vcpu);
      if (pct !== undefined) {
        datums.push({ name: 'CPUUtilization', unit: 'Percent', value: pct, timestampMs: ts, dimensions: [...base, ['ContainerName', meta?.Name ?? c.dockerId]] });
      }
    }
    if (datums.length > 0) this.getPublisher().add(datums);
    if (taskPct !== undefined) this.onTaskCpu(taskPct);
  }

  async flush(signal?: AbortSignal): Promise<void> {
    if (!this.publisher) return;
    await this.publisher.flush(signal);
  }

  /**
   * The shutdown deadline for a SIGTERM now. ECS reverses `dependsOn` at shutdown: while the app container still runs,
   * its SIGTERM waits until the agent has exited, so the agent then keeps to the shorter
   * FARGATE_MONITOR_SHUTDOWN_TIMEOUT_APP_RUNNING_MS (from the last `/task` read, which a stopped container's stats
   * entry triggers: at most a poll interval old with /proc on; with the TMDE source, whose stats are read near each
   * ~10 s refresh only (nextPollDelayMs), up to ~9 s old, so a SIGTERM in that window keeps to the shorter deadline).
   */
  shutdownTimeoutMs(): number {
    return this.appRunning() ? Math.min(this.cfg.shutdownTimeoutMs, this.cfg.shutdownTimeoutAppRunningMs) : this.cfg.shutdownTimeoutMs;
  }

  /** Whether the app container runs per the last `/task` read (undefined: unknown). */
  appRunning(): boolean | undefined {
    return this.report.appRunning(this.selfName);
  }

  /** SIGTERM: last sample, flush, REPORT — all within the shutdown deadline. Never throws. */
  async shutdown(): Promise<void> {
    await this.shutdownSteps();
    this.printReport();
  }

  /** Last sample and final flush, bounded by the shutdown deadline (default: shutdownTimeoutMs()); the caller prints the REPORT. */
  async shutdownSteps(timeoutMs: number = this.shutdownTimeoutMs()): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const t0 = this.now();
    const deadline = t0 + timeoutMs;
    clearTimeout(this.pollTimer);
    clearInterval(this.pollTimer);
    clearTimeout(this.flushTimer);
    const remaining = () => deadline - this.now();
    try {
      if (this.tmde) {
        // Let a running poll finish briefly, then take a last sample.
        if (this.polling) await withTimeout(this.polling, Math.min(1000, remaining() / 4));
        const ac = new AbortController();
        const t = setTimeout(() => ac.abort(), Math.max(100, Math.min(3000, remaining() / 3)));
        try {
          await this.poll(ac.signal);
          await this.refreshTask(ac.signal);
        } finally { clearTimeout(t); }
        // An app whose end this last /task read revealed: its final RunDuration (= the REPORT's duration) goes out too.
        const final = this.sampler.finalRunDuration(this.task, this.selfName);
        if (final) this.getPublisher().add([final]);
      }
      if (this.publisher) {
        const budget = remaining() - 500;
        if (budget > 0) {
          const ac = new AbortController();
          const t = setTimeout(() => ac.abort(), budget);
          try { await withTimeout(this.publisher.flush(ac.signal), budget + 50); } finally { clearTimeout(t); }
          if (this.publisher.pending() > 0) log('warn', `shutdown: ${this.publisher.pending()} datum(s) could not be sent`);
        }
      }
    } catch (e) {
      log('error', `shutdown: ${errorText(e)}`);
    }
    try { this.publisher?.close(); } catch { /* ignore */ }
    this.tmde?.close();
  }

  printReport(): void {
    const [text, json] = formatReport(this.report.data(this.selfName, this.now()));
    this.deps.print(text);
    this.deps.print(json);
  }

  regionHint(): string | undefined {
    return regionFromArn(this.task?.TaskARN) ?? regionFromArn(this.task?.Cluster);
  }
}

function monotonicMs(): number {
  return performance.now();
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), Math.max(0, ms));
    p.then((v) => { clearTimeout(t); resolve(v); }, () => { clearTimeout(t); resolve(undefined); });
  });
}
