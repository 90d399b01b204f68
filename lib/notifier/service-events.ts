// The run-outcome handler's service side: the events of a FastScalingService with Slack (task stops, deployments,
// service actions, its scale-out alarm's state changes) and the scheduled flush of crash windows and ceiling watches.
// Bundled into run-outcome.lambda; the
// claim, the REPORT reader and Slack posting are the handler's own, passed in (one way to do each).
// Only run-outcome.lambda.ts imports this file, and its bundle carries the SDK (a devDependency, as for that file).
/* eslint-disable import/no-extraneous-dependencies */
import { CloudWatchClient, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import {
  ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { AgentReport, Outcome, SlackMessage, TaskStateDetail } from './run-outcome';
import {
  addCrash, applyAlarmState, CeilingState, ceilingMessage, ceilingTold, checkCeiling, crashMessage, CrashRecord, deploymentMessage,
  flushWindows, judgeServiceStop, ServiceEventDetail, ServiceEventsConfig, serviceActionMessage, ServiceWindowState, summaryMessage,
  summaryPosted,
} from './service-incident';

/** The service rule's target input. */
export interface ServiceEventInput {
  serviceEvent: { id?: string; detailType?: string; source?: string; time?: string; resources?: string[]; detail?: any };
  serviceConfig: ServiceEventsConfig;
}

/** What the handler lends: its claim, REPORT reader and Slack poster. */
export interface ServiceHandlerDeps {
  deadline: number;
  reportWaitMs: number;
  claim(key: string, token: string): Promise<{ metricsPublished: boolean; outcomeLogged: boolean } | undefined>;
  markDone(key: string, token: string, outcome: Outcome, slack: string): Promise<void>;
  release(key: string, token: string, metricsPublished: boolean, outcomeLogged: boolean): Promise<void>;
  readReport(cfg: ServiceEventsConfig, detail: TaskStateDetail, until: number): Promise<{ report?: AgentReport; note: string }>;
  webhookUrl(secretArn: string): Promise<string>;
  postToSlack(url: string, message: SlackMessage, deadline: number): Promise<string>;
}

const cloudwatch = new CloudWatchClient({});
const dynamodb = new DynamoDBClient({});
const ecs = new ECSClient({});
const TABLE = () => process.env.DEDUP_TABLE_NAME ?? '';
/**
 * The item listing every service with a crash window or a ceiling watch (read by the scheduled flush: one GetItem when
 * all is quiet).
 */
export const WINDOW_INDEX_KEY = 'service-windows';
const windowKey = (cfg: ServiceEventsConfig) => `service-window#${cfg.clusterName}/${cfg.serviceName}`;
const CEILING_PREFIX = 'service-ceiling#';
const ceilingKey = (cfg: ServiceEventsConfig) => `${CEILING_PREFIX}${cfg.clusterName}/${cfg.serviceName}`;
const TTL_SECONDS = 7 * 86_400;

const log = (level: string, message: string, extra: object = {}) => console.log(JSON.stringify({ level, message, ...extra }));
const token = () => `${Date.now()}-${Math.random().toString(36).slice(2)}`;
const FAILED: Outcome = { kind: 'FAILED', summary: '', oom: false, appExitCode: undefined };

/** Whether the input is for this module. */
export function isServiceInput(input: any): boolean {
  return !!input && typeof input === 'object' && (!!input.serviceEvent || input.serviceFlush === true);
}

export async function handleServiceInput(input: any, deps: ServiceHandlerDeps): Promise<any> {
  if (input.serviceFlush === true) return flushAll(deps);
  const cfg: ServiceEventsConfig | undefined = input.serviceConfig;
  const ev = input.serviceEvent;
  const problem = !cfg || typeof cfg !== 'object' ? 'no service configuration in the input'
    : ['serviceName', 'clusterName', 'namespace', 'appContainer'].find((k) => typeof (cfg as any)[k] !== 'string' || !(cfg as any)[k]);
  if (problem || !ev || typeof ev !== 'object' || !ev.detail || typeof ev.detail !== 'object') {
    log('ERROR', `skipped: ${problem ? (problem.includes(' ') ? problem : `serviceConfig.${problem} is missing`) : 'no event detail'}`);
    return { result: 'skipped' };
  }
  switch (ev.detailType) {
    case 'ECS Task State Change': return taskStopped(ev, cfg!, deps);
    case 'ECS Deployment State Change': {
      const m = deploymentMessage(ev.detail as ServiceEventDetail, cfg!);
      return m ? postOnce(`service-event#${ev.id}#${ev.detail.eventName}`, m.channel, m.message, cfg!, deps) : { result: 'ignored', event: ev.detail.eventName };
    }
    case 'ECS Service Action': {
      const m = serviceActionMessage(ev.detail as ServiceEventDetail, cfg!);
      if (!m) return { result: 'ignored', event: ev.detail.eventName };
      // At most once per window per action: the claim's key is the action and the window the event falls in.
      const at = Date.parse(ev.time ?? '') || Date.now();
      const bucket = Math.floor(at / (cfg!.windowSeconds * 1000));
      return postOnce(`service-action#${cfg!.clusterName}/${cfg!.serviceName}#${ev.detail.eventName}#${bucket}`, 'failure', m, cfg!, deps);
    }
    case 'CloudWatch Alarm State Change': return alarmStateChanged(ev, cfg!, deps);
    default:
      log('ERROR', `skipped: unknown detail-type ${JSON.stringify(ev.detailType)}`);
      return { result: 'skipped' };
  }
}

/** Posts a message once for `key` (the handler's claim: a retry after a failed post posts; a duplicate does not). */
async function postOnce(key: string, channel: 'failure' | 'success', message: SlackMessage, cfg: ServiceEventsConfig, deps: ServiceHandlerDeps) {
  const t = token();
  const claimed = await deps.claim(key, t);
  if (!claimed) return { result: 'duplicate' };
  try {
    const posted = await post(channel, message, cfg, deps);
    await deps.markDone(key, t, FAILED, posted);
    log('INFO', 'posted', { key, slack: posted });
    return { result: 'handled', slack: posted };
  } catch (e) {
    await deps.release(key, t, false, false).catch(() => undefined);
    throw e;
  }
}

async function post(channel: 'failure' | 'success', message: SlackMessage, cfg: ServiceEventsConfig, deps: ServiceHandlerDeps): Promise<string> {
  const arn = channel === 'success' ? cfg.successWebhookSecretArn : cfg.failureWebhookSecretArn;
  if (!arn) return 'no-slack';
  return deps.postToSlack(await deps.webhookUrl(arn), message, deps.deadline);
}

async function taskStopped(ev: ServiceEventInput['serviceEvent'], cfg: ServiceEventsConfig, deps: ServiceHandlerDeps) {
  const detail: TaskStateDetail = { ...ev.detail };
  if (typeof detail.taskArn !== 'string') detail.taskArn = Array.isArray(ev.resources) ? ev.resources[0] : undefined;
  if (typeof detail.taskArn !== 'string' || detail.lastStatus !== 'STOPPED') {
    log('ERROR', 'skipped: not a STOPPED task with a task ARN');
    return { result: 'skipped' };
  }
  const stop = judgeServiceStop(detail, cfg.appContainer);
  if (!stop.incident) {
    log('INFO', 'not an incident', { taskArn: detail.taskArn, why: stop.why });
    return { result: 'not-incident', why: stop.why };
  }
  const key = detail.taskArn;
  const t = token();
  const claimed = await deps.claim(key, t);
  if (!claimed) return { result: 'duplicate' };
  let metricsPublished = claimed.metricsPublished;
  let posted = 'counted';
  try {
    if (!metricsPublished) {
      await publishCrash(cfg, stop.reason);
      metricsPublished = true;
    }
    // The REPORT, for an OOM's peak (counted in the summary) and for the message of a crash posted at once.
    const started = stop.reason !== 'FailedToStart' && !!detail.startedAt;
    const until = Math.min(deps.deadline - 30_000, Date.now() + deps.reportWaitMs);
    let read: { report?: AgentReport; note: string } | undefined;
    if (started && stop.reason === 'OutOfMemory') read = await deps.readReport(cfg, detail, until);
    const record: CrashRecord = { reason: stop.reason };
    if (read?.report && typeof read.report.maxMemoryUsedMiB === 'number') {
      record.peakMiB = read.report.maxMemoryUsedMiB;
      record.limitMiB = typeof read.report.memoryLimitMiB === 'number' && read.report.memoryLimitMiB > 0 ? read.report.memoryLimitMiB : cfg.memoryMiB;
    }
    // Windows by the event's time (EventBridge's `time`, when ECS emitted it), so a crash at a window's end falls on
    // one side of it whatever the delivery delay; without one, the arrival time.
    const now = Date.parse(ev.time ?? '') || Date.now();
    const windowMs = cfg.windowSeconds * 1000;
    const step = await updateWindow(cfg, (s) => {
      const r = addCrash(s, key, record, now, windowMs);
      return { state: r.state, result: r };
    });
    if (step.postAtOnce) {
      if (started && !read) read = await deps.readReport(cfg, detail, until);
      posted = await post('failure', crashMessage(detail, stop, cfg, read?.report, read?.note), cfg, deps);
    }
    await deps.markDone(key, t, stop.outcome, posted);
    log('INFO', 'service task crashed', { taskArn: key, reason: stop.reason, slack: posted });
  } catch (e) {
    await deps.release(key, t, metricsPublished, false).catch(() => undefined);
    log('ERROR', `failed, will be retried: ${String((e as Error)?.message ?? e)}`, { taskArn: key });
    throw e;
  }
  // Summaries of windows that have ended, after the crash is done (a failure here must not hand the crash's claim
  // back and post it twice); the scheduled flush does the same a minute later, a claim per window posts each once.
  await postPendingSummaries(cfg, deps);
  return { result: 'handled', reason: stop.reason, slack: posted };
}

/**
 * `TaskCrashes` (Count, 1 per crash) twice: with `ClusterName` and `ServiceName` (what the alarm watches), and with
 * `Reason` added (OutOfMemory, ExitCode, HealthCheck, FailedToStart).
 */
async function publishCrash(cfg: ServiceEventsConfig, reason: string): Promise<void> {
  const base = [{ Name: 'ClusterName', Value: cfg.clusterName }, { Name: 'ServiceName', Value: cfg.serviceName }];
  const Timestamp = new Date();
  await cloudwatch.send(new PutMetricDataCommand({
    Namespace: cfg.namespace,
    MetricData: [
      { MetricName: 'TaskCrashes', Value: 1, Unit: StandardUnit.Count, Dimensions: base, Timestamp },
      { MetricName: 'TaskCrashes', Value: 1, Unit: StandardUnit.Count, Dimensions: [...base, { Name: 'Reason', Value: reason }], Timestamp },
    ],
  }));
}

// ---- the service items (crash window, ceiling watch): optimistic concurrency on a version number ----

interface StateItem<S> { state: S; version: number; cfg?: ServiceEventsConfig }

async function readItem<S>(key: string): Promise<StateItem<S>> {
  const res = await dynamodb.send(new GetItemCommand({ TableName: TABLE(), Key: { taskArn: { S: key } }, ConsistentRead: true }));
  const item = res.Item;
  if (!item) return { state: {} as S, version: 0 };
  return {
    state: JSON.parse(item.window?.S ?? '{}'),
    version: Number(item.version?.N ?? 0),
    cfg: item.config?.S ? JSON.parse(item.config.S) : undefined,
  };
}

/** A change to one service item: the new state, what to return. */
interface ItemChange<S, T> {
  state: S;
  result: T;
  /** Delete the item (and take it off the flush's index). */
  remove?: boolean;
  /** Write nothing (the state did not change). */
  unchanged?: boolean;
}

/** Whether the flush must visit an item in this state: a crash window always (while it exists), a ceiling in ALARM. */
type Watched<S> = (state: S) => boolean;
const windowWatched: Watched<ServiceWindowState> = () => true;
const ceilingWatched: Watched<CeilingState> = (s) => s.alarm === 'ALARM';
const watchedFor = (key: string): Watched<any> => (key.startsWith(CEILING_PREFIX) ? ceilingWatched : windowWatched);

/**
 * Reads, changes and writes a service item, and keeps it on the flush's index while `watched`; a concurrent writer
 * makes it read again (up to 25 times).
 */
async function updateItem<S, T>(key: string, cfg: ServiceEventsConfig, change: (s: S) => ItemChange<S, T>): Promise<T> {
  const watched = watchedFor(key) as Watched<S>;
  for (let attempt = 0; attempt < 25; attempt++) {
    const cur = await readItem<S>(key);
    const { state, result, remove, unchanged } = change(cur.state);
    if (unchanged) return result;
    try {
      if (remove) {
        await dynamodb.send(new DeleteItemCommand({
          TableName: TABLE(),
          Key: { taskArn: { S: key } },
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': { N: String(cur.version) } },
        }));
        await unwatch(key);
      } else {
        await dynamodb.send(new PutItemCommand({
          TableName: TABLE(),
          Item: {
            taskArn: { S: key },
            window: { S: JSON.stringify(state) },
            version: { N: String(cur.version + 1) },
            config: { S: JSON.stringify(cfg) },
            expiresAt: { N: String(Math.floor(Date.now() / 1000) + TTL_SECONDS) },
          },
          ConditionExpression: cur.version === 0 ? 'attribute_not_exists(taskArn)' : 'version = :v',
          ExpressionAttributeValues: cur.version === 0 ? undefined : { ':v': { N: String(cur.version) } },
        }));
        // ADD to a string set is idempotent: the flush finds this service.
        if (watched(state)) await updateWindowIndex('ADD', key);
        else await unwatch(key);
      }
      return result;
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException || (e as Error)?.name === 'ConditionalCheckFailedException')) throw e;
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * (attempt + 1)));
    }
  }
  throw new Error(`the item ${key} of ${cfg.serviceName} changed under every one of 25 attempts`);
}

