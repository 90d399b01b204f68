// The run-outcome judgement and the Slack message, free of AWS and CDK imports: the Lambda bundles this file and
// tests call it directly. Not part of the jsii API.
import type { AgentReportData } from '../shared/agent-report';
import { smallestFargateSize } from '../shared/fargate-sizes';

/** Per-task configuration, carried in the EventBridge rule target's input next to the event's `detail`. */
export interface RunOutcomeConfig {
  /** Name of the app container, whose exit decides the outcome. */
  appContainer: string;
  /** CloudWatch namespace for Runs / FailedRuns / InterruptedRuns. */
  namespace: string;
  /** Dimension values. */
  clusterName: string;
  family: string;
  /** Log group of the task (agent REPORT and, usually, the app's log). */
  logGroupName: string;
  /** Stream prefix of the agent: stream `<prefix>/<task id>`, e.g. `agent/fargate-monitor-agent`. */
  agentStreamPrefix: string;
  /** Stream prefix of the app's awslogs stream, `app/<container>`, when it logs to the log group. */
  appStreamPrefix?: string;
  /** Task size. */
  cpu: number;
  memoryMiB: number;
  /** Headroom over the observed peaks for the right-size line, percent. */
  headroomPercent: number;
  /** Secrets Manager ARNs of the two incoming-webhook URLs; absent: no Slack message. */
  successWebhookSecretArn?: string;
  failureWebhookSecretArn?: string;
  /** Post successful runs too (else failures and interruptions only). */
  notifySuccess?: boolean;
}

/** The fields of an ECS Task State Change `detail` this handler reads. */
export interface TaskStateDetail {
  taskArn?: string;
  clusterArn?: string;
  group?: string;
  lastStatus?: string;
  stopCode?: string;
  stoppedReason?: string;
  startedAt?: string;
  executionStoppedAt?: string;
  stoppedAt?: string;
  taskDefinitionArn?: string;
  /** Who started the task (≤ 36 characters); the reliable-run state machine's tasks start with `cfm-`. */
  startedBy?: string;
  containers?: Array<{ name?: string; exitCode?: number | null; reason?: string; lastStatus?: string }>;
}

/** The agent's end-of-task REPORT line, as parsed from its log stream. */
export interface AgentReport extends AgentReportData {
  type: 'REPORT';
}

/**
 * How a run ended. TIMED_OUT (stopped at `runTimeout`) and SKIPPED (concurrencyPolicy FORBID) come only from the
 * reliable-run state machine's report, never from `judge`.
 */
export type OutcomeKind = 'SUCCEEDED' | 'FAILED' | 'FAILED_TO_START' | 'INTERRUPTED' | 'TIMED_OUT' | 'SKIPPED';

export interface Outcome {
  kind: OutcomeKind;
  /** One line: why. */
  summary: string;
  /** The app container killed out of memory. */
  oom: boolean;
  appExitCode: number | null | undefined;
  appReason?: string;
}

/** Stop codes that are not the app's failure, with what they mean. */
export const INTERRUPTION_STOP_CODES: Record<string, string> = {
  SpotInterruption: 'Fargate Spot reclaimed the capacity (Spot interruption)',
  TerminationNotice: 'AWS stopped the task after a termination notice (Spot reclaim or infrastructure maintenance)',
  UserInitiated: 'someone (or something) called StopTask',
  ServiceSchedulerInitiated: 'the ECS service scheduler stopped the task',
  InfrastructureHealth: 'AWS stopped the task because of an infrastructure health problem',
};

const OOM = /^outofmemoryerror/i;

/** `stoppedReason` of a task that never started, in events from before stop codes existed (no `stopCode`). */
const FAILED_TO_START_REASON = /^task failed to start/i;

/**
 * Judges a STOPPED task by its app container, in this order: failed to start (stop code TaskFailedToStart, or, in
 * older events without a stop code, `stoppedReason` "Task failed to start" and no `startedAt`); the app killed out of
 * memory (failed, whatever the stop code); stopped from outside (an interruption stop code: interrupted, even when the
 * app then exited 0 on SIGTERM: the run did not complete); the app exited 0 on its own (success, whatever sidecars
 * did); the app exited non-zero or without an exit code (failure).
 */
