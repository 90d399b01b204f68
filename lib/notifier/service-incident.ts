// What a FastScalingService's events mean, and how a crash loop is told: the judgement of a service task stop, the
// crash window (first crash at once, then one summary per window), and the Slack messages. Free of AWS and CDK
// imports: the Lambda bundles this file and tests call it directly. Not part of the jsii API.
import {
  AgentReport, buildMessage, clip, escapeMrkdwn, INTERRUPTION_STOP_CODES, judge, Outcome, RunOutcomeConfig, SlackMessage, TaskStateDetail,
} from './run-outcome';

/** Per-service configuration, carried in the service rule's target input (`serviceConfig`). */
export interface ServiceEventsConfig extends RunOutcomeConfig {
  /** Name of the ECS service (`group: service:<name>`; dimension `ServiceName` of `TaskCrashes`). */
  serviceName: string;
  /** The crash window, seconds: the first crash posts at once, later ones are counted and summarised per window. */
  windowSeconds: number;
  /** The service's most tasks (`maxCapacity`): at or over it, the service is at its ceiling. */
  maxCapacity?: number;
  /** How long the service must be at its ceiling with its scale-out alarm in ALARM before it is told, seconds. */
  ceilingSeconds?: number;
  /** The scale-out alarm's threshold (percent CPU), for the message. */
  scaleOutThreshold?: number;
}

/** Why a service task stop is an incident; also the `Reason` dimension of `TaskCrashes`. */
export type CrashReason = 'OutOfMemory' | 'ExitCode' | 'HealthCheck' | 'FailedToStart';

/** Every crash reason, in the order a summary lists them. */
export const CRASH_REASONS: CrashReason[] = ['OutOfMemory', 'ExitCode', 'HealthCheck', 'FailedToStart'];

/** A service task stop, judged. */
export type ServiceStop =
  | { incident: true; reason: CrashReason; outcome: Outcome }
  | { incident: false; why: string };

/**
 * `stoppedReason` of a task the service scheduler stopped because it failed a health check: "Task failed ELB health
 * checks in (target-group arn:…)" (real event: test/fixtures/service-events, kotlinx), or its container health check
 * ("Task failed container health checks").
 */
const HEALTH_CHECK_REASON = /failed (elb|container) health checks/i;

/**
 * Judges a STOPPED task of a service, by these event fields (`detail.*`), in this order:
 * 1. `stopCode` TaskFailedToStart (image pull, secrets, ENI…): incident `FailedToStart`.
 * 2. the app container's `containers[].reason` starting `OutOfMemoryError`: incident `OutOfMemory`, whatever the stop
 *    code (a task killed out of memory during a scale-in was still killed out of memory).
 * 3. `stopCode` ServiceSchedulerInitiated with a `stoppedReason` naming failed ELB (or container) health checks:
 *    incident `HealthCheck`.
 * 4. any other ServiceSchedulerInitiated stop: NOT an incident. Scale-in and a deployment replacing the task both
 *    stop it so, with `stoppedReason` "Scaling activity initiated by (deployment ecs-svc/…)" (real event: arkime); the
 *    two are not told apart by the event, and neither is news.
 * 5. `stopCode` UserInitiated (StopTask, a user or a tool): NOT an incident. SpotInterruption, TerminationNotice and
 *    InfrastructureHealth: NOT an incident either (AWS took the capacity back; the scheduler replaces the task).
 * 6. otherwise (EssentialContainerExited, or an old event without a stop code): incident `ExitCode` when the app
 *    exited non-zero or without an exit code, or an essential container did; a web server that exits 0 on its own has
 *    crashed too (a service's task is not meant to end), so with stop code EssentialContainerExited even exit 0 is one.
 */
