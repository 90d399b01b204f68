// The Plan step of the reliable-run state machine, free of AWS and CDK imports: the execution input checked before any
// RunTask, the first attempt's state, and the run lease's key and bound. The run-outcome Lambda bundles this file (the
// state machine calls it synchronously as `{ "plan": … }`) and tests call it directly. Not part of the jsii API.
import { backoffSecondsFor, maxAttemptsOf, plan, RunOptions, RunState } from './run-decision';

/** The error a malformed execution input fails the execution with (its name is the Step Functions error name). */
export class ReliableRunInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReliableRunInputError';
  }
}

/** The concurrency policies the state machine knows (ConcurrencyPolicy's values, exactly). */
export const CONCURRENCY_POLICIES = ['ALLOW', 'FORBID', 'REPLACE'];

const CONFIG_STRINGS = ['appContainer', 'namespace', 'clusterName', 'family', 'logGroupName', 'agentStreamPrefix'];

type Check = [boolean, string];

const isObj = (v: unknown): v is Record<string, any> => !!v && typeof v === 'object' && !Array.isArray(v);
const isStr = (v: unknown) => typeof v === 'string' && v.length > 0;
const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const isNum = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

/**
 * The problems of an execution input (`{ run, config }`, as the schedule sends it: see MonitoredScheduledTask), each
 * naming the field; [] when it is well formed. Checked: the concurrency policy is one of ALLOW, FORBID, REPLACE (case
 * matters: "Forbid" is refused, not run as ALLOW); the RunTask fields the definition reads; every run option with its
 * range; the handler's config.
 */
export function inputProblems(input: unknown): string[] {
  if (!isObj(input)) return ['the execution input is not a JSON object'];
  const run = input.run;
  const config = input.config;
  const problems: string[] = [];
  if (!isObj(run)) problems.push('run is missing or not an object');
  if (!isObj(config)) problems.push('config is missing or not an object (the run could not be reported)');
  if (isObj(config)) {
    for (const k of CONFIG_STRINGS) if (!isStr(config[k])) problems.push(`config.${k} must be a non-empty string`);
  }
  if (!isObj(run)) return problems;
  if (!CONCURRENCY_POLICIES.includes(run.concurrencyPolicy)) {
    problems.push(`run.concurrencyPolicy must be one of ${CONCURRENCY_POLICIES.join(', ')} (exactly), got ${JSON.stringify(run.concurrencyPolicy)}`);
  }
  const checks: Check[] = [
    [isStr(run.cluster), 'run.cluster must be a cluster ARN'],
    [isStr(run.family), 'run.family must be a task definition family'],
    [isStr(run.taskDefinition), 'run.taskDefinition must be a task definition ARN'],
    [isStr(run.handler), 'run.handler must be the run-outcome function ARN'],
    [isObj(run.network) && isObj(run.network.AwsvpcConfiguration) && Array.isArray(run.network.AwsvpcConfiguration.Subnets),
      'run.network must be { AwsvpcConfiguration: { Subnets, SecurityGroups, AssignPublicIp } }'],
    [Array.isArray(run.capacityProviderStrategy) && run.capacityProviderStrategy.every((s: any) => isObj(s) && isStr(s.CapacityProvider)),
      'run.capacityProviderStrategy must be a list of { CapacityProvider, Weight, Base }'],
    [isStr(run.platformVersion), 'run.platformVersion must be a string (LATEST)'],
    [typeof run.enableExecuteCommand === 'boolean', 'run.enableExecuteCommand must be true or false'],
    [run.propagateTags === 'TASK_DEFINITION' || run.propagateTags === 'NONE', 'run.propagateTags must be TASK_DEFINITION or NONE'],
    [isInt(run.timeoutSeconds, 1, 365 * 86_400), 'run.timeoutSeconds must be a whole number of seconds from 1 to 31536000'],
  ];
  for (const [ok, message] of checks) if (!ok) problems.push(message);
  const o = run.options;
  if (!isObj(o)) {
    problems.push('run.options is missing or not an object');
    return problems;
  }
  const optionChecks: Check[] = [
    [isStr(o.appContainer), 'run.options.appContainer must be the app container\'s name'],
    [isInt(o.cpu, 256, 16_384), 'run.options.cpu must be the task\'s CPU units'],
    [isInt(o.memoryMiB, 512, 122_880), 'run.options.memoryMiB must be the task\'s memory, MiB'],
    [isInt(o.retryAttempts, 0, 10), 'run.options.retryAttempts must be a whole number from 0 to 10'],
    [typeof o.retryOnAppFailure === 'boolean', 'run.options.retryOnAppFailure must be true or false'],
    [isNum(o.backoffSeconds, 1, 365 * 86_400), 'run.options.backoffSeconds must be at least 1'],
    [isNum(o.backoffRate, 1, 10), 'run.options.backoffRate must be from 1 to 10'],
    [isNum(o.maxBackoffSeconds, 1, 365 * 86_400) && o.maxBackoffSeconds >= o.backoffSeconds, 'run.options.maxBackoffSeconds must be at least backoffSeconds'],
    [typeof o.usesStrategy === 'boolean', 'run.options.usesStrategy must be true or false'],
    [typeof o.usesSpot === 'boolean', 'run.options.usesSpot must be true or false'],
    [typeof o.spotFallback === 'boolean', 'run.options.spotFallback must be true or false'],
    [Array.isArray(o.oomMemorySizes)
      && o.oomMemorySizes.every((m: unknown, i: number) => isInt(m, 512, 122_880) && (i === 0 || m as number > o.oomMemorySizes[i - 1])),
    'run.options.oomMemorySizes must be ascending memory sizes, MiB'],
    [o.appMemoryReserveMiB === undefined || isInt(o.appMemoryReserveMiB, 0, 122_880), 'run.options.appMemoryReserveMiB must be MiB'],
    [o.timeoutSeconds === undefined || isInt(o.timeoutSeconds, 1, 365 * 86_400), 'run.options.timeoutSeconds must be seconds'],
  ];
  for (const [ok, message] of optionChecks) if (!ok) problems.push(message);
  if (o.usesStrategy === true && Array.isArray(run.capacityProviderStrategy) && run.capacityProviderStrategy.length === 0) {
    problems.push('run.options.usesStrategy is true but run.capacityProviderStrategy is empty');
  }
  return problems;
}