export function judge(detail: TaskStateDetail, appContainer: string): Outcome {
  const app = (detail.containers ?? []).find((c) => c && c.name === appContainer);
  const exit = app?.exitCode;
  const appReason = typeof app?.reason === 'string' && app.reason ? app.reason : undefined;
  const base = { appExitCode: exit, appReason };
  const oldFailedToStart = !detail.stopCode && !detail.startedAt && FAILED_TO_START_REASON.test(detail.stoppedReason ?? '');
  if (detail.stopCode === 'TaskFailedToStart' || oldFailedToStart) {
    return { ...base, kind: 'FAILED_TO_START', oom: false, summary: `The task failed to start: ${detail.stoppedReason ?? 'no reason given'}` };
  }
  if (appReason && OOM.test(appReason)) {
    return { ...base, kind: 'FAILED', oom: true, summary: `The app container "${appContainer}" was killed OUT OF MEMORY (${appReason})` };
  }
  const interruption = detail.stopCode ? INTERRUPTION_STOP_CODES[detail.stopCode] : undefined;
  if (interruption) {
    const after = exit === 0 ? '; the app then exited 0, but the run did not complete' : '';
    return { ...base, kind: 'INTERRUPTED', oom: false, summary: `Interrupted, not the app's failure: ${interruption} (${detail.stopCode})${after}` };
  }
  if (exit === 0) return { ...base, kind: 'SUCCEEDED', oom: false, summary: `The app container "${appContainer}" exited 0` };
  if (!app) {
    return { ...base, kind: 'FAILED', oom: false, summary: `The app container "${appContainer}" is not in the stopped task's containers` };
  }
  if (typeof exit === 'number') {
    return { ...base, kind: 'FAILED', oom: false, summary: `The app container "${appContainer}" exited ${exit}${exit === 137 ? ' (SIGKILL)' : exit === 143 ? ' (SIGTERM)' : ''}` };
  }
  return { ...base, kind: 'FAILED', oom: false, summary: `The app container "${appContainer}" has no exit code (stop code ${detail.stopCode ?? 'none'})` };
}

/** Whether the task ever ran: it did not fail to start and has a `startedAt`. Only then can it have logs and a REPORT. */
export function taskStarted(detail: TaskStateDetail, outcome: Outcome): boolean {
  return outcome.kind !== 'FAILED_TO_START' && !!detail.startedAt;
}

