// The final outcome of a reliable run (one state machine execution), free of AWS and CDK imports: the run-outcome
// Lambda bundles this file and tests call it directly. Not part of the jsii API.
import { AttemptRecord, flattenHistory, human, normalizeTask } from './run-decision';
import { judge, Outcome, RunOutcomeConfig, TaskStateDetail } from './run-outcome';

/** What the state machine sends at the end of a run (`{ "runOutcome": …, "config": … }`). */
export interface RunOutcomeInput {
  executionArn: string;
  /** EventBridge Scheduler's `<aws.scheduler.scheduled-time>` of the run, if any. */
  scheduledTime?: string;
  /** The attempts, as the state machine nests them (see flattenHistory). */
  history?: unknown;
  /** The last decision's `final` task, when the run ended after an attempt. */
  final?: TaskStateDetail | null;
  /** The run timed out: the decision's record. */
  timedOut?: boolean;
  /**
   * The run was skipped (concurrency policy FORBID): DescribeTasks `Tasks` of the family's tasks still running, or
   * (`RunStartedAt`, DescribeExecution's StartDate) the start of the run that holds the lease.
   */
  skipped?: { Tasks?: any[]; RunStartedAt?: string | number };
  maxAttempts?: number;
  timeoutSeconds?: number;
  /**
   * The run was replaced (concurrencyPolicy REPLACE): the next run stopped its execution (and its task), and reports
   * it with this field, its own execution ARN. The replaced run's own attempts are not known.
   */
  replacedBy?: string;
}

/** The reliable-run config: the rule input's config plus the schedule's time zone. */
export interface ReliableRunConfig extends RunOutcomeConfig {
  /** IANA time zone of the schedule, for "the 02:00 run" (default UTC). */
  timeZone?: string;
}

export interface RunJudgement {
  outcome: Outcome;
  /** The task the outcome is about (the last attempt's), or a stand-in without a task. */
  detail: TaskStateDetail;
  attempts: AttemptRecord[];
  /** One line per attempt, for the message. */
  attemptLines: string[];
}

/** "02:00" (24 h) in the time zone, with the zone unless it is given by the caller's context. */
export function clockTime(iso: string | undefined, timeZone: string | undefined): string | undefined {
  const t = Date.parse(iso ?? '');
  if (!Number.isFinite(t)) return undefined;
  const zone = timeZone || 'UTC';
  try {
    const text = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false, timeZone: zone }).format(new Date(t));
    return zone === 'UTC' ? `${text} UTC` : text;
  } catch {
    return `${new Date(t).toISOString().slice(11, 16)} UTC`;
  }
}

/** Short reason of an attempt that was retried, for the summary line. */
function shortReason(r: AttemptRecord): string {
  switch (r.result) {
    case 'SPOT': return /^FARGATE_SPOT had no capacity/.test(r.summary) ? 'FARGATE_SPOT had no capacity'
      : /^FARGATE_SPOT could not start it/.test(r.summary) ? 'FARGATE_SPOT could not start it' : 'FARGATE_SPOT interrupted it';
    case 'OOM': return `OOM at ${r.memoryMiB} MiB`;
    case 'START': return `attempt ${r.attempt} could not start`;
    case 'APP': return `attempt ${r.attempt} failed`;
    default: return `attempt ${r.attempt}: ${r.summary}`;
  }
}

/**
 * The run's outcome from the state machine's report: SKIPPED, TIMED_OUT, or the last attempt judged by its app
 * container (as a single task stop is), with a summary that names the attempts, e.g. "attempt 2 of 3: FARGATE_SPOT had
 * no capacity, ran on FARGATE" or "OOM at 512 MiB, succeeded at 1024 MiB: set memoryLimitMiB to 1024".
 */
export function judgeRun(input: RunOutcomeInput, cfg: ReliableRunConfig): RunJudgement {
  const attempts = flattenHistory(input.history);
  const attemptLines = attempts.map((r) => `${r.attempt}. ${r.capacity}, ${r.memoryMiB} MiB: ${r.summary}`);
  const last = attempts[attempts.length - 1];
  const none = { oom: false, appExitCode: undefined };
  if (input.skipped) {
    const tasks = Array.isArray(input.skipped.Tasks) ? input.skipped.Tasks.map(normalizeTask).filter((t) => t) as TaskStateDetail[] : [];
    const raw = Array.isArray(input.skipped.Tasks) ? input.skipped.Tasks : [];
    const startOf = (t: any) => normalizeTask({ StartedAt: t?.StartedAt ?? t?.CreatedAt ?? t?.startedAt ?? t?.createdAt })?.startedAt;
    // The tasks still running, or (the run lease's holder, which may be between attempts) its execution's start.
    const starts = [...raw.map((t: any) => startOf(t)), normalizeTask({ StartedAt: input.skipped.RunStartedAt })?.startedAt];
    const since = starts.map((t) => clockTime(t, cfg.timeZone))
      .filter((s): s is string => !!s);
    const which = since.length ? `the ${since[0]} run was` : tasks.length > 1 ? `${tasks.length} runs were` : 'the previous run was';
    return {
      outcome: { ...none, kind: 'SKIPPED', summary: `skipped: ${which} still running (concurrencyPolicy FORBID)` },
      detail: { taskArn: tasks[0]?.taskArn, clusterArn: tasks[0]?.clusterArn },
      attempts,
      attemptLines,
    };
  }
  if (input.replacedBy) {
    return {
      outcome: { ...none, kind: 'INTERRUPTED', summary: 'replaced by the next scheduled run (concurrencyPolicy REPLACE): its execution and its task were stopped' },
      detail: {},
      attempts,
      attemptLines,
    };
  }
  if (input.timedOut) {
    return {
      outcome: { ...none, kind: 'TIMED_OUT', summary: `timed out after ${human(input.timeoutSeconds)}, stopped${attempts.length > 1 ? ` (attempt ${attempts.length} of ${input.maxAttempts ?? attempts.length})` : ''}` },
      detail: { taskArn: last?.taskArn },
      attempts,
      attemptLines,
    };
  }
  const final = input.final ? normalizeTask(input.final) : undefined;
  let outcome: Outcome = final ? judge(final, cfg.appContainer)
    : { ...none, kind: 'FAILED_TO_START', summary: last?.summary ?? 'the run could not start' };
  if (attempts.length > 1) {
    const earlier = attempts.slice(0, -1);
    const oom = earlier.find((r) => r.result === 'OOM');
    const of = `attempt ${attempts.length} of ${input.maxAttempts ?? attempts.length}`;
    let summary: string;
    if (outcome.kind === 'SUCCEEDED' && oom && last) {
      summary = `OOM at ${oom.memoryMiB} MiB, succeeded at ${last.memoryMiB} MiB: set memoryLimitMiB to ${last.memoryMiB} (${of})`;
    } else {
      const reasons = [...new Set(earlier.map(shortReason))].join(', ');
      const end = outcome.kind === 'SUCCEEDED'
        ? (last && earlier.some((r) => r.capacity !== last.capacity) ? `ran on ${last.capacity}` : 'succeeded')
        : outcome.summary;
      summary = `${of}: ${reasons}, ${end}`;
    }
    outcome = { ...outcome, summary };
  }
  return { outcome, detail: final ?? { taskArn: last?.taskArn }, attempts, attemptLines };
}