/** The run lease: one per family and cluster, in the run-outcome handler's DynamoDB table. */
export interface LeaseRequest {
  /** Item key: `lease#<cluster name>#<family>`. */
  key: string;
  /** The execution taking it. */
  holder: string;
  /** Epoch seconds after which nobody needs to ask whether the holder still runs (also the item's DynamoDB TTL). */
  expiresAt: number;
}

/** What Plan returns to the state machine. */
export interface PlanResult {
  state: RunState;
  /** `taken` true: this run may start (ALLOW needs no lease); else `holder` is the execution that holds it. */
  lease: { taken: boolean; holder?: string };
}

/** Item key of a family's lease: `lease#<cluster name>#<family>` (the handler's config names both). */
export const leaseKey = (clusterName: string, family: string) => `lease#${clusterName}#${family}`;

/**
 * The longest a run can last, seconds: every attempt up to the timeout, every backoff wait, and an hour for the
 * state machine's own steps; at most 366 days. Bounds the lease when nobody can ask whether its holder runs.
 */
export function longestRunSeconds(options: RunOptions, timeoutSeconds: number): number {
  let waits = 0;
  for (let i = 0; i < options.retryAttempts; i++) waits += backoffSecondsFor(options, i);
  return Math.min(366 * 86_400, maxAttemptsOf(options) * timeoutSeconds + waits + 3600);
}

/** The execution input checked (throws ReliableRunInputError naming every problem), the first state, and the lease to take. */
export function planRun(input: unknown, executionId: string, nowMs: number): { state: RunState; lease?: LeaseRequest } {
  if (typeof executionId !== 'string' || !executionId) throw new ReliableRunInputError('plan: executionId is required');
  const problems = inputProblems(input);
  if (problems.length) throw new ReliableRunInputError(`The execution input is refused before any RunTask: ${problems.join('; ')}`);
  const run = (input as any).run;
  const options = run.options as RunOptions;
  const state = plan(options, executionId);
  if (run.concurrencyPolicy === 'ALLOW') return { state };
  return {
    state,
    lease: {
      key: leaseKey((input as any).config.clusterName, (input as any).config.family),
      holder: executionId,
      expiresAt: Math.floor(nowMs / 1000) + longestRunSeconds(options, run.timeoutSeconds),
    },
  };
}
