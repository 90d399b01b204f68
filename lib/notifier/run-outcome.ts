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
  containers?: Array<{ name?: string; exitCode?: number | null; reason?: string; lastStatus?: string }>;
}

/** The agent's end-of-task REPORT line, as parsed from its log stream. */
export interface AgentReport extends AgentReportData {
  type: 'REPORT';
}

export type OutcomeKind = 'SUCCEEDED' | 'FAILED' | 'FAILED_TO_START' | 'INTERRUPTED';

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

/**
 * Judges a STOPPED task by its app container: failed to start; the app killed out of memory; the app exited 0
 * (success, whatever sidecars did); the task stopped by AWS or a user (interrupted); the app exited non-zero or
 * without an exit code (failure).
 */
export function judge(detail: TaskStateDetail, appContainer: string): Outcome {
  const app = (detail.containers ?? []).find((c) => c && c.name === appContainer);
  const exit = app?.exitCode;
  const appReason = typeof app?.reason === 'string' && app.reason ? app.reason : undefined;
  const base = { appExitCode: exit, appReason };
  if (detail.stopCode === 'TaskFailedToStart') {
    return { ...base, kind: 'FAILED_TO_START', oom: false, summary: `The task failed to start: ${detail.stoppedReason ?? 'no reason given'}` };
  }
  if (appReason && OOM.test(appReason)) {
    return { ...base, kind: 'FAILED', oom: true, summary: `The app container "${appContainer}" was killed OUT OF MEMORY (${appReason})` };
  }
  if (exit === 0) return { ...base, kind: 'SUCCEEDED', oom: false, summary: `The app container "${appContainer}" exited 0` };
  const interruption = detail.stopCode ? INTERRUPTION_STOP_CODES[detail.stopCode] : undefined;
  if (interruption) {
    return { ...base, kind: 'INTERRUPTED', oom: false, summary: `Interrupted, not the app's failure: ${interruption} (${detail.stopCode})` };
  }
  if (!app) {
    return { ...base, kind: 'FAILED', oom: false, summary: `The app container "${appContainer}" is not in the stopped task's containers` };
  }
  if (typeof exit === 'number') {
    return { ...base, kind: 'FAILED', oom: false, summary: `The app container "${appContainer}" exited ${exit}${exit === 137 ? ' (SIGKILL)' : exit === 143 ? ' (SIGTERM)' : ''}` };
  }
  return { ...base, kind: 'FAILED', oom: false, summary: `The app container "${appContainer}" has no exit code (stop code ${detail.stopCode ?? 'none'})` };
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

/** The right-size line for a run's peaks. */
export function rightSize(report: AgentReport, cfg: RunOutcomeConfig): string | undefined {
  const mem = report.maxMemoryUsedMiB;
  const cpuPct = report.cpuMaxUtilizationPercent;
  if (typeof mem !== 'number' || typeof cpuPct !== 'number') return undefined;
  const memLimit = report.memoryLimitMiB ?? cfg.memoryMiB;
  const memPct = (100 * mem) / memLimit;
  const factor = 1 + cfg.headroomPercent / 100;
  const needCpu = (cpuPct / 100) * cfg.cpu * factor;
  const needMem = mem * factor;
  const best = smallestFargateSize(needCpu, needMem);
  const current = `${cfg.cpu} CPU units / ${cfg.memoryMiB} MiB`;
  const atLimit: string[] = [];
  if (memPct >= 90) atLimit.push(`memory peaked at ${memPct.toFixed(0)} % of its limit`);
  if (cpuPct >= 90) atLimit.push(`CPU peaked at ${cpuPct.toFixed(0)} %`);
  const suggestion = best ? `${best.cpu} CPU units / ${best.memoryMiB} MiB` : 'no Fargate size is large enough';
  if (atLimit.length) return `At its limit: ${atLimit.join(' and ')} of ${current}. With ${cfg.headroomPercent} % headroom it needs ${suggestion}.`;
  if (best && best.cpu === cfg.cpu && best.memoryMiB === cfg.memoryMiB) {
    return `Right-sized: ${current} is the smallest Fargate size that holds the peaks with ${cfg.headroomPercent} % headroom.`;
  }
  return `Right-size: ${suggestion} would hold the peaks (CPU ${cpuPct} %, ${mem} MiB) with ${cfg.headroomPercent} % headroom (now ${current}).`;
}

/** A Slack message (incoming webhook payload). */
export interface SlackMessage {
  text: string;
  attachments: Array<{ color: string; fallback: string; blocks: object[] }>;
}

const COLORS: Record<OutcomeKind, string> = {
  SUCCEEDED: '#2eb67d', FAILED: '#e01e5a', FAILED_TO_START: '#e01e5a', INTERRUPTED: '#ecb22e',
};
const TITLES: Record<OutcomeKind, string> = {
  SUCCEEDED: ':white_check_mark: Succeeded', FAILED: ':x: FAILED', FAILED_TO_START: ':x: FAILED TO START', INTERRUPTED: ':warning: Interrupted',
};

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function consoleLogUrl(region: string, group: string, stream: string): string {
  const enc = (s: string) => encodeURIComponent(encodeURIComponent(s)).replace(/%/g, '$');
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${enc(group)}/log-events/${enc(stream)}`;
}

/** The Block Kit message for one stopped task (within Slack's limits: header ≤ 150, text ≤ 3,000, ≤ 10 fields). */
export function buildMessage(detail: TaskStateDetail, outcome: Outcome, cfg: RunOutcomeConfig,
  report: AgentReport | undefined, reportNote: string | undefined): SlackMessage {
  const taskArn = detail.taskArn ?? '';
  const taskId = taskArn.split('/').pop() ?? '';
  const region = taskArn.split(':')[3] ?? '';
  const clusterName = (detail.clusterArn ?? '').split('/').pop() || cfg.clusterName;
  const title = `${TITLES[outcome.kind]}: ${cfg.family}`;
  const duration = runDurationSeconds(detail);
  const fields: object[] = [
    { type: 'mrkdwn', text: `*Task family*\n${clip(cfg.family, 900)}` },
    { type: 'mrkdwn', text: `*Cluster*\n${clip(clusterName, 900)}` },
    { type: 'mrkdwn', text: `*Run time*\n${duration === undefined ? 'never started' : formatDuration(duration)}` },
    { type: 'mrkdwn', text: `*Stop code*\n${detail.stopCode ?? 'none'}` },
    { type: 'mrkdwn', text: `*App exit code*\n${outcome.appExitCode === undefined || outcome.appExitCode === null ? 'none' : outcome.appExitCode}` },
  ];
  const lines: string[] = [`*${outcome.summary}*`];
  if (outcome.oom) lines.push(':rotating_light: *OUT OF MEMORY*: the app needs more memory than its limit, or leaks.');
  if (detail.stoppedReason) lines.push(`Stopped reason: ${detail.stoppedReason}`);
  if (outcome.appReason && !outcome.oom) lines.push(`App container reason: ${outcome.appReason}`);
  const blocks: object[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: clip(lines.join('\n'), 3000) } },
    { type: 'section', fields },
  ];
  const others = (detail.containers ?? []).filter((c) => c && c.name !== cfg.appContainer);
  if (others.length) {
    const text = others.map((c) => `• ${c.name ?? '?'}: exit ${c.exitCode === undefined || c.exitCode === null ? 'none' : c.exitCode}${c.reason ? ` (${c.reason})` : ''}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*Other containers* (not judged)\n${text}`, 3000) } });
  }
  if (outcome.kind !== 'FAILED_TO_START') {
    let res: string;
    if (report) {
      const mem = report.maxMemoryUsedMiB;
      const limit = report.memoryLimitMiB ?? cfg.memoryMiB;
      const memText = typeof mem === 'number' ? `${mem} MiB (${((100 * mem) / limit).toFixed(1)} % of ${limit} MiB)` : 'unknown';
      const cpuText = typeof report.cpuMaxUtilizationPercent === 'number'
        ? `average ${report.cpuAverageUtilizationPercent ?? '?'} %, peak ${report.cpuMaxUtilizationPercent} % of ${cfg.cpu / 1024} vCPU` : 'unknown';
      res = `*This run's resources* (agent REPORT, ${report.samples} samples)\nPeak memory: ${memText}\nCPU: ${cpuText}`;
      if (report.appRunningAtShutdown === true) res += '\n_The agent stopped while the app was still running: the figures end there._';
      const line = rightSize(report, cfg);
      if (line) res += `\n${line}`;
    } else {
      res = `*This run's resources*: ${reportNote ?? 'REPORT missing'}`;
    }
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(res, 3000) } });
  }
  const links: string[] = [];
  if (region && taskId) {
    links.push(`<https://${region}.console.aws.amazon.com/ecs/v2/clusters/${encodeURIComponent(clusterName)}/tasks/${taskId}/configuration?region=${region}|Task ${taskId}>`);
    if (cfg.appStreamPrefix) links.push(`<${consoleLogUrl(region, cfg.logGroupName, `${cfg.appStreamPrefix}/${taskId}`)}|App log>`);
    links.push(`<${consoleLogUrl(region, cfg.logGroupName, `${cfg.agentStreamPrefix}/${taskId}`)}|Agent log>`);
  }
  if (links.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clip(links.join('  |  '), 3000) }] });
  const text = `${title} on ${clusterName}: ${outcome.summary}`;
  return { text: clip(text, 3000), attachments: [{ color: COLORS[outcome.kind], fallback: clip(text, 3000), blocks }] };
}