export function judgeServiceStop(detail: TaskStateDetail, appContainer: string): ServiceStop {
  const outcome = judge(detail, appContainer);
  if (outcome.kind === 'FAILED_TO_START') return { incident: true, reason: 'FailedToStart', outcome };
  if (outcome.oom) return { incident: true, reason: 'OutOfMemory', outcome };
  const code = detail.stopCode;
  if (code === 'ServiceSchedulerInitiated') {
    if (HEALTH_CHECK_REASON.test(detail.stoppedReason ?? '')) {
      return {
        incident: true,
        reason: 'HealthCheck',
        outcome: { ...outcome, kind: 'FAILED', summary: `The task failed its load balancer health checks: ${detail.stoppedReason}` },
      };
    }
    return { incident: false, why: `stopped by the service scheduler (scale-in or deployment replacement): ${detail.stoppedReason ?? 'no reason given'}` };
  }
  if (code && INTERRUPTION_STOP_CODES[code]) return { incident: false, why: `${INTERRUPTION_STOP_CODES[code]} (${code})` };
  if (outcome.kind === 'SUCCEEDED') {
    if (code === 'EssentialContainerExited') {
      const other = (detail.containers ?? []).find((c) => c && c.name !== appContainer && typeof c.exitCode === 'number' && c.exitCode !== 0);
      const summary = other
        ? `The essential container "${other.name}" exited ${other.exitCode}, which stopped the task`
        : `The app container "${appContainer}" exited 0: a service's task is not meant to end`;
      return { incident: true, reason: 'ExitCode', outcome: { ...outcome, kind: 'FAILED', summary } };
    }
    return { incident: false, why: 'the app exited 0 and no stop code says why' };
  }
  return { incident: true, reason: 'ExitCode', outcome };
}

// ---- the crash window ----

/** One counted crash: its reason and, for an OOM with the agent's REPORT, the peak against the limit (MiB). */
export interface CrashRecord {
  reason: CrashReason;
  peakMiB?: number;
  limitMiB?: number;
}

/** A window of a service's crashes: [start, end) in epoch ms; `first` is the crash posted at once, if any. */
export interface CrashWindow {
  start: number;
  end: number;
  first?: string;
  /** Crashes counted for the summary, by task ARN (a redelivered event counts once). */
  crashes: Record<string, CrashRecord>;
  /** Its summary has been queued (moved to `pending`). */
  closed?: boolean;
}

/** A service's crash state (one DynamoDB item): the current window and closed windows whose summary is not posted. */
export interface ServiceWindowState {
  current?: CrashWindow;
  pending?: CrashWindow[];
}

/** What to do for one crash: post it at once or not, and the new state. */
export interface CrashStep {
  state: ServiceWindowState;
  postAtOnce: boolean;
}

const count = (w: CrashWindow) => Object.keys(w.crashes).length;
const copy = (s: ServiceWindowState): ServiceWindowState => JSON.parse(JSON.stringify(s));

/** Closes the current window if it has ended: queues its summary when it counted crashes. */
function closeIfEnded(s: ServiceWindowState, now: number): void {
  const cur = s.current;
  if (cur && now >= cur.end && !cur.closed) {
    cur.closed = true;
    if (count(cur) > 0) s.pending = [...s.pending ?? [], { ...cur, crashes: { ...cur.crashes } }];
  }
}

/**
 * Adds one crash (at `now`, epoch ms) to a service's state. Idempotent per task ARN (at-least-once delivery: the same
 * stop counted or posted twice is impossible). The rules:
 * - no window, or the last one ended quiet (it counted nothing after its first crash, or ended more than one window
 *   ago): a new episode: this crash is posted at once and opens a window of `windowMs`;
 * - within the open window: counted for its summary, not posted;
 * - the window has ended while the crashes go on (it counted crashes, and this one comes within one window of its
 *   end): its summary is queued, and this crash opens the next window, counted, not posted: a crash loop gives one
 *   post at once, then one summary per window.
 * `now` is the event's time. Out of order: a crash older than the open window is counted in it (never posted twice,
 * never lost); a crash redelivered after its window was summarised is found in no window and starts nothing new only if
 * it is still in `pending`; otherwise the per-task claim (DONE) has already stopped it before this function.
 */
export function addCrash(state: ServiceWindowState, taskArn: string, crash: CrashRecord, now: number, windowMs: number): CrashStep {
  const s = copy(state);
  const cur = s.current;
  if (cur && (cur.first === taskArn || cur.crashes[taskArn])) return { state: s, postAtOnce: cur.first === taskArn };
  if ((s.pending ?? []).some((w) => w.first === taskArn || w.crashes[taskArn])) return { state: s, postAtOnce: false };
  if (cur && now < cur.end) {
    cur.crashes[taskArn] = crash;
    return { state: s, postAtOnce: false };
  }
  const continuing = !!cur && count(cur) > 0 && now < cur.end + windowMs;
  closeIfEnded(s, now);
  if (continuing) {
    s.current = { start: now, end: now + windowMs, crashes: { [taskArn]: crash } };
    return { state: s, postAtOnce: false };
  }
  s.current = { start: now, end: now + windowMs, first: taskArn, crashes: {} };
  return { state: s, postAtOnce: true };
}