/** Run time in seconds, `startedAt` → `executionStoppedAt` (else `stoppedAt`); never negative; undefined when not started. */
export function runDurationSeconds(detail: TaskStateDetail): number | undefined {
  const start = Date.parse(detail.startedAt ?? '');
  const end = Date.parse(detail.executionStoppedAt ?? detail.stoppedAt ?? '');
  if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
  return Math.max(0, (end - start) / 1000);
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h ? `${h} h ${m} min ${r} s` : m ? `${m} min ${r} s` : `${r} s`;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The agent's REPORT from one log message (`REPORT {...}` or the bare JSON), or undefined when the message is none.
 * Figures that are not finite numbers become null, so nothing but numbers from a REPORT reaches a message.
 */
export function parseReportLine(message: string | undefined): AgentReport | undefined {
  if (!message || !message.includes('"REPORT"')) return undefined;
  const start = message.indexOf('{');
  if (start < 0) return undefined;
  let parsed: any;
  try {
    parsed = JSON.parse(message.slice(start));
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || parsed.type !== 'REPORT') return undefined;
  const n = (v: unknown) => (isNumber(v) ? v : null);
  // An agent before the task-level fields reported the task's peak against the task's memory in the app fields.
  const legacy = !('memoryLimitScope' in parsed);
  return {
    type: 'REPORT',
    taskArn: typeof parsed.taskArn === 'string' ? parsed.taskArn : null,
    appContainer: typeof parsed.appContainer === 'string' ? parsed.appContainer : null,
    appExitCode: n(parsed.appExitCode),
    appRunningAtShutdown: typeof parsed.appRunningAtShutdown === 'boolean' ? parsed.appRunningAtShutdown : null,
    durationSeconds: n(parsed.durationSeconds),
    maxMemoryUsedMiB: n(parsed.maxMemoryUsedMiB),
    memoryLimitMiB: n(parsed.memoryLimitMiB),
    memoryLimitScope: parsed.memoryLimitScope === 'container' || parsed.memoryLimitScope === 'task' ? parsed.memoryLimitScope : legacy ? 'task' : null,
    maxMemoryUtilizationPercent: n(parsed.maxMemoryUtilizationPercent),
    taskMaxMemoryUsedMiB: n(legacy ? parsed.maxMemoryUsedMiB : parsed.taskMaxMemoryUsedMiB),
    taskMemoryMiB: n(legacy ? parsed.memoryLimitMiB : parsed.taskMemoryMiB),
    taskMaxMemoryUtilizationPercent: n(legacy ? parsed.maxMemoryUtilizationPercent : parsed.taskMaxMemoryUtilizationPercent),
    cpuAverageUtilizationPercent: n(parsed.cpuAverageUtilizationPercent),
    cpuMaxUtilizationPercent: n(parsed.cpuMaxUtilizationPercent),
    samples: isNumber(parsed.samples) ? parsed.samples : 0,
    memorySource: parsed.memorySource === 'procfs' ? 'procfs' : 'tmde',
    taskMemorySource: (legacy ? parsed.memorySource : parsed.taskMemorySource) === 'procfs' ? 'procfs' : 'tmde',
  };
}

/** A peak against a limit: MiB, MiB, percent (0.1); peak null when unknown. */
interface MemoryPeak { peak: number | null; limit: number; percent: number | null }

const percent1 = (peak: number | null, limit: number) => (peak !== null && limit > 0 ? Math.round((1000 * peak) / limit) / 10 : null);

/**
 * The app container's peak against the limit that kills it: its hard limit (the REPORT's `memoryLimitMiB`,
 * `memoryLimitScope` "container"), else the task's memory; `hardLimit` says which.
 */
function appMemory(report: AgentReport, cfg: RunOutcomeConfig): MemoryPeak & { hardLimit: boolean } {
  const peak = isNumber(report.maxMemoryUsedMiB) ? report.maxMemoryUsedMiB : null;
  const limit = isNumber(report.memoryLimitMiB) && report.memoryLimitMiB > 0 ? report.memoryLimitMiB : taskMemory(report, cfg).limit;
  return { peak, limit, percent: percent1(peak, limit), hardLimit: report.memoryLimitScope === 'container' };
}

/** The task's peak (all containers) against the task's memory: what sizes the task. */
function taskMemory(report: AgentReport, cfg: RunOutcomeConfig): MemoryPeak {
  const peak = isNumber(report.taskMaxMemoryUsedMiB) ? report.taskMaxMemoryUsedMiB : null;
  const limit = isNumber(report.taskMemoryMiB) && report.taskMemoryMiB > 0 ? report.taskMemoryMiB : cfg.memoryMiB;
  return { peak, limit, percent: percent1(peak, limit) };
}

const sizeText = (s: { cpu: number; memoryMiB: number }) => `${s.cpu} CPU units / ${s.memoryMiB} MiB`;
const sameSize = (a?: { cpu: number; memoryMiB: number }, b?: { cpu: number; memoryMiB: number }) =>
  !!a && !!b && a.cpu === b.cpu && a.memoryMiB === b.memoryMiB;

/**
 * The right-size line for a run's peaks (plain text, numbers only): the cheapest valid Fargate size that holds the
 * peak CPU (percent of the task's CPU units) and the task's peak memory (MiB) with `headroomPercent`, and which of the
 * two decides it. With an app container hard limit, the task memory must also hold the app's peak with the headroom
 * plus what the task keeps beside that limit. "At its limit" names the app container's hard limit (≥ 90 %) and the
 * task's memory (≥ 90 %). Undefined when the REPORT lacks the CPU peak or both memory peaks.
 */
export function rightSize(report: AgentReport, cfg: RunOutcomeConfig): string | undefined {
  const app = appMemory(report, cfg);
  const task = taskMemory(report, cfg);
  const mem = task.peak ?? app.peak;
  const cpuPct = report.cpuMaxUtilizationPercent;
  if (!isNumber(mem) || !isNumber(cpuPct)) return undefined;
  const headroom = cfg.headroomPercent;
  const factor = 1 + headroom / 100;
  const cpuUsed = (cpuPct / 100) * cfg.cpu;
  const needCpu = cpuUsed * factor;
  // With a hard limit, the app's peak with the headroom plus the memory the task keeps beside the app's limit.
  const needApp = app.hardLimit && app.peak !== null ? app.peak * factor + Math.max(0, task.limit - app.limit) : 0;
  const needMem = Math.max(mem * factor, needApp);
  const best = smallestFargateSize(needCpu, needMem);
  // Which peak decides the size: the one whose needs alone already lead to it.
  const forCpu = smallestFargateSize(needCpu, 0);
  const forMem = smallestFargateSize(0, needMem);
  const cpuDrives = `CPU drives the size: its peak of ${Math.round(cpuUsed)} CPU units needs ${Math.ceil(needCpu)} CPU units with the headroom`;
  const memDrives = needApp > mem * factor
    ? `memory drives the size: the app container's peak of ${app.peak} MiB needs ${Math.ceil(needMem)} MiB of task memory with the headroom (its hard limit raised to match)`
    : `memory drives the size: the task's peak of ${mem} MiB needs ${Math.ceil(needMem)} MiB with the headroom`;
  let driver: string | undefined;
  if (!best) {
    driver = !forCpu && !forMem ? `${cpuDrives}, and ${memDrives}` : !forCpu ? cpuDrives : !forMem ? memDrives
      : `CPU (${Math.ceil(needCpu)} CPU units) and memory (${Math.ceil(needMem)} MiB) together fit no size`;
  } else if (sameSize(best, forCpu) && sameSize(best, forMem)) {
    driver = undefined; // the smallest size holds both
  } else if (sameSize(best, forCpu)) {
    driver = cpuDrives;
  } else if (sameSize(best, forMem)) {
    driver = memDrives;
  } else {
    driver = `CPU (${Math.ceil(needCpu)} CPU units) and memory (${Math.ceil(needMem)} MiB) together drive the size`;
  }
  const current = sizeText({ cpu: cfg.cpu, memoryMiB: cfg.memoryMiB });
  const suggestion = best ? sizeText(best) : 'more than the largest Fargate size';
  const why = driver ? `; ${driver}` : '';
  const atLimit: string[] = [];
  if (app.hardLimit && app.percent !== null && app.percent >= 90) {
    atLimit.push(`the app container's memory peaked at ${app.percent.toFixed(0)} % of its ${app.limit} MiB hard limit`);
  }
  const taskPct = (100 * mem) / task.limit;
  if (taskPct >= 90) atLimit.push(`the task's memory peaked at ${taskPct.toFixed(0)} % of its ${task.limit} MiB`);
  if (cpuPct >= 90) atLimit.push(`CPU peaked at ${cpuPct.toFixed(0)} % of its ${cfg.cpu} CPU units`);
  if (atLimit.length) return `At its limit: ${atLimit.join(' and ')}. With ${headroom} % headroom it needs ${suggestion} (now ${current})${why}.`;
  if (sameSize(best, { cpu: cfg.cpu, memoryMiB: cfg.memoryMiB })) {
    return `Right-sized: ${current} is the smallest Fargate size that holds the peaks with ${headroom} % headroom.`;
  }
  return `Right-size: ${suggestion} would hold the peaks (CPU ${cpuPct} %, ${mem} MiB) with ${headroom} % headroom (now ${current})${why}.`;
}

/**
 * The one JSON line the handler logs per task stop (`RUN_OUTCOME`, version 1) for CloudWatch Logs Insights: every
 * field is present, null when unknown. Percentages are of the task's CPU units or of the memory limit; MiB; seconds.
 * `peakMemoryMiB` / `memoryLimitMiB` / `peakMemoryPercent` are the APP CONTAINER's peak against the limit that kills
 * it (its hard limit when set, else the task's memory); `taskPeakMemoryMiB` / `taskPeakMemoryPercent` are the task's
 * peak (all containers) against the task's memory, for sizing.
 */
export interface RunOutcomeRecord {
  type: 'RUN_OUTCOME';
  version: 1;
  family: string;
  clusterName: string;
  taskArn: string;
  taskId: string;
  outcome: OutcomeKind;
  oom: boolean;
  appExitCode: number | null;
  stopCode: string | null;
  summary: string;
  startedAt: string | null;
  stoppedAt: string | null;
  durationSeconds: number | null;
  cpu: number;
  memoryMiB: number;
  peakMemoryMiB: number | null;
  memoryLimitMiB: number | null;
  peakMemoryPercent: number | null;
  taskPeakMemoryMiB: number | null;
  taskPeakMemoryPercent: number | null;
  cpuAverageUtilizationPercent: number | null;
  cpuMaxUtilizationPercent: number | null;
  rightSize: string | null;
}

/**
 * The RUN_OUTCOME record of a judged task stop. Without a REPORT (the task never started, or the REPORT did not reach
 * CloudWatch Logs in time) the peak fields and `rightSize` are null.
 */
export function runOutcomeRecord(detail: TaskStateDetail, outcome: Outcome, cfg: RunOutcomeConfig,
  report: AgentReport | undefined): RunOutcomeRecord {
  const taskArn = detail.taskArn ?? '';
  const str = (v: unknown) => (typeof v === 'string' && v ? v : null);
  const app = report ? appMemory(report, cfg) : undefined;
  const task = report ? taskMemory(report, cfg) : undefined;
  return {
    type: 'RUN_OUTCOME',
    version: 1,
    family: cfg.family,
    clusterName: cfg.clusterName,
    taskArn,
    taskId: taskArn.split('/').pop() ?? '',
    outcome: outcome.kind,
    oom: outcome.oom,
    appExitCode: isNumber(outcome.appExitCode) ? outcome.appExitCode : null,
    stopCode: str(detail.stopCode),
    summary: outcome.summary,
    startedAt: str(detail.startedAt),
    stoppedAt: str(detail.stoppedAt),
    durationSeconds: runDurationSeconds(detail) ?? null,
    cpu: cfg.cpu,
    memoryMiB: cfg.memoryMiB,
    peakMemoryMiB: app?.peak ?? null,
    memoryLimitMiB: app?.limit ?? null,
    peakMemoryPercent: app?.percent ?? null,
    taskPeakMemoryMiB: task?.peak ?? null,
    taskPeakMemoryPercent: task?.percent ?? null,
    cpuAverageUtilizationPercent: report && isNumber(report.cpuAverageUtilizationPercent) ? report.cpuAverageUtilizationPercent : null,
    cpuMaxUtilizationPercent: report && isNumber(report.cpuMaxUtilizationPercent) ? report.cpuMaxUtilizationPercent : null,
    rightSize: (report && rightSize(report, cfg)) ?? null,
  };
}

/** A Slack message (incoming webhook payload). */
export interface SlackMessage {
  text: string;
  attachments: Array<{ color: string; fallback: string; blocks: object[] }>;
}

const COLORS: Record<OutcomeKind, string> = {
  SUCCEEDED: '#2eb67d', FAILED: '#e01e5a', FAILED_TO_START: '#e01e5a', INTERRUPTED: '#ecb22e', TIMED_OUT: '#e01e5a', SKIPPED: '#ecb22e',
};
const TITLES: Record<OutcomeKind, string> = {
  SUCCEEDED: ':white_check_mark: Succeeded',
  FAILED: ':x: FAILED',
  FAILED_TO_START: ':x: FAILED TO START',
  INTERRUPTED: ':warning: Interrupted',
  TIMED_OUT: ':x: TIMED OUT',
  SKIPPED: ':fast_forward: Skipped',
};

/**
 * Text from an event or a REPORT made safe for Slack mrkdwn (Slack, "Formatting text for app surfaces", escaping
 * text): `&`, `<` and `>` become `&amp;`, `&lt;` and `&gt;`, so `<!channel>` or `<https://…|label>` in a stopped
 * reason can neither notify anyone nor make a link.
 */
export function escapeMrkdwn(value: unknown): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts `s` to at most `max` characters (ending in "…"), never inside an `&amp;`/`&lt;`/`&gt;` entity or a surrogate pair. */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max - 1;
  const amp = s.lastIndexOf('&', cut - 1);
  if (amp >= 0 && amp > cut - 5) {
    const entity = /^&(amp|lt|gt);/.exec(s.slice(amp, amp + 5));
    if (entity && amp + entity[0].length > cut) cut = amp;
  }
  const code = s.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${s.slice(0, cut)}…`;
}

function consoleLogUrl(region: string, group: string, stream: string): string {
  const enc = (s: string) => encodeURIComponent(encodeURIComponent(s)).replace(/%/g, '$');
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${enc(group)}/log-events/${enc(stream)}`;
}

