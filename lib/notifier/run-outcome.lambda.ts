// The run-outcome handler: one Lambda per stack, invoked asynchronously by each monitored task's STOPPED rule.
// Judges the run by its app container, publishes Runs / FailedRuns / InterruptedRuns, logs one RUN_OUTCOME JSON line
// (with the agent's REPORT figures) and, for tasks that opted in, posts one Slack message per task stop. See
// lib/notifier/run-outcome-handler.ts for the wiring.
import { CloudWatchClient, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ConditionalCheckFailedException, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AttemptResult, decide, Decision, plan, RELIABLE_RUN_GROUP_PREFIX, RunOptions, RunState } from './run-decision';
import {
  AgentReport, buildMessage, judge, Outcome, parseReportLine, RunOutcomeConfig, runOutcomeRecord, SlackMessage, TaskStateDetail, taskStarted,
} from './run-outcome';
import { judgeRun, ReliableRunConfig, RunOutcomeInput } from './run-report';
import { releaseRunLease, runStep, RunStepInput } from './run-steps';
import { handleServiceInput, isServiceInput } from './service-events';

/**
 * What the rule target sends: the event's detail and `resources` (the task ARN), and the task's configuration. The
 * reliable-run state machine sends `decide` (synchronously, after each attempt) or `runOutcome` (once, at the end).
 */
interface HandlerInput extends RunStepInput {
  detail?: TaskStateDetail;
  resources?: unknown;
  config?: RunOutcomeConfig;
  decide?: { options: RunOptions; executionId: string; state?: RunState; attempt?: AttemptResult };
  runOutcome?: RunOutcomeInput;
}

interface LambdaContext { getRemainingTimeInMillis?: () => number }

const cloudwatch = new CloudWatchClient({});
const logs = new CloudWatchLogsClient({});
const dynamodb = new DynamoDBClient({});
const secrets = new SecretsManagerClient({});
/** The reliable-run lease's two calls (lib/notifier/run-lease.ts). */
const leaseDb = { put: (i: any) => dynamodb.send(new PutItemCommand(i)), update: (i: any) => dynamodb.send(new UpdateItemCommand(i)) };

const TABLE = process.env.DEDUP_TABLE_NAME ?? '';
/** How long to wait for the agent's REPORT to reach CloudWatch Logs after the STOPPED event. */
const REPORT_WAIT_MS = Number(process.env.REPORT_WAIT_MS ?? 20_000);
/** A claim older than this belongs to an invocation that died (Lambda timeout is shorter): it may be taken over. */
const CLAIM_LEASE_MS = Number(process.env.CLAIM_LEASE_MS ?? 5 * 60_000);
/** How long a handled task stop is remembered (DynamoDB TTL). EventBridge retries for 24 h at most. */
const DEDUP_TTL_SECONDS = 7 * 86_400;
const SECRET_CACHE_MS = 10 * 60_000;
/** Time kept back from the Lambda timeout for releasing the claim. */
const SAFETY_MS = 5_000;

/**
 * One structured log line as one whole-JSON log event, written to stdout directly (as structured loggers such as
 * Powertools do), not through `console`: the Node.js Lambda runtime patches `console` to prefix every message with
 * `<time>\t<request id>\t<LEVEL>\t` in the Text log format (or wrap it under `message` in the JSON format), and leaves
 * `process.stdout` alone (aws-lambda-nodejs-runtime-interface-client src/LogPatch.js). `JSON.stringify` escapes every
 * newline, so the line is one event; Lambda does not re-encode JSON in its JSON log format. Logs Insights then discovers
 * the fields in any log group, Lambda's or not (test/notifier/run-outcome-log-format.test.ts).
 */
const writeJsonLine = (record: object) => { process.stdout.write(`${JSON.stringify(record)}\n`); };
const log = (level: string, message: string, extra: object = {}) => writeJsonLine({ level, message, ...extra });

/**
 * The state machine's step after an attempt (pure, no AWS calls): `plan` without `state`, else `decide`. Throws on a
 * malformed input, which fails the execution (its ExecutionsFailed alarm).
 */
export function decideStep(input: NonNullable<HandlerInput['decide']>): RunState | Decision {
  if (!input || !input.options || typeof input.executionId !== 'string') throw new Error('decide: options and executionId are required');
  if (!input.state) return plan(input.options, input.executionId);
  // The attempt is the .sync result wrapped as `{ task }`, or the caught error itself (`{ Error, Cause }`).
  const a: any = input.attempt ?? {};
  const attempt: AttemptResult = typeof a.Error === 'string' ? { error: { Error: a.Error, Cause: a.Cause } } : a;
  return decide(input.options, input.state, attempt, input.executionId);
}