/**
 * The scheduled flush (and every crash) at `now`: closes an ended window, queueing its summary. `idle`: nothing is
 * pending and the last window ended more than a window ago, so the item can go.
 */
export function flushWindows(state: ServiceWindowState, now: number, windowMs: number): { state: ServiceWindowState; idle: boolean } {
  const s = copy(state);
  closeIfEnded(s, now);
  const idle = !(s.pending ?? []).length && (!s.current || now >= s.current.end + windowMs);
  return { state: s, idle };
}

/** Removes a posted summary (by its window start) from the pending list. */
export function summaryPosted(state: ServiceWindowState, start: number): ServiceWindowState {
  const s = copy(state);
  s.pending = (s.pending ?? []).filter((w) => w.start !== start);
  return s;
}

const REASON_TEXT: Record<CrashReason, [string, string]> = {
  OutOfMemory: ['OOM', 'OOM'],
  ExitCode: ['non-zero exit', 'non-zero exits'],
  HealthCheck: ['failed health checks', 'failed health checks'],
  FailedToStart: ['failed to start', 'failed to start'],
};

const num = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * The summary line of a window: "7 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 2 failed health
 * checks". The OOM peak is the mean of the peaks the agent reported (of the largest limit among them).
 */
export function summaryLine(w: CrashWindow): string {
  const records = Object.values(w.crashes);
  const minutes = Math.max(1, Math.round((w.end - w.start) / 60_000));
  const parts = CRASH_REASONS.flatMap((reason) => {
    const of = records.filter((r) => r.reason === reason);
    if (!of.length) return [];
    let text = `${of.length} ${REASON_TEXT[reason][of.length === 1 ? 0 : 1]}`;
    const peaks = of.filter((r) => typeof r.peakMiB === 'number' && typeof r.limitMiB === 'number');
    if (reason === 'OutOfMemory' && peaks.length) {
      const peak = peaks.reduce((a, r) => a + r.peakMiB!, 0) / peaks.length;
      text += ` at ~${num(peak)} of ${num(Math.max(...peaks.map((r) => r.limitMiB!)))} MiB`;
    }
    return [text];
  });
  const n = records.length;
  return `${n} more ${n === 1 ? 'task' : 'tasks'} stopped in ${minutes} min: ${parts.join(', ')}`;
}

// ---- messages ----

const RED = '#e01e5a';
const YELLOW = '#ecb22e';
const GREEN = '#2eb67d';

function simple(title: string, lines: string[], color: string, cfg: ServiceEventsConfig): SlackMessage {
  const e = escapeMrkdwn;
  const text = clip(`${title}: ${lines[0] ?? ''}`, 3000);
  return {
    text: e(text),
    attachments: [{
      color,
      fallback: e(text),
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: clip(title, 150), emoji: true } },
        { type: 'section', text: { type: 'mrkdwn', text: clip(lines.map((l) => e(l)).join('\n'), 3000) } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: clip(`Service ${e(cfg.serviceName)} on cluster ${e(cfg.clusterName)}`, 3000) }] },
      ],
    }],
  };
}