/**
 * Takes an item off the flush's index. Another writer may have created or re-armed it between this invocation's read
 * and the DELETE, its ADD landing before the DELETE: so the item is read again AFTER the DELETE and put back when it
 * must be visited (a writer whose ADD comes after that read is not undone). Without it, a crash window or a ceiling in
 * ALARM could sit unvisited until its service's next event.
 */
async function unwatch(key: string): Promise<void> {
  await updateWindowIndex('DELETE', key);
  const again = await readItem<any>(key);
  if (again.version > 0 && watchedFor(key)(again.state)) await updateWindowIndex('ADD', key);
}

const updateWindow = <T>(cfg: ServiceEventsConfig, change: (s: ServiceWindowState) => ItemChange<ServiceWindowState, T>) =>
  updateItem(windowKey(cfg), cfg, change);

/**
 * Closes an ended window and posts every pending summary, each once: the claim `<window key>#<start>` guards the
 * post (a failed post hands the claim back and throws, so a retry or the next flush posts it); a posted summary is
 * then removed from the pending list. Returns how many were posted.
 */
async function postPendingSummaries(cfg: ServiceEventsConfig, deps: ServiceHandlerDeps): Promise<number> {
  const windowMs = cfg.windowSeconds * 1000;
  const now = Date.now();
  const pending = await updateWindow(cfg, (s) => {
    const f = flushWindows(s, now, windowMs);
    return { state: f.state, result: f.state.pending ?? [], remove: f.idle };
  });
  let posted = 0;
  for (const w of pending) {
    const key = `${windowKey(cfg)}#${w.start}`;
    const t = token();
    const claimed = await deps.claim(key, t);
    if (claimed) {
      try {
        const result = await post('failure', summaryMessage(w, cfg), cfg, deps);
        await deps.markDone(key, t, FAILED, result);
        posted++;
        log('INFO', 'crash summary posted', { service: cfg.serviceName, windowStart: new Date(w.start).toISOString(), crashes: Object.keys(w.crashes).length });
      } catch (e) {
        await deps.release(key, t, false, false).catch(() => undefined);
        throw e;
      }
    }
    // Posted now, or DONE before (a removal that failed): off the list. Held by another invocation: it removes it.
    if (claimed || await claimDone(key)) await updateWindow(cfg, (s) => ({ state: summaryPosted(s, w.start), result: undefined }));
  }
  return posted;
}