/** What an invocation did: `result` is skipped, duplicate, attempt or handled; `outcome` the judgement; `slack` the post. */
export async function handler(input: HandlerInput, context?: LambdaContext): Promise<any> {
  if (input && typeof input === 'object' && input.decide) return decideStep(input.decide);
  if (input && typeof input === 'object' && (input.plan || input.takeOver)) return runStep(input, leaseDb, TABLE);
  const started = Date.now();
  const deadline = started + (context?.getRemainingTimeInMillis?.() ?? 120_000) - SAFETY_MS;
  if (input && typeof input === 'object' && input.runOutcome) return handleRun(input, started, deadline);
  // A FastScalingService's events and the crash windows' flush (lib/notifier/service-events.ts).
  if (isServiceInput(input)) {
    return handleServiceInput(input, { claim, markDone, release, readReport, webhookUrl, postToSlack, deadline, reportWaitMs: REPORT_WAIT_MS });
  }
  const problem = validate(input);
  if (problem) {
    // Never retried: a broken or unknown event would fail the same way every time.
    log('ERROR', `skipped: ${problem}`, { input: truncate(JSON.stringify(input ?? null), 4000) });
    return { result: 'skipped' };
  }
  // The task ARN is the event's `resources[0]` too: an event without `detail.taskArn` is still counted.
  const detail: TaskStateDetail = { ...input.detail!, taskArn: taskArnOf(input)! };
  const cfg = input.config!;
  if (typeof detail.group === 'string' && detail.group.startsWith(RELIABLE_RUN_GROUP_PREFIX)) {
    // An attempt of a reliable run (its STOPPED rule matches group family:<family>, so this comes only from elsewhere):
    // the state machine reports the run once it is over (one message per run).
    log('INFO', 'attempt of a reliable run: the state machine reports the run', { taskArn: detail.taskArn, group: detail.group });
    return { result: 'attempt' };
  }
  const outcome = judge(detail, cfg.appContainer);
  return judgeAndPost(detail.taskArn!, detail, outcome, cfg, started, deadline);
}

/** The end of a reliable run, reported once by the state machine: counted, logged and posted once per execution. */
async function handleRun(input: HandlerInput, started: number, deadline: number): Promise<any> {
  const run = input.runOutcome!;
  const cfg = input.config as ReliableRunConfig | undefined;
  const problem = !cfg || typeof cfg !== 'object' ? 'no task configuration in the input'
    : typeof run.executionArn !== 'string' || !run.executionArn ? 'runOutcome.executionArn is missing'
      : ['appContainer', 'namespace', 'clusterName', 'family', 'logGroupName', 'agentStreamPrefix']
        .find((k) => typeof (cfg as any)[k] !== 'string' || !(cfg as any)[k]);
  if (problem) {
    log('ERROR', `skipped: ${problem.includes(' ') ? problem : `config.${problem} is missing`}`, { input: truncate(JSON.stringify(input), 4000) });
    return { result: 'skipped' };
  }
  // The run is over: its lease (concurrencyPolicy FORBID/REPLACE) goes back first, so a slow post delays no next run.
  await releaseRunLease(leaseDb, TABLE, cfg!, run.executionArn);
  const j = judgeRun(run, cfg!);
  return judgeAndPost(run.executionArn, j.detail, j.outcome, cfg!, started, deadline,
    { attempts: j.attempts.length, record: { executionArn: run.executionArn, attempts: j.attempts.length }, attemptLines: j.attemptLines });
}

/**
 * Claims `key` (a task ARN, or a reliable run's execution ARN), then publishes the run metrics, logs the RUN_OUTCOME
 * line and posts the message, each once. `run`: a reliable run's attempts, extra RUN_OUTCOME fields and attempt lines.
 */