/** The message for the first crash of an episode: the scheduled-run message (reason, resources, links), retitled. */
export function crashMessage(detail: TaskStateDetail, stop: Extract<ServiceStop, { incident: true }>, cfg: ServiceEventsConfig,
  report: AgentReport | undefined, note: string | undefined): SlackMessage {
  const m = buildMessage(detail, stop.outcome, { ...cfg, family: cfg.serviceName }, report, note);
  const title = `:x: Task crashed: ${cfg.serviceName}`;
  const header = m.attachments[0].blocks[0] as any;
  header.text.text = clip(title, 150);
  const window = Math.round(cfg.windowSeconds / 60);
  m.attachments[0].blocks.splice(2, 0, {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Further crashes of this service in the next ${window} min are counted and posted once as a summary.` }],
  });
  m.text = clip(`${escapeMrkdwn(title)}: ${escapeMrkdwn(stop.outcome.summary)}`, 3000);
  return m;
}

export function summaryMessage(w: CrashWindow, cfg: ServiceEventsConfig): SlackMessage {
  return simple(`:repeat: Crash loop: ${cfg.serviceName}`, [summaryLine(w),
    'See the service dashboard (TaskCrashes by reason) and the agent log of a stopped task for its peak memory and CPU.'], RED, cfg);
}

/** The fields of an "ECS Deployment State Change" or "ECS Service Action" `detail`. */
export interface ServiceEventDetail {
  eventType?: string;
  eventName?: string;
  deploymentId?: string;
  reason?: string;
  clusterArn?: string;
  capacityProviderArns?: string[];
}

/** Service actions that block capacity: posted at most once per window each. */
export const CAPACITY_ACTIONS: Record<string, string> = {
  SERVICE_TASK_PLACEMENT_FAILURE: 'ECS could not place a task (no capacity of the kind asked for)',
  SERVICE_TASK_CONFIGURATION_FAILURE: 'ECS could not start a task: its configuration is invalid (a tag, a role, a secret, a subnet…)',
  SERVICE_TASK_START_IMPAIRED: 'ECS cannot start tasks successfully: they keep failing to start or stopping at once',
};

/** `reason` of the deployment a circuit breaker starts to roll back: "… rolling back to deploymentId <id>." (AWS docs). */
const ROLLBACK_REASON = /circuit breaker: rolling back to deploymentId\s+(\S+?)\.?$/i;

/**
 * The message for a deployment state change, or undefined when it is not posted:
 * - SERVICE_DEPLOYMENT_FAILED (sent only with the circuit breaker on): failure channel, with its `reason`;
 * - SERVICE_DEPLOYMENT_IN_PROGRESS whose `reason` says the circuit breaker is rolling back: failure channel, with the
 *   deployment rolled back to (ECS names the deployment, `ecs-svc/…`, not a task definition revision). The two events
 *   of one rollback come in either order, so each is posted on its own, once;
 * - SERVICE_DEPLOYMENT_COMPLETED: success channel, when `notifySuccess`;
 * - any other IN_PROGRESS: never posted.
 */
export function deploymentMessage(d: ServiceEventDetail, cfg: ServiceEventsConfig): { channel: 'failure' | 'success'; message: SlackMessage } | undefined {
  const id = d.deploymentId ?? '(no id)';
  if (d.eventName === 'SERVICE_DEPLOYMENT_FAILED') {
    return {
      channel: 'failure',
      message: simple(`:x: Deployment failed: ${cfg.serviceName}`, [`Deployment ${id} failed: ${d.reason ?? 'no reason given'}`,
        'With rollback on (as FastScalingService sets it), the circuit breaker rolls the service back to its last completed deployment.'], RED, cfg),
    };
  }
  const rollback = d.eventName === 'SERVICE_DEPLOYMENT_IN_PROGRESS' ? ROLLBACK_REASON.exec(d.reason ?? '') : null;
  if (rollback) {
    return {
      channel: 'failure',
      message: simple(`:rewind: Rolling back: ${cfg.serviceName}`, [`The deployment circuit breaker is rolling back to deployment ${rollback[1].replace(/`/g, '')}.`,
        `Reason: ${d.reason}`], YELLOW, cfg),
    };
  }
  if (d.eventName === 'SERVICE_DEPLOYMENT_COMPLETED' && cfg.notifySuccess !== false) {
    return { channel: 'success', message: simple(`:rocket: Deployed: ${cfg.serviceName}`, [`Deployment ${id} completed: ${d.reason ?? ''}`], GREEN, cfg) };
  }
  return undefined;
}

export function serviceActionMessage(d: ServiceEventDetail, cfg: ServiceEventsConfig): SlackMessage | undefined {
  const what = d.eventName ? CAPACITY_ACTIONS[d.eventName] : undefined;
  if (!what) return undefined;
  const lines = [`${what} (${d.eventName}).`];
  if (d.reason) lines.push(`Reason: ${d.reason}`);
  if (d.capacityProviderArns?.length) lines.push(`Capacity providers: ${d.capacityProviderArns.map((a) => a.split('/').pop()).join(', ')}`);
  lines.push(`Posted at most once per ${Math.round(cfg.windowSeconds / 60)} min.`);
  return simple(`:no_entry: Tasks cannot start: ${cfg.serviceName}`, lines, d.eventType === 'WARN' ? YELLOW : RED, cfg);
}