async function claimDone(key: string): Promise<boolean> {
  const res = await dynamodb.send(new GetItemCommand({ TableName: TABLE(), Key: { taskArn: { S: key } }, ConsistentRead: true }));
  return res.Item?.state?.S === 'DONE';
}

/**
 * The scheduled flush (once a minute): every service on the index, its crash window or its ceiling watch. One
 * service's failure does not stop the others; the invocation then fails (so the errors alarm sees it) after all.
 */
async function flushAll(deps: ServiceHandlerDeps): Promise<any> {
  const res = await dynamodb.send(new GetItemCommand({ TableName: TABLE(), Key: { taskArn: { S: WINDOW_INDEX_KEY } }, ConsistentRead: true }));
  const keys = res.Item?.keys?.SS ?? [];
  let summaries = 0;
  let ceilings = 0;
  const failed: string[] = [];
  for (const key of keys) {
    try {
      const item = await readItem<object>(key);
      if (!item.cfg) {
        await unwatch(key);
        continue;
      }
      if (key.startsWith(CEILING_PREFIX)) ceilings += await lookAtCeiling(item.cfg, deps);
      else summaries += await postPendingSummaries(item.cfg, deps);
    } catch (e) {
      failed.push(key);
      log('ERROR', `flush failed for ${key}, the next flush tries again: ${String((e as Error)?.message ?? e)}`);
    }
  }
  if (failed.length) throw new Error(`the flush failed for ${failed.length} of ${keys.length} services: ${failed.join(', ')}`);
  return { result: 'flushed', services: keys.length, summaries, ceilings };
}