async function judgeAndPost(key: string, detail: TaskStateDetail, outcome: Outcome, cfg: RunOutcomeConfig, started: number, deadline: number,
  run: { attempts?: number; record?: object; attemptLines?: string[] } = {}) {
  const token = `${started}-${Math.random().toString(36).slice(2)}`;
  const claimed = await claim(key, token);
  if (!claimed) {
    log('INFO', 'duplicate: this task stop was already handled', { taskArn: key });
    return { result: 'duplicate' };
  }
  // A retry after a failed post finds the metrics published and the RUN_OUTCOME line logged: each happens once.
  let { metricsPublished, outcomeLogged } = claimed;
  try {
    if (!metricsPublished) {
      await publishRunMetrics(cfg, outcome, run.attempts);
      metricsPublished = true;
    }
    const wantSlack = cfg.failureWebhookSecretArn && cfg.successWebhookSecretArn
      && (outcome.kind !== 'SUCCEEDED' || cfg.notifySuccess !== false);
    // The REPORT, for the RUN_OUTCOME line and the message, of every task that ran (one that never started has none).
    // The wait is bounded by REPORT_WAIT_MS and by the Lambda deadline (30 s kept for posting).
    const { report, note } = detail.taskArn && taskStarted(detail, outcome) && (!outcomeLogged || wantSlack)
      ? await readReport(cfg, detail, Math.min(deadline - 30_000, Date.now() + REPORT_WAIT_MS))
      : { report: undefined, note: undefined };
    if (!outcomeLogged) {
      writeJsonLine({ ...runOutcomeRecord(detail, outcome, cfg, report), ...run.record });
      outcomeLogged = true;
    }
    let posted = 'no-slack';
    if (wantSlack) {
      const message = buildMessage(detail, outcome, cfg, report, note, run.attemptLines);
      const secretArn = outcome.kind === 'SUCCEEDED' ? cfg.successWebhookSecretArn! : cfg.failureWebhookSecretArn!;
      posted = await postToSlack(await webhookUrl(secretArn), message, deadline);
    }
    await markDone(key, token, outcome, posted);
    log('INFO', 'handled', { taskArn: key, outcome: outcome.kind, summary: outcome.summary, slack: posted, ...(note ? { report: note } : {}) });
    return { result: 'handled', outcome: outcome.kind, slack: posted };
  } catch (e) {
    // Hand the claim back (state RETRY, remembering whether the metrics went out and the line was logged) so Lambda's
    // retry or a duplicate delivery can post: a lost message is worse than a retry.
    await release(key, token, metricsPublished, outcomeLogged).catch((r) => log('ERROR', `could not release the claim: ${String(r)}`));
    log('ERROR', `failed, will be retried: ${String((e as Error)?.message ?? e)}`, { taskArn: key });
    throw e;
  }
}

const TASK_ARN = /^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task\/[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)?$/;

/** `detail.taskArn`, else the event's `resources[0]` when that is a task ARN. */
function taskArnOf(input: HandlerInput): string | undefined {
  const fromDetail = input.detail?.taskArn;
  if (typeof fromDetail === 'string' && fromDetail.startsWith('arn:')) return fromDetail;
  const first = Array.isArray(input.resources) ? input.resources[0] : undefined;
  return typeof first === 'string' && TASK_ARN.test(first) ? first : undefined;
}