// ---- the ceiling: at maxCapacity while the scale-out alarm stays in ALARM ----

/**
 * A service's ceiling watch (one DynamoDB item), built from its scale-out alarm's "CloudWatch Alarm State Change"
 * events and the desired count the handler reads (ECS DescribeServices). Times are epoch ms.
 */
export interface CeilingState {
  /** The alarm's state as the newest event gave it (`detail.state.value`). */
  alarm?: string;
  /** `detail.state.timestamp` of that event: an event with an older (or the same) timestamp changes nothing. */
  stateAt?: number;
  /** When the alarm went into ALARM, this episode (the first ALARM after any other state). */
  alarmSince?: number;
  /** When the handler first found the desired count at `maxCapacity` in this episode (cleared when below it). */
  atCeilingSince?: number;
  /** The desired count last read. */
  desired?: number;
  /** `alarmSince` of the episode already told: one message per episode. */
  toldFor?: number;
}

/**
 * Applies one state change of the scale-out alarm (`value` at `at`, the event's `detail.state.timestamp`). Delivery is
 * at least once and may be out of order (EventBridge): the newest timestamp wins, so a redelivered or late older event
 * changes nothing. A new ALARM episode starts when the alarm was in any other state (or unknown); leaving ALARM ends it.
 */
export function applyAlarmState(state: CeilingState, value: string, at: number): { state: CeilingState; applied: boolean } {
  if (state.stateAt !== undefined && at <= state.stateAt) return { state, applied: false };
  if (value === 'ALARM') {
    const same = state.alarm === 'ALARM';
    return {
      state: {
        ...state, alarm: value, stateAt: at, alarmSince: same ? state.alarmSince : at, atCeilingSince: same ? state.atCeilingSince : undefined,
      },
      applied: true,
    };
  }
  return { state: { ...state, alarm: value, stateAt: at, alarmSince: undefined, atCeilingSince: undefined }, applied: true };
}

/**
 * One look at the service (`desired` count read at `now`): is it time to tell? Yes once per ALARM episode, when the
 * alarm has been in ALARM and the desired count at or over `maxCapacity` (without a look below it) for `ceilingMs`,
 * both measured from the later of the two starts. The handler looks on each ALARM event and once a minute, so the
 * message comes `ceilingMs` to `ceilingMs` + 1 minute after the later start.
 */
export function checkCeiling(state: CeilingState, desired: number, now: number, maxCapacity: number, ceilingMs: number):
{ state: CeilingState; tell: boolean } {
  if (state.alarm !== 'ALARM' || state.alarmSince === undefined) return { state, tell: false };
  const atCeilingSince = desired >= maxCapacity ? (state.atCeilingSince ?? now) : undefined;
  const next: CeilingState = { ...state, desired, atCeilingSince };
  const tell = atCeilingSince !== undefined && state.toldFor !== state.alarmSince
    && now - Math.max(state.alarmSince, atCeilingSince) >= ceilingMs;
  return { state: next, tell };
}

/** Marks the current episode told. */
export function ceilingTold(state: CeilingState, alarmSince: number): CeilingState {
  return state.alarmSince === alarmSince ? { ...state, toldFor: alarmSince } : state;
}

export function ceilingMessage(cfg: ServiceEventsConfig, state: CeilingState, now: number): SlackMessage {
  const since = Math.max(state.alarmSince ?? now, state.atCeilingSince ?? now);
  const minutes = Math.max(1, Math.round((now - since) / 60_000));
  const threshold = typeof cfg.scaleOutThreshold === 'number' ? ` (${cfg.scaleOutThreshold} % CPU)` : '';
  const cap = cfg.maxCapacity ? ` (${cfg.maxCapacity} tasks${typeof state.desired === 'number' ? `, desired ${state.desired}` : ''})` : '';
  return simple(`:chart_with_upwards_trend: At its ceiling: ${cfg.serviceName}`, [
    `For ${minutes} min the service has run at its maxCapacity${cap} while its scale-out alarm stayed in ALARM${threshold}: ` +
      'the load is bigger than the service may grow.',
    `In ALARM since ${new Date(state.alarmSince ?? now).toISOString()}.`,
    'Raise maxCapacity, or make each task do more.',
  ], YELLOW, cfg);
}