// ---- the ceiling ----

/**
 * A state change of the service's scale-out alarm: kept by its state timestamp (newest wins). An ALARM puts the
 * service on the flush's index and looks at it at once (it may already be at its ceiling); any other state takes it
 * off (the item stays, so a late older ALARM changes nothing).
 */
async function alarmStateChanged(ev: ServiceEventInput['serviceEvent'], cfg: ServiceEventsConfig, deps: ServiceHandlerDeps) {
  const value = ev.detail?.state?.value;
  const at = Date.parse(ev.detail?.state?.timestamp ?? '') || Date.parse(ev.time ?? '');
  if (typeof value !== 'string' || !Number.isFinite(at)) {
    log('ERROR', 'skipped: an alarm state change without state.value or a time');
    return { result: 'skipped' };
  }
  const applied = await updateItem<CeilingState, boolean>(ceilingKey(cfg), cfg, (s) => {
    const r = applyAlarmState(s, value, at);
    return { state: r.state, result: r.applied, unchanged: !r.applied };
  });
  if (!applied) return { result: 'ignored', event: `alarm ${value}, not newer than the state kept` };
  if (value !== 'ALARM') return { result: 'handled', alarm: value };
  // The state is kept; the look is a head start (the flush looks again within a minute), so its failure is only logged.
  const told = await lookAtCeiling(cfg, deps).catch((e) => {
    log('WARN', `ceiling: could not look at the service now, the flush will: ${String((e as Error)?.message ?? e)}`);
    return 0;
  });
  return { result: 'handled', alarm: value, told };
}