const exitText = (code: unknown) => (code === undefined || code === null ? 'none' : escapeMrkdwn(code));

/**
 * The Block Kit message for one stopped task (within Slack's limits: header ≤ 150, text ≤ 3,000, ≤ 10 fields). Every
 * value from the event or the REPORT is escaped for mrkdwn before it is clipped. A task that never started gets
 * neither a resources section nor links to log streams that cannot exist.
 */
export function buildMessage(detail: TaskStateDetail, outcome: Outcome, cfg: RunOutcomeConfig,
  report: AgentReport | undefined, reportNote: string | undefined, attemptLines?: string[]): SlackMessage {
  const e = escapeMrkdwn;
  const taskArn = detail.taskArn ?? '';
  const taskId = taskArn.split('/').pop() ?? '';
  const region = taskArn.split(':')[3] ?? '';
  const clusterName = (detail.clusterArn ?? '').split('/').pop() || cfg.clusterName;
  const started = taskStarted(detail, outcome);
  const title = `${TITLES[outcome.kind]}: ${cfg.family}`;
  const duration = runDurationSeconds(detail);
  const fields: object[] = [
    { type: 'mrkdwn', text: clip(`*Task family*\n${e(cfg.family)}`, 900) },
    { type: 'mrkdwn', text: clip(`*Cluster*\n${e(clusterName)}`, 900) },
    { type: 'mrkdwn', text: `*Run time*\n${duration === undefined ? 'never started' : formatDuration(duration)}` },
    { type: 'mrkdwn', text: clip(`*Stop code*\n${detail.stopCode ? e(detail.stopCode) : 'none'}`, 900) },
    { type: 'mrkdwn', text: clip(`*App exit code*\n${exitText(outcome.appExitCode)}`, 900) },
  ];
  const lines: string[] = [`*${e(outcome.summary)}*`];
  if (outcome.oom) lines.push(':rotating_light: *OUT OF MEMORY*: the app needs more memory than its limit, or leaks.');
  if (detail.stoppedReason) lines.push(`Stopped reason: ${e(detail.stoppedReason)}`);
  if (outcome.appReason && !outcome.oom) lines.push(`App container reason: ${e(outcome.appReason)}`);
  const blocks: object[] = [
    // plain_text: Slack shows it as is (no mentions, no links); the family is the task definition's, not the event's.
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } },
    { type: 'section', fields },
  ];
  if (attemptLines && attemptLines.length) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Attempts*\n${attemptLines.map((l) => e(l)).join('\n')}`, 3000) } });
  }
  const others = (detail.containers ?? []).filter((c) => c && c.name !== cfg.appContainer);
  if (others.length) {
    const text = others.map((c) => `• ${e(c.name ?? '?')}: exit ${exitText(c.exitCode)}${c.reason ? ` (${e(c.reason)})` : ''}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Other containers* (not judged)\n${text}`, 3000) } });
  }
  if (started) {
    let res: string;
    if (report) {
      const app = appMemory(report, cfg);
      const task = taskMemory(report, cfg);
      const of = (m: MemoryPeak) => `${m.peak} MiB (${((100 * m.peak!) / m.limit).toFixed(1)} %`;
      const appText = app.peak === null ? 'unknown'
        : app.hardLimit ? `${of(app)} of its ${app.limit} MiB hard limit)` : `${of(app)} of the task's ${app.limit} MiB: no hard limit)`;
      const taskText = task.peak === null ? 'unknown' : `${of(task)} of ${task.limit} MiB task memory)`;
      const memText = `app container ${appText}\nTask peak memory: ${taskText}`;
      const cpuText = isNumber(report.cpuMaxUtilizationPercent)
        ? `average ${isNumber(report.cpuAverageUtilizationPercent) ? report.cpuAverageUtilizationPercent : '?'} %, peak ${report.cpuMaxUtilizationPercent} % of ${cfg.cpu / 1024} vCPU`
        : 'unknown';
      const samples = isNumber(report.samples) ? report.samples : 0;
      res = `*This run's resources* (agent REPORT, ${samples} ${samples === 1 ? 'sample' : 'samples'})\nPeak memory: ${memText}\nCPU: ${cpuText}`;
      if (report.appRunningAtShutdown === true) res += '\n_The agent stopped while the app was still running: the figures end there._';
      const line = rightSize(report, cfg);
      if (line) res += `\n${line}`;
    } else {
      res = `*This run's resources*: ${e(reportNote ?? 'REPORT missing: the handler did not look for it')}`;
    }
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(res, 3000) } });
  }
  const links: string[] = [];
  if (region && taskId) {
    const r = encodeURIComponent(region);
    links.push(`<https://${r}.console.aws.amazon.com/ecs/v2/clusters/${encodeURIComponent(clusterName)}/tasks/${encodeURIComponent(taskId)}/configuration?region=${r}|Task ${e(taskId)}>`);
    if (started) {
      if (cfg.appStreamPrefix) links.push(`<${consoleLogUrl(r, cfg.logGroupName, `${cfg.appStreamPrefix}/${taskId}`)}|App log>`);
      links.push(`<${consoleLogUrl(r, cfg.logGroupName, `${cfg.agentStreamPrefix}/${taskId}`)}|Agent log>`);
    }
  }
  if (links.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(links.join('  |  '), 3000) }] });
  const text = clip(`${e(title)} on ${e(clusterName)}: ${e(outcome.summary)}`, 3000);
  return { text, attachments: [{ color: COLORS[outcome.kind], fallback: text, blocks }] };
}
