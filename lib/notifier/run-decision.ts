// What the reliable-run state machine does after each attempt, free of AWS and CDK imports: the run-outcome Lambda
// bundles this file (the state machine calls it synchronously as `{ "decide": … }`) and tests call it directly.
// Not part of the jsii API. See lib/scheduled-task/reliable-run.ts for the state machine.
import { createHash } from 'node:crypto';
import { judge, Outcome, TaskStateDetail } from './run-outcome';

/**
 * Prefix of the task group (RunTask `Group`, in the Step Functions ECS integration's documented parameters and in every
 * task event and DescribeTasks) of every task the state machine starts: `cfm:<md5 of the execution ARN>`, one group per
 * run. The task's STOPPED rule matches `group: family:<family>` (ECS's default group), so attempts never reach it;
 * the run-outcome handler also leaves any event of such a group to the run's report.
 */
export const RELIABLE_RUN_GROUP_PREFIX = 'cfm:';

/** Per-task options, in the execution input (`run.options`), fixed at synth. */
export interface RunOptions {
  appContainer: string;
  cpu: number;
  /** Task memory of the task definition, MiB. */
  memoryMiB: number;
  /** Retries after the first attempt for a run that could not start (and, with `retryOnAppFailure`, an app failure). */
  retryAttempts: number;
  retryOnAppFailure: boolean;
  /** Wait before the first retry, seconds; each next wait is `backoffRate` times longer, at most `maxBackoffSeconds`. */
  backoffSeconds: number;
  backoffRate: number;
  maxBackoffSeconds: number;
  /** The run uses a capacity provider strategy (else: launch type FARGATE). */
  usesStrategy: boolean;
  /** The capacity provider strategy uses FARGATE_SPOT. */
  usesSpot: boolean;
  /** A Spot capacity failure or a Spot interruption is retried once on FARGATE (launch type), outside `retryAttempts`. */
  spotFallback: boolean;
  /** Task memory sizes (MiB, ascending, each a valid Fargate size for `cpu`) to retry an app OOM with; [] = off. */
  oomMemorySizes: number[];
  /** With an app container hard limit: task memory minus that limit, kept the same at every size. */
  appMemoryReserveMiB?: number;
  /** The run's timeout, seconds (the state's TimeoutSecondsPath), for the message. */
  timeoutSeconds?: number;
}

/** The loop's state, carried by the state machine between attempts. */
export interface RunState {
  /** Attempts started so far (1 for the first). */
  attempt: number;
  /** Most attempts this run can take (for "attempt 2 of 3"). */
  maxAttempts: number;
  retriesUsed: number;
  fallbackUsed: boolean;
  /** Run with launch type FARGATE instead of the capacity provider strategy. */
  onFargate: boolean;
  /** How many OOM sizes have been used. */
  oomStep: number;
  /** Task memory of the current attempt, MiB. */
  memoryMiB: number;
  /** RunTask `Overrides` of the current attempt. */
  overrides: { Memory?: string; ContainerOverrides?: Array<{ Name: string; Memory: number }> };
  /** RunTask `Group` of the run's tasks (`cfm:<md5 of the execution ARN>`): finds the run's task when it timed out. */
  group: string;
}

/** What an attempt returned: the .sync result (the task), or the caught error. */
export interface AttemptResult {
  task?: any;
  error?: { Error?: string; Cause?: string };
}

/** One attempt, as the run's report lists it. */
export interface AttemptRecord {
  attempt: number;
  /** Where it ran: FARGATE, or the strategy's providers ("FARGATE_SPOT" when it includes Spot). */
  capacity: string;
  memoryMiB: number;
  /** START (could not start), SPOT (Spot capacity or interruption), OOM, APP (app failure), TIMEOUT, INTERRUPTED, SUCCEEDED. */
  result: 'START' | 'SPOT' | 'OOM' | 'APP' | 'TIMEOUT' | 'INTERRUPTED' | 'SUCCEEDED';
  summary: string;
  taskArn?: string;
}

export interface Decision {
  /** RETRY: wait `waitSeconds`, run again with `state`; STOP_TIMED_OUT: stop the task (group `state.group`), report; REPORT: report. */
  action: 'RETRY' | 'STOP_TIMED_OUT' | 'REPORT';
  waitSeconds: number;
  state: RunState;
  record: AttemptRecord;
  /** The attempt's task (normalized to the task state change shape), null when there is none (always present: the state machine reads it). */
  final: TaskStateDetail | null;
}