/** Reads the desired count and tells the ceiling once per ALARM episode when its time is up. Returns 1 if told. */
async function lookAtCeiling(cfg: ServiceEventsConfig, deps: ServiceHandlerDeps): Promise<number> {
  const key = ceilingKey(cfg);
  const current = await readItem<CeilingState>(key);
  if (!ceilingWatched(current.state)) {
    await unwatch(key);
    return 0;
  }
  const desired = await desiredCount(cfg);
  const now = Date.now();
  const maxCapacity = cfg.maxCapacity ?? Infinity;
  const ceilingMs = (cfg.ceilingSeconds ?? 300) * 1000;
  const look = await updateItem<CeilingState, { tell: boolean; state: CeilingState }>(key, cfg, (s) => {
    const r = desired === undefined ? { state: s, tell: false } : checkCeiling(s, desired, now, maxCapacity, ceilingMs);
    return { state: r.state, result: r };
  });
  if (!look.tell) return 0;
  const episode = look.state.alarmSince!;
  const claimKey = `${key}#${episode}`;
  const t = token();
  const claimed = await deps.claim(claimKey, t);
  if (claimed) {
    try {
      const posted = await post('failure', ceilingMessage(cfg, look.state, now), cfg, deps);
      await deps.markDone(claimKey, t, FAILED, posted);
      log('INFO', 'ceiling told', { service: cfg.serviceName, alarmSince: new Date(episode).toISOString(), desired, slack: posted });
    } catch (e) {
      await deps.release(claimKey, t, false, false).catch(() => undefined);
      throw e;
    }
  }
  // Told now, or by another invocation (its claim): this episode is done either way.
  if (claimed || await claimDone(claimKey)) {
    await updateItem<CeilingState, void>(key, cfg, (s) => ({ state: ceilingTold(s, episode), result: undefined }));
  }
  return claimed ? 1 : 0;
}

/** The service's desired count (ECS DescribeServices), or undefined when ECS does not know the service. */
async function desiredCount(cfg: ServiceEventsConfig): Promise<number | undefined> {
  const res = await ecs.send(new DescribeServicesCommand({ cluster: cfg.clusterName, services: [cfg.serviceName] }));
  const svc = res.services?.find((x) => x.serviceName === cfg.serviceName);
  if (!svc || typeof svc.desiredCount !== 'number') {
    log('WARN', `ceiling: ECS does not know the service ${cfg.serviceName} in ${cfg.clusterName}`, { failures: res.failures });
    return undefined;
  }
  return svc.desiredCount;
}

/** Adds a service's window key to (or deletes it from) the index of open windows the flush reads. */
async function updateWindowIndex(op: 'ADD' | 'DELETE', key: string): Promise<void> {
  await dynamodb.send(new UpdateItemCommand({
    TableName: TABLE(),
    Key: { taskArn: { S: WINDOW_INDEX_KEY } },
    UpdateExpression: `${op} #k :k`,
    ExpressionAttributeNames: { '#k': 'keys' },
    ExpressionAttributeValues: { ':k': { SS: [key] } },
  }));
}