function validate(input: HandlerInput): string | undefined {
  if (!input || typeof input !== 'object') return 'input is not an object';
  const d = input.detail;
  const c = input.config;
  if (!c || typeof c !== 'object') return 'no task configuration in the input';
  for (const key of ['appContainer', 'namespace', 'clusterName', 'family', 'logGroupName', 'agentStreamPrefix'] as const) {
    if (typeof c[key] !== 'string' || !c[key]) return `config.${key} is missing`;
  }
  if (!d || typeof d !== 'object') return 'no event detail in the input';
  if (!taskArnOf(input)) return 'detail.taskArn is missing (and resources[0] is no task ARN)';
  if (d.lastStatus !== 'STOPPED') return `detail.lastStatus is ${JSON.stringify(d.lastStatus)}, not STOPPED`;
  if (d.containers !== undefined && !Array.isArray(d.containers)) return 'detail.containers is not an array';
  return undefined;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

// ---- at most one message per task stop: a conditional claim in DynamoDB ----

/**
 * Claims the task stop: new, handed back by a failed invocation (RETRY), or claimed by one that died without handing
 * it back (a stale CLAIMED). Returns whether the run's metrics were already published and its RUN_OUTCOME line logged
 * (by an invocation that failed and handed the claim back), or undefined when another
 * invocation holds or has finished it.
 */
async function claim(taskArn: string, token: string): Promise<{ metricsPublished: boolean; outcomeLogged: boolean } | undefined> {
  const now = Date.now();
  try {
    const res = await dynamodb.send(new PutItemCommand({
      TableName: TABLE,
      Item: {
        taskArn: { S: taskArn },
        state: { S: 'CLAIMED' },
        token: { S: token },
        claimedAt: { N: String(now) },
        expiresAt: { N: String(Math.floor(now / 1000) + DEDUP_TTL_SECONDS) },
      },
      ConditionExpression: 'attribute_not_exists(taskArn) OR #s = :retry OR (#s = :claimed AND claimedAt < :stale)',
      ExpressionAttributeNames: { '#s': 'state' },
      ExpressionAttributeValues: { ':claimed': { S: 'CLAIMED' }, ':retry': { S: 'RETRY' }, ':stale': { N: String(now - CLAIM_LEASE_MS) } },
      // The item it replaces, if any: a RETRY left by a failed invocation says whether the metrics went out.
      ReturnValues: 'ALL_OLD',
    }));
    return { metricsPublished: res.Attributes?.metricsPublished?.BOOL === true, outcomeLogged: res.Attributes?.outcomeLogged?.BOOL === true };
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException') return undefined;
    throw e;
  }
}

async function markDone(taskArn: string, token: string, outcome: Outcome, slack: string): Promise<void> {
  await dynamodb.send(new UpdateItemCommand({
    TableName: TABLE,
    Key: { taskArn: { S: taskArn } },
    UpdateExpression: 'SET #s = :done, outcome = :o, slack = :sl',
    ConditionExpression: '#t = :token',
    ExpressionAttributeNames: { '#s': 'state', '#t': 'token' },
    ExpressionAttributeValues: { ':done': { S: 'DONE' }, ':o': { S: outcome.kind }, ':sl': { S: slack }, ':token': { S: token } },
  }));
}

async function release(taskArn: string, token: string, metricsPublished: boolean, outcomeLogged: boolean): Promise<void> {
  await dynamodb.send(new UpdateItemCommand({
    TableName: TABLE,
    Key: { taskArn: { S: taskArn } },
    UpdateExpression: 'SET #s = :retry, metricsPublished = :published, outcomeLogged = :logged REMOVE #t',
    ConditionExpression: '#t = :token',
    ExpressionAttributeNames: { '#s': 'state', '#t': 'token' },
    ExpressionAttributeValues: {
      ':retry': { S: 'RETRY' }, ':published': { BOOL: metricsPublished }, ':logged': { BOOL: outcomeLogged }, ':token': { S: token },
    },
  }));
}

// ---- our own run metrics ----

/**
 * The run metrics, once per task stop (or, for a reliable run, once per run): `Runs` (not for a skipped run: nothing
 * ran), `FailedRuns` (failed, failed to start or timed out; for a reliable run the final outcome only, so an attempt
 * a retry repaired does not count), `InterruptedRuns`; and for a reliable run (`attempts` given) `TimedOutRuns`,
 * `SkippedRuns` and `Attempts` (tasks started for the run), which a plain task would pay for as custom metrics
 * without ever using.
 */
async function publishRunMetrics(cfg: RunOutcomeConfig, outcome: Outcome, attempts?: number): Promise<void> {
  const Dimensions = [{ Name: 'ClusterName', Value: cfg.clusterName }, { Name: 'TaskDefinitionFamily', Value: cfg.family }];
  const k = outcome.kind;
  const datum = (MetricName: string, Value: number) => ({ MetricName, Value, Unit: StandardUnit.Count, Dimensions, Timestamp: new Date() });
  await cloudwatch.send(new PutMetricDataCommand({
    Namespace: cfg.namespace,
    MetricData: [
      ...k === 'SKIPPED' ? [] : [datum('Runs', 1)],
      datum('FailedRuns', k === 'FAILED' || k === 'FAILED_TO_START' || k === 'TIMED_OUT' ? 1 : 0),
      datum('InterruptedRuns', k === 'INTERRUPTED' ? 1 : 0),
      ...attempts === undefined ? [] : [
        datum('TimedOutRuns', k === 'TIMED_OUT' ? 1 : 0),
        datum('SkippedRuns', k === 'SKIPPED' ? 1 : 0),
        datum('Attempts', attempts),
      ],
    ],
  }));
}

// ---- the agent's REPORT of this very task (per task: overlapping runs never mix) ----

/**
 * The REPORT of this task from the agent's stream, looking again (2, 4, 6 … s apart) until `until`. Without one, `note`
 * says why ("REPORT missing: …"): no stream, a stream without this task's REPORT line, or the log could not be read.
 */
async function readReport(cfg: RunOutcomeConfig, detail: TaskStateDetail, until: number): Promise<{ report?: AgentReport; note: string }> {
  const taskId = detail.taskArn!.split('/').pop()!;
  const stream = `${cfg.agentStreamPrefix}/${taskId}`;
  const begun = Date.now();
  const waited = () => `${Math.round((Date.now() - begun) / 1000)} s`;
  let note = '';
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await logs.send(new GetLogEventsCommand({
        logGroupName: cfg.logGroupName, logStreamName: stream, startFromHead: false, limit: 100,
      }));
      const events = res.events ?? [];
      for (let i = events.length - 1; i >= 0; i--) {
        const report = parseReportLine(events[i].message);
        if (report && (report.taskArn === null || report.taskArn === detail.taskArn)) return { report, note: '' };
      }
      note = `REPORT missing: the agent's log stream ${stream} has no REPORT line of this task after ${waited()} ` +
        '(the agent was killed before it could write one, or its log had not reached CloudWatch Logs)';
    } catch (e) {
      if ((e as Error)?.name !== 'ResourceNotFoundException') {
        log('WARN', `could not read the agent log: ${String(e)}`, { stream });
        note = `REPORT missing: could not read the agent log ${stream} (${(e as Error)?.name ?? 'error'})`;
      } else {
        note = `REPORT missing: no agent log stream ${stream} after ${waited()} (the agent never logged, or it logs elsewhere)`;
      }
    }
    const wait = Math.min(2_000 * (attempt + 1), until - Date.now());
    if (wait <= 0) return { note };
    log('INFO', `REPORT not in the agent log yet, looking again in ${wait} ms`, { stream, attempt });
    await sleep(wait);
  }
}