/** The task group of a run: the prefix and an MD5 of the execution ARN (36 characters). */
export function groupFor(executionId: string): string {
  return `${RELIABLE_RUN_GROUP_PREFIX}${createHash('md5').update(executionId).digest('hex')}`;
}

/**
 * Every attempt this run can take: the first, `retryAttempts` retries, the Spot fallback, one per bigger OOM size.
 */
export function maxAttemptsOf(options: RunOptions): number {
  return 1 + options.retryAttempts + (options.usesSpot && options.spotFallback ? 1 : 0) + options.oomMemorySizes.length;
}

/** The wait before retry number `retriesUsed + 1`, seconds: `backoffSeconds × backoffRate^retriesUsed`, at most `maxBackoffSeconds`. */
export function backoffSecondsFor(options: RunOptions, retriesUsed: number): number {
  return Math.min(options.maxBackoffSeconds, Math.round(options.backoffSeconds * Math.pow(options.backoffRate, retriesUsed)));
}

/** The first attempt's state. */
export function plan(options: RunOptions, executionId: string): RunState {
  return {
    attempt: 1,
    maxAttempts: maxAttemptsOf(options),
    retriesUsed: 0,
    fallbackUsed: false,
    onFargate: !options.usesStrategy,
    oomStep: 0,
    memoryMiB: options.memoryMiB,
    overrides: {},
    group: groupFor(executionId),
  };
}

const lowerFirst = (k: string) => k.charAt(0).toLowerCase() + k.slice(1);

/** A time as ISO 8601: ISO strings pass; epoch numbers (seconds or milliseconds) are converted. */
function isoTime(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return /^\d+(\.\d+)?$/.test(v) ? isoTime(Number(v)) : v;
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v < 1e11 ? v * 1000 : v).toISOString();
  return undefined;
}

/**
 * A task as Step Functions returns it (the .sync output, or the JSON in a `States.TaskFailed` cause: ECS DescribeTasks
 * fields in PascalCase) or as an ECS event has it (camelCase), in the task state change `detail` shape `judge` reads.
 */
export function normalizeTask(task: any): TaskStateDetail | undefined {
  if (!task || typeof task !== 'object') return undefined;
  const get = (k: string) => (task[k] !== undefined ? task[k] : task[lowerFirst(k)]);
  const containers = get('Containers');
  return {
    taskArn: get('TaskArn'),
    clusterArn: get('ClusterArn'),
    group: get('Group'),
    lastStatus: get('LastStatus'),
    stopCode: get('StopCode'),
    stoppedReason: get('StoppedReason'),
    startedAt: isoTime(get('StartedAt')),
    executionStoppedAt: isoTime(get('ExecutionStoppedAt')),
    stoppedAt: isoTime(get('StoppedAt')),
    taskDefinitionArn: get('TaskDefinitionArn'),
    containers: Array.isArray(containers) ? containers.map((c: any) => ({
      name: c?.Name ?? c?.name,
      exitCode: c?.ExitCode ?? c?.exitCode,
      reason: c?.Reason ?? c?.reason,
      lastStatus: c?.LastStatus ?? c?.lastStatus,
    })) : undefined,
  };
}

/** A cause that is JSON, parsed; else undefined. */
function parseCause(cause: string | undefined): any {
  if (!cause || !cause.trim().startsWith('{')) return undefined;
  try {
    return JSON.parse(cause);
  } catch {
    return undefined;
  }
}

/**
 * A task in the cause of a failed .sync state (`States.TaskFailed`: the cause is the task's JSON, Step Functions "Run a
 * Job"). Only a cause that is a task (it has a `TaskArn`) and only for that error: `AmazonECS.Unknown`'s cause is not
 * documented and may be RunTask's answer (`{"Failures":[…],"Tasks":[]}`), which is no task.
 */
function taskFromCause(err: AttemptResult['error']): TaskStateDetail | undefined {
  if (!err || err.Error !== 'States.TaskFailed') return undefined;
  const parsed = parseCause(err.Cause);
  const detail = parsed ? normalizeTask(parsed) : undefined;
  return detail && typeof detail.taskArn === 'string' && detail.taskArn ? detail : undefined;
}

/** The reasons of a RunTask answer's `failures[]` in a JSON cause (`{"Failures":[{"Arn","Reason","Detail"}]}`), if any. */
function failureReasons(cause: string | undefined): string | undefined {
  const parsed = parseCause(cause);
  const failures = parsed?.Failures ?? parsed?.failures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  return failures.map((f: any) => [f?.Reason ?? f?.reason, f?.Detail ?? f?.detail].filter(Boolean).join(': ')).filter(Boolean).join('; ') || undefined;
}

/**
 * Errors of the ECS integration that mean "could not start, may work later" (each with its public source in
 * test/fixtures/stepfunctions/PROVENANCE.md): `AmazonECS.Unknown` is RunTask's HTTP 200 with a non-empty `failures[]`
 * (Step Functions developer guide, "Run Amazon ECS or Fargate tasks": "If a non-empty Failures field is encountered,
 * the task is failed with an AmazonECS.Unknown error"; its cause is not documented: text, JSON or empty, all retried);
 * `ECS.ServerException` is RunTask's HTTP 500 (wellcomecollection/catalogue-pipeline PR #3554);
 * `ECS.AmazonECSException` and `ECS.ThrottlingException` are throttling (AWS Knowledge Center
 * "ecs-fargate-runtask-capacity", cdklabs/construct-hub #708); `ECS.LimitExceededException` a limit that frees up.
 * Anything else (access denied, a missing cluster) fails the same way on every attempt and is not retried.
 */
export const RETRYABLE_API_ERRORS = new Set([
  'AmazonECS.Unknown', 'ECS.ServerException', 'ECS.AmazonECSException', 'ECS.ThrottlingException', 'ECS.LimitExceededException',
]);
/**
 * `ECS.InvalidParameterException` is retried only when its message is throttling: ECS reports EC2 throttling while it
 * reads the subnets or security groups as an invalid parameter (cdklabs/construct-hub PR #415: "results in a
 * `ECS.InvalidParameterException` error in StepFunctions, with an error message that mentions the throttle event";
 * "Request limit exceeded", "Rate exceeded (ErrorCode: Throttling)"). A real invalid parameter is not retried.
 */
const THROTTLED = /rate exceeded|request limit exceeded|throttl/i;

/** Whether a caught error of the RunTask state is an API error worth retrying. */
export function retryableApiError(err: AttemptResult['error']): boolean {
  const name = err?.Error ?? '';
  if (RETRYABLE_API_ERRORS.has(name)) return true;
  return name === 'ECS.InvalidParameterException' && THROTTLED.test(err?.Cause ?? '');
}
const CAPACITY = /capacity/i;
const SPOT_STOP_CODES = new Set(['SpotInterruption', 'TerminationNotice']);

const capacityOf = (state: RunState, options: RunOptions) => (state.onFargate ? 'FARGATE'
  : options.usesSpot ? 'FARGATE_SPOT' : 'the capacity provider strategy');

/**
 * The next step after an attempt. In this order: a state timeout is final (the task is stopped); an attempt that
 * could not start (retryable API error, TaskFailedToStart) is retried, on FARGATE at once when it was Spot capacity
 * and the fallback is on, else with backoff while `retryAttempts` last; an app OOM is retried with the next memory
 * size while there is one; a Spot interruption is retried on FARGATE (fallback) or as a retry; an app failure is
 * retried with `retryOnAppFailure`; a success, or anything out of retries, is reported.
 */