// ---- Slack ----

const secretCache = new Map<string, { url: string; at: number }>();

/** The webhook URL from Secrets Manager: the secret string is the URL, or JSON with `url` or `webhookUrl`. */
async function webhookUrl(secretArn: string): Promise<string> {
  const cached = secretCache.get(secretArn);
  if (cached && Date.now() - cached.at < SECRET_CACHE_MS) return cached.url;
  const res = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
  let url = (res.SecretString ?? '').trim();
  if (url.startsWith('{')) {
    const json = JSON.parse(url);
    url = json.url ?? json.webhookUrl ?? '';
  }
  if (!/^https?:\/\//.test(url)) throw new Error(`secret ${secretArn} holds no webhook URL (a URL, or JSON with "url")`);
  secretCache.set(secretArn, { url, at: Date.now() });
  return url;
}

class TransientSlackError extends Error {}

/**
 * Posts with plain fetch: 200 → posted; 429 → waits `Retry-After` and retries; 5xx or a network error → retries
 * with backoff (1, 2, 4 … s); any other status is permanent (logged with Slack's error string, not retried).
 * Gives up (throws, so Lambda retries later) when the next attempt would pass `deadline`.
 */
export async function postToSlack(url: string, message: SlackMessage, deadline: number): Promise<string> {
  const body = JSON.stringify(message);
  for (let attempt = 0; ; attempt++) {
    let wait: number;
    let why: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(Math.max(1_000, Math.min(10_000, deadline - Date.now()))),
      });
      const text = await res.text().catch(() => '');
      if (res.status === 200) return 'posted';
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get('retry-after'));
        wait = (Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : 1) * 1000;
        why = `429 rate limited (Retry-After ${res.headers.get('retry-after')})`;
      } else if (res.status >= 500) {
        wait = 1000 * 2 ** attempt;
        why = `${res.status} ${truncate(text, 200)}`;
      } else {
        log('ERROR', `Slack rejected the message permanently: ${res.status} ${truncate(text, 500)}`, { status: res.status, slackError: truncate(text, 500) });
        return `rejected ${res.status} ${truncate(text, 100)}`;
      }
    } catch (e) {
      wait = 1000 * 2 ** attempt;
      why = `network error ${String((e as Error)?.message ?? e)}`;
    }
    if (Date.now() + wait + 1_000 > deadline) throw new TransientSlackError(`Slack did not accept the message before the deadline: ${why}`);
    log('WARN', `Slack: ${why}; retrying in ${wait} ms`);
    await sleep(wait);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