export function decide(options: RunOptions, state: RunState, result: AttemptResult, executionId: string): Decision {
  const err = result.error;
  const next = (over: Partial<RunState>): RunState => ({
    ...state, ...over, attempt: state.attempt + 1, group: state.group ?? groupFor(executionId),
  });
  const backoff = () => backoffSecondsFor(options, state.retriesUsed);
  const canRetry = state.retriesUsed < options.retryAttempts;
  const base = { attempt: state.attempt, capacity: capacityOf(state, options), memoryMiB: state.memoryMiB };

  if (err && err.Error === 'States.Timeout') {
    return {
      action: 'STOP_TIMED_OUT',
      waitSeconds: 0,
      state,
      final: null,
      record: { ...base, result: 'TIMEOUT', summary: `timed out after ${human(options.timeoutSeconds)}, stopped` },
    };
  }
  const detail = result.task ? normalizeTask(result.task) : taskFromCause(err);
  let outcome: Outcome | undefined = detail ? judge(detail, options.appContainer) : undefined;
  const taskArn = detail?.taskArn;
  const final = detail ?? null;

  // Could not start: an API error (no task at all) or a task that failed to start.
  if (!detail || outcome?.kind === 'FAILED_TO_START') {
    const cause = failureReasons(err?.Cause) ?? err?.Cause;
    const why = outcome?.kind === 'FAILED_TO_START' ? outcome.summary
      : `RunTask failed: ${err?.Error ?? 'unknown error'}${cause ? ` (${clipText(cause, 300)})` : ''}`;
    const retryable = outcome?.kind === 'FAILED_TO_START' || retryableApiError(err);
    // RunTask's failures[] on a Spot run (whatever its cause says, which is not documented), or a Spot task that
    // failed to start for capacity: fall back to FARGATE.
    const spotCapacity = !state.onFargate && options.usesSpot
      && (err?.Error === 'AmazonECS.Unknown' || CAPACITY.test(`${err?.Cause ?? ''} ${detail?.stoppedReason ?? ''}`));
    if (spotCapacity && options.spotFallback && !state.fallbackUsed) {
      return {
        action: 'RETRY',
        waitSeconds: 0,
        final,
        state: next({ onFargate: true, fallbackUsed: true }),
        record: { ...base, result: 'SPOT', summary: `${CAPACITY.test(why) ? 'FARGATE_SPOT had no capacity' : 'FARGATE_SPOT could not start it'} (${clipText(why, 200)}); retrying on FARGATE`, taskArn },
      };
    }
    if (retryable && canRetry) {
      return {
        action: 'RETRY',
        waitSeconds: backoff(),
        final,
        state: next({ retriesUsed: state.retriesUsed + 1 }),
        record: { ...base, result: 'START', summary: `could not start: ${why}`, taskArn },
      };
    }
    return {
      action: 'REPORT',
      waitSeconds: 0,
      state,
      final,
      record: { ...base, result: 'START', summary: `could not start: ${why}${retryable ? '' : ' (not retried: this error does not go away by itself)'}`, taskArn },
    };
  }
  outcome = outcome!;
  if (outcome.kind === 'FAILED' && outcome.oom) {
    const size = options.oomMemorySizes[state.oomStep];
    if (size !== undefined) {
      const overrides: RunState['overrides'] = { Memory: String(size) };
      if (options.appMemoryReserveMiB !== undefined) {
        overrides.ContainerOverrides = [{ Name: options.appContainer, Memory: size - options.appMemoryReserveMiB }];
      }
      return {
        action: 'RETRY',
        waitSeconds: 0,
        final,
        state: next({ oomStep: state.oomStep + 1, memoryMiB: size, overrides }),
        record: { ...base, result: 'OOM', summary: `OOM at ${state.memoryMiB} MiB; retrying with ${size} MiB`, taskArn },
      };
    }
  }
  if (outcome.kind === 'INTERRUPTED' && SPOT_STOP_CODES.has(detail.stopCode ?? '') && !state.onFargate) {
    if (options.spotFallback && !state.fallbackUsed) {
      return {
        action: 'RETRY',
        waitSeconds: 0,
        final,
        state: next({ onFargate: true, fallbackUsed: true }),
        record: { ...base, result: 'SPOT', summary: `interrupted on FARGATE_SPOT (${detail.stopCode}) before the app finished; retrying on FARGATE`, taskArn },
      };
    }
    if (canRetry) {
      return {
        action: 'RETRY',
        waitSeconds: backoff(),
        final,
        state: next({ retriesUsed: state.retriesUsed + 1 }),
        record: { ...base, result: 'SPOT', summary: `interrupted (${detail.stopCode}) before the app finished`, taskArn },
      };
    }
  }
  if (outcome.kind === 'FAILED' && options.retryOnAppFailure && canRetry) {
    return {
      action: 'RETRY',
      waitSeconds: backoff(),
      final,
      state: next({ retriesUsed: state.retriesUsed + 1 }),
      record: { ...base, result: outcome.oom ? 'OOM' : 'APP', summary: outcome.summary, taskArn },
    };
  }
  const result2: AttemptRecord['result'] = outcome.kind === 'SUCCEEDED' ? 'SUCCEEDED' : outcome.kind === 'INTERRUPTED' ? 'INTERRUPTED'
    : outcome.oom ? 'OOM' : 'APP';
  return { action: 'REPORT', waitSeconds: 0, state, final, record: { ...base, result: result2, summary: outcome.summary, taskArn } };
}

/** Flattens the state machine's history (`States.Array(history, record)` nests: [[[null, r1], r2], r3]). */
export function flattenHistory(history: unknown): AttemptRecord[] {
  const out: AttemptRecord[] = [];
  const walk = (h: unknown) => {
    if (Array.isArray(h)) h.forEach(walk);
    else if (h && typeof h === 'object' && typeof (h as AttemptRecord).attempt === 'number') out.push(h as AttemptRecord);
  };
  walk(history);
  return out.sort((a, b) => a.attempt - b.attempt);
}

/** Seconds as "1 h", "30 min", "1 h 30 min", "45 s". */
export function human(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return 'its timeout';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''].filter(Boolean).join(' ');
}

function clipText(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
