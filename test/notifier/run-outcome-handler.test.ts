import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DeleteLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { SerialProxy } from './serial-proxy';
import {
  allFixtureFiles, awsConfig, createLogs, createTable, loadEvent, reportLine, runHandler, slackWithWebhookSecrets, unique,
} from './support';
import { TaskRunEvents } from '../../lib';
import { motoUrl } from '../support/moto';
import { newStack } from '../support/stacks';

// Every test runs the real bundled handler (assets/lib/notifier/run-outcome.lambda/index.js, built by projen) in its
// own node process against moto (DynamoDB, Secrets Manager, CloudWatch Logs, CloudWatch) and a local HTTP server
// standing in for Slack's incoming webhooks.

const hooks = slackWithWebhookSecrets();
const slack = hooks.slack;

function config(logGroupName: string, over: object = {}) {
  return {
    appContainer: 'app',
    namespace: unique('Test/Runs'),
    clusterName: 'batch',
    family: 'nightly-batch',
    logGroupName,
    agentStreamPrefix: 'agent/fargate-monitor-agent',
    appStreamPrefix: 'app/app',
    cpu: 512,
    memoryMiB: 1024,
    headroomPercent: 20,
    successWebhookSecretArn: hooks.successArn,
    failureWebhookSecretArn: hooks.failureArn,
    notifySuccess: true,
    ...over,
  };
}

/** A STOPPED Fargate task of our family (the fivexl event: app exit 2, envoy exit 0), with edits. */
function stopped(edit: (d: any) => void = () => {}): any {
  const e = loadEvent('fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json');
  e.detail.taskArn = `arn:aws:ecs:eu-central-1:111111111111:task/batch/${unique('t').replace(/[^a-z0-9]/gi, '')}`;
  e.detail.group = 'family:nightly-batch';
  edit(e.detail);
  return e.detail;
}
const taskId = (d: any) => d.taskArn.split('/').pop();
const env = (table: string, extra: Record<string, string> = {}) => ({ DEDUP_TABLE_NAME: table, REPORT_WAIT_MS: '0', ...extra });
/** All text of a Slack message, blocks flattened. */
const textOf = (m: any) => JSON.stringify(m);
const headerOf = (m: any) => m.attachments[0].blocks[0].text.text;
/** The RUN_OUTCOME lines a handler process printed, parsed. */
const outcomeLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{"type":"RUN_OUTCOME"')).map((l) => JSON.parse(l));
const noSlack = { successWebhookSecretArn: undefined, failureWebhookSecretArn: undefined };
const FAILED_TO_START = (d: any) => {
  d.stopCode = 'TaskFailedToStart';
  d.stoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
  delete d.startedAt;
  for (const c of d.containers) delete c.exitCode;
};

/** The app container of a fixture: `app` when there is one, else the first container that is no known sidecar. */
function appName(detail: any): string {
  const names = (detail.containers ?? []).map((c: any) => c.name);
  return names.includes('app') ? 'app' : names.find((n: string) => !/guardduty|envoy|agent/i.test(n)) ?? 'app';
}

describe('every shared fixture event through the bundled handler', () => {
  test('STOPPED task events are judged and posted to the right channel; everything else is skipped', async () => {
    const table = await createTable();
    const fivexl = loadEvent('fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json');
    const group = await createLogs({
      // As the agent writes it: a text REPORT line, the JSON one, and (with EMF) metric lines after it.
      [fivexl.detail.taskArn.split('/').pop()]: [
        'agent started',
        `REPORT TaskArn: ${fivexl.detail.taskArn}\tDuration: 60 s\tApp Exit Code: 2\tMax Memory Used: 900 MiB (87.9% of 1024 MiB)`,
        reportLine(fivexl.detail.taskArn, { maxMemoryUsedMiB: 900, cpuMaxUtilizationPercent: 95 }),
        '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"FargateMonitor","Dimensions":[["ClusterName"]],"Metrics":[{"Name":"CPUUtilization"}]}]},"CPUUtilization":3}',
      ],
    });
    const files = allFixtureFiles();
    const inputs = files.map((f) => {
      const e = loadEvent(f);
      return { detail: e.detail, config: config(group, { appContainer: appName(e.detail ?? {}), family: f.split('_')[0] }) };
    });
    const run = await runHandler(inputs, env(table));
    const got = Object.fromEntries(files.map((f, i) => [f, `${run.results[i].result} ${run.results[i].outcome ?? ''}`.trim()]));
    expect(got).toEqual({
      'alloy_task-state-change_DEPROVISIONING_desired-STOPPED_exit0_EssentialContainerExited_fargate_family-group_2019.json': 'skipped',
      'arkime_task-state-change_RUNNING_ec2_service-group_v2.python-literal.txt': 'skipped',
      'arkime_task-state-change_RUNNING_fargate_service-group_v3.python-literal.txt': 'skipped',
      'arkime_task-state-change_STOPPED_ServiceSchedulerInitiated_exit137_ec2_service-group_v4.python-literal.txt': 'handled INTERRUPTED',
      'arkime_task-state-change_STOPPED_ServiceSchedulerInitiated_exit137_fargate_service-group_v6.python-literal.txt': 'handled INTERRUPTED',
      'awsdocs-2022_deployment-state-change_ERROR_SERVICE_DEPLOYMENT_FAILED.json': 'skipped',
      'awsdocs-2022_deployment-state-change_INFO_SERVICE_DEPLOYMENT_COMPLETED.json': 'skipped',
      'awsdocs-2022_service-action_ERROR_SERVICE_TASK_PLACEMENT_FAILURE_fargate-spot.json': 'skipped',
      'awsdocs-2022_service-action_WARN_SERVICE_TASK_START_IMPAIRED.json': 'skipped',
      'awsdocs-2022_task-state-change_RUNNING_fargate_family-group.json': 'skipped',
      'awsdocs-2022_task-state-change_fargate-spot-interruption_TerminationNotice_SNIPPET-not-valid-json.txt': 'skipped',
      'awsdocs-2025-via-BFavier_task-state-change_RUNNING_ec2_capacity-provider.json': 'skipped',
      'awsdocs-2025-via-BFavier_task-state-change_RUNNING_fargate_guardduty-sidecar_family-group.json': 'skipped',
      'fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json': 'handled FAILED',
      'maasglobal_task-state-change_STOPPED_exit0_ec2_family-group_2018.json': 'handled SUCCEEDED',
    });
    expect(run.results.filter((r) => r.result === 'handled').map((r) => r.slack)).toEqual(['posted', 'posted', 'posted', 'posted']);

    const failures = slack.posts('/failure');
    const successes = slack.posts('/success');
    expect(failures.map(headerOf)).toEqual([':warning: Interrupted: arkime', ':warning: Interrupted: arkime', ':x: FAILED: fivexl']);
    expect(successes.map(headerOf)).toEqual([':white_check_mark: Succeeded: maasglobal']);
    expect(failures.map((m) => m.attachments[0].color)).toEqual(['#ecb22e', '#ecb22e', '#e01e5a']);
    expect(successes[0].attachments[0].color).toBe('#2eb67d');

    const fivexlMsg = textOf(failures[2]);
    expect(fivexlMsg).toContain('The app container \\"app\\" exited 2');
    expect(fivexlMsg).toContain('EssentialContainerExited');
    expect(fivexlMsg).toContain('Essential container in task exited');
    expect(fivexlMsg).toContain('• envoy: exit 0'); // other containers shown apart
    expect(fivexlMsg).toContain('*Run time*\\n'); // startedAt → executionStoppedAt
    expect(fivexlMsg).toContain('Peak memory: app container 900 MiB (87.9 % of the task\'s 1024 MiB: no hard limit)\\nTask peak memory: 900 MiB (87.9 % of 1024 MiB task memory)');
    expect(fivexlMsg).toContain('At its limit: CPU peaked at 95 % of its 512 CPU units. With 20 % headroom it needs 1024 CPU units / 2048 MiB ' +
      '(now 512 CPU units / 1024 MiB); CPU drives the size: its peak of 486 CPU units needs 584 CPU units with the headroom.');
    expect(fivexlMsg).toMatch(/ecs\/v2\/clusters\/test\/tasks\/a6eaf0150a4248dAA1bcbd688121014e\/configuration\?region=eu-central-1\|Task/);
    expect(fivexlMsg).toContain('log-events/agent$252Ffargate-monitor-agent$252Fa6eaf0150a4248dAA1bcbd688121014e|Agent log>');
    const arkimeMsg = textOf(failures[0]);
    expect(arkimeMsg).toContain("Interrupted, not the app's failure: the ECS service scheduler stopped the task (ServiceSchedulerInitiated)");
    expect(textOf(successes[0])).toContain('REPORT missing: no agent log stream agent/fargate-monitor-agent/037d58fc-e5f6-4e95-ac1f-3ce533bb2abb');
    for (const m of [...failures, ...successes]) {
      expect(headerOf(m).length).toBeLessThanOrEqual(150);
      expect(m.attachments[0].blocks.length).toBeLessThanOrEqual(50);
    }
  });
});

describe('the message', () => {
  test('OOM in the app is called out; a task that failed to start has no resource data; the run time is never negative', async () => {
    const table = await createTable();
    const oom = stopped((d) => {
      d.containers[1].exitCode = 137;
      d.containers[1].reason = 'OutOfMemoryError: Container killed due to memory usage';
    });
    const failedToStart = stopped((d) => {
      d.stopCode = 'TaskFailedToStart';
      d.stoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
      delete d.startedAt;
      for (const c of d.containers) delete c.exitCode;
    });
    const negative = stopped((d) => { d.executionStoppedAt = '2020-03-16T15:00:00.000Z'; });
    const group = await createLogs({ [taskId(oom)]: [reportLine(oom.taskArn, { maxMemoryUsedMiB: 1020, maxMemoryUtilizationPercent: 99.6 })] });
    const run = await runHandler([oom, failedToStart, negative].map((detail) => ({ detail, config: config(group) })), env(table));
    expect(run.results.map((r) => r.outcome)).toEqual(['FAILED', 'FAILED_TO_START', 'FAILED']);
    const [oomMsg, fts, neg] = slack.posts('/failure').map(textOf);
    expect(oomMsg).toContain('OUT OF MEMORY');
    expect(oomMsg).toContain('Peak memory: app container 1020 MiB (99.6 % of the task\'s 1024 MiB: no hard limit)');
    // The memory limit alone, not the task size folded into it; memory decides the suggestion.
    expect(oomMsg).toContain('At its limit: the task\'s memory peaked at 100 % of its 1024 MiB. With 20 % headroom it needs 256 CPU units / 2048 MiB ' +
      '(now 512 CPU units / 1024 MiB); memory drives the size: the task\'s peak of 1020 MiB needs 1224 MiB with the headroom.');
    expect(fts).toContain('FAILED TO START');
    expect(fts).toContain('CannotPullContainerError');
    expect(fts).toContain('never started');
    expect(fts).not.toContain('resources');
    expect(neg).toContain('*Run time*\\n0 s');
  });

  test('a right-sized run and an oversized one', async () => {
    const table = await createTable();
    const small = stopped((d) => { d.containers[1].exitCode = 0; });
    const big = stopped((d) => { d.containers[1].exitCode = 0; });
    const group = await createLogs({
      [taskId(small)]: [reportLine(small.taskArn, { maxMemoryUsedMiB: 300, memoryLimitMiB: 512, cpuMaxUtilizationPercent: 30 })],
      [taskId(big)]: [reportLine(big.taskArn, {
        maxMemoryUsedMiB: 1500, memoryLimitMiB: 4096, cpuMaxUtilizationPercent: 60, appRunningAtShutdown: true,
      })],
    });
    await runHandler([
      { detail: small, config: config(group, { cpu: 256, memoryMiB: 512 }) },
      { detail: big, config: config(group, { cpu: 1024, memoryMiB: 4096 }) },
    ], env(table));
    const [s, b] = slack.posts('/success').map(textOf);
    expect(s).toContain('Right-sized: 256 CPU units / 512 MiB is the smallest Fargate size that holds the peaks with 20 % headroom.');
    // 60 % of 1 vCPU × 1.2 = 737 CPU units, 1500 MiB × 1.2 = 1800 MiB → 1024 / 2048 is the cheapest that holds both
    expect(s).not.toContain('still running');
    expect(b).toContain('The agent stopped while the app was still running: the figures end there.');
    expect(b).toContain('Right-size: 1024 CPU units / 2048 MiB would hold the peaks (CPU 60 %, 1500 MiB) with 20 % headroom (now 1024 CPU units / 4096 MiB); ' +
      'CPU drives the size: its peak of 614 CPU units needs 738 CPU units with the headroom.');
  });

  test('two overlapping runs of one family: each message carries its own run\'s figures', async () => {
    const table = await createTable();
    const a = stopped((d) => { d.containers[1].exitCode = 0; });
    const b = stopped((d) => { d.containers[1].exitCode = 0; });
    const group = await createLogs({
      [taskId(a)]: [reportLine(a.taskArn, { maxMemoryUsedMiB: 111, cpuMaxUtilizationPercent: 11 })],
      [taskId(b)]: [reportLine(b.taskArn, { maxMemoryUsedMiB: 444, cpuMaxUtilizationPercent: 44 })],
    });
    await runHandler([{ detail: b, config: config(group) }, { detail: a, config: config(group) }], env(table), true);
    const byTask = Object.fromEntries(slack.posts('/success').map((m) => [textOf(m).match(/tasks\/([^/]+)\/configuration/)![1], textOf(m)]));
    expect(Object.keys(byTask).sort()).toEqual([taskId(a), taskId(b)].sort());
    expect(byTask[taskId(a)]).toContain('Peak memory: app container 111 MiB');
    expect(byTask[taskId(a)]).toContain('peak 11 %');
    expect(byTask[taskId(b)]).toContain('Peak memory: app container 444 MiB');
    expect(byTask[taskId(b)]).not.toContain('111 MiB');
  });

  test('notifySuccess false: failures only; no Slack configured: nothing posted, metrics still published', async () => {
    const table = await createTable();
    const ok = stopped((d) => { d.containers[1].exitCode = 0; });
    const bad = stopped();
    const quiet = stopped();
    const group = await createLogs({});
    const run = await runHandler([
      { detail: ok, config: config(group, { notifySuccess: false }) },
      { detail: bad, config: config(group, { notifySuccess: false }) },
      { detail: quiet, config: config(group, { successWebhookSecretArn: undefined, failureWebhookSecretArn: undefined }) },
    ], env(table));
    expect(run.results.map((r) => r.slack)).toEqual(['no-slack', 'posted', 'no-slack']);
    expect(slack.requests.map((r) => r.path)).toEqual(['/failure']);
  });
});

describe('at most one message per task stop; Slack errors', () => {
  test('the same event twice at once, then again later: one post', async () => {
    const table = await createTable();
    const detail = stopped();
    const input = { detail, config: config(await createLogs({})) };
    // DynamoDB through a proxy that applies one request at a time, as DynamoDB applies each write atomically (moto
    // does not: see serial-proxy.ts); the two invocations still run at once and race for the claim.
    const dynamodb = new SerialProxy(motoUrl());
    await dynamodb.start();
    const first = await runHandler([input, input], env(table, { AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url }), true).finally(() => dynamodb.stop());
    expect(dynamodb.count).toBeGreaterThanOrEqual(3); // two claims and one markDone went through it
    expect(first.results.map((r) => r.result).sort()).toEqual(['duplicate', 'handled']);
    const again = await runHandler([input], env(table));
    expect(again.results[0].result).toBe('duplicate');
    expect(slack.posts('/failure')).toHaveLength(1);
  });

  test('429 then 200: one post after waiting Retry-After', async () => {
    const table = await createTable();
    slack.script('/failure', { status: 429, headers: { 'retry-after': '1' }, body: 'rate_limited' }, { status: 200, body: 'ok' });
    const run = await runHandler([{ detail: stopped(), config: config(await createLogs({})) }], env(table));
    expect(run.results[0].slack).toBe('posted');
    const reqs = slack.requests.filter((r) => r.path === '/failure');
    expect(reqs).toHaveLength(2);
    expect(reqs[1].at - reqs[0].at).toBeGreaterThanOrEqual(1000);
  });

  test('429 with Retry-After 2 (not the 1 s of the first backoff step): waits the 2 s Slack asked for', async () => {
    const table = await createTable();
    slack.script('/failure', { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' }, { status: 200, body: 'ok' });
    const run = await runHandler([{ detail: stopped(), config: config(await createLogs({})) }], env(table));
    expect(run.results[0].slack).toBe('posted');
    const reqs = slack.requests.filter((r) => r.path === '/failure');
    expect(reqs).toHaveLength(2);
    expect(reqs[1].at - reqs[0].at).toBeGreaterThanOrEqual(2000);
    // The wait it chose is the one Slack asked for, not the backoff's (read from its log, not from the clock: a busy
    // machine may delay the retry, never shorten it).
    expect(run.stdout).toContain('retrying in 2000 ms');
    expect(run.stdout).not.toMatch(/retrying in (?!2000 ms)\d+ ms/);
  });

  test('a claim left by an invocation that died is taken over after the 5-minute lease; a live claim is not', async () => {
    const table = await createTable();
    const cfg = config(await createLogs({}), { clusterName: unique('cluster') });
    const dead = stopped();
    const live = stopped();
    const ddb = new DynamoDBClient(awsConfig());
    // Items as the handler writes them when it claims, by an invocation that never got to markDone or release.
    const claimedItem = (taskArn: string, ageMs: number) => ddb.send(new PutItemCommand({
      TableName: table,
      Item: {
        taskArn: { S: taskArn },
        state: { S: 'CLAIMED' },
        token: { S: 'died' },
        claimedAt: { N: String(Date.now() - ageMs) },
        expiresAt: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
      },
    }));
    await claimedItem(dead.taskArn, 6 * 60_000);
    await claimedItem(live.taskArn, 4 * 60_000);
    const run = await runHandler([dead, live].map((detail) => ({ detail, config: cfg })), env(table));
    expect(run.results).toEqual([{ result: 'handled', outcome: 'FAILED', slack: 'posted' }, { result: 'duplicate' }]);
    expect(slack.posts('/failure')).toHaveLength(1);
    expect(textOf(slack.posts('/failure')[0])).toContain(`|Task ${taskId(dead)}>`);
    expect(await runSums(cfg)).toEqual([1, 1, 0]);
    expect(outcomeLines(run.stdout).map((l) => l.taskArn)).toEqual([dead.taskArn]);
    // The takeover finished the claim: a redelivery is a duplicate.
    expect((await runHandler([{ detail: dead, config: cfg }], env(table))).results[0].result).toBe('duplicate');
  });

  test('503 then 200: retried with backoff, one post', async () => {
    const table = await createTable();
    slack.script('/failure', { status: 503, body: 'unavailable' }, { status: 200, body: 'ok' });
    const run = await runHandler([{ detail: stopped(), config: config(await createLogs({})) }], env(table));
    expect(run.results[0].slack).toBe('posted');
    expect(slack.requests).toHaveLength(2);
  });

  test('404 channel_not_found: permanent, no retry, logged with Slack\'s error, not posted again on redelivery', async () => {
    const table = await createTable();
    slack.script('/failure', { status: 404, body: 'channel_not_found' });
    const input = { detail: stopped(), config: config(await createLogs({})) };
    const run = await runHandler([input], env(table));
    expect(run.results[0].slack).toBe('rejected 404 channel_not_found');
    expect(run.stdout).toMatch(/Slack rejected the message permanently: 404 channel_not_found/);
    expect((await runHandler([input], env(table))).results[0].result).toBe('duplicate');
    expect(slack.requests).toHaveLength(1);
  });

  test('Slack down until the deadline: the invocation fails and releases its claim, so the retry posts', async () => {
    const table = await createTable();
    slack.script('/failure', { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const input = { detail: stopped(), config: config(await createLogs({})) };
    const first = await runHandler([input], env(table, { TEST_REMAINING_MS: '9000' }));
    expect(first.results[0].error).toMatch(/Slack did not accept the message before the deadline: 500/);
    slack.script('/failure');
    const retry = await runHandler([input], env(table));
    expect(retry.results[0]).toMatchObject({ result: 'handled', slack: 'posted' });
    expect(slack.requests.filter((r) => r.path === '/failure').length).toBeGreaterThanOrEqual(2);
    expect(slack.requests.at(-1)!.body.attachments[0].blocks[0].text.text).toBe(':x: FAILED: nightly-batch');
  });

  test('broken or unknown input is logged and skipped, never thrown', async () => {
    const table = await createTable();
    const cfg = config('/none');
    const run = await runHandler([
      null as any, {}, { detail: { lastStatus: 'STOPPED' }, config: cfg }, { detail: stopped(), config: { namespace: 'x' } },
      { detail: stopped((d) => { d.containers = 'nope'; }), config: cfg }, { detail: stopped((d) => { d.lastStatus = 'RUNNING'; }), config: cfg },
    ], env(table));
    expect(run.results.map((r) => r.result)).toEqual(['skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(slack.requests).toHaveLength(0);
  });
});

test('REPORT that reaches the log after the event is still found within the wait', async () => {
  const table = await createTable();
  const detail = stopped((d) => { d.containers[1].exitCode = 0; });
  const group = await createLogs({ [taskId(detail)]: ['agent started'] });
  const logsClient = new CloudWatchLogsClient(awsConfig());
  // The REPORT is written only once the handler has looked and not found it: it must find it on a later attempt.
  let written: Promise<unknown> | undefined;
  const pending = runHandler([{ detail, config: config(group) }], env(table, { REPORT_WAIT_MS: '20000' }), false, (out) => {
    if (written || !out.includes('REPORT not in the agent log yet')) return;
    written = logsClient.send(new PutLogEventsCommand({
      logGroupName: group,
      logStreamName: `agent/fargate-monitor-agent/${taskId(detail)}`,
      logEvents: [{ timestamp: Date.now(), message: reportLine(detail.taskArn, { maxMemoryUsedMiB: 222 }) }],
    }));
  });
  const run = await pending;
  await written;
  expect(written).toBeDefined();
  expect(run.results[0].slack).toBe('posted');
  expect(textOf(slack.posts('/success')[0])).toContain('Peak memory: app container 222 MiB');
  await logsClient.send(new DeleteLogStreamCommand({ logGroupName: group, logStreamName: `agent/fargate-monitor-agent/${taskId(detail)}` }));
});

/** Sums of Runs, FailedRuns and InterruptedRuns in the last hour for the task of `cfg`. */
async function runSums(cfg: { namespace: string; clusterName: string }): Promise<number[]> {
  const cw = new CloudWatchClient(awsConfig());
  const dims = [{ Name: 'ClusterName', Value: cfg.clusterName }, { Name: 'TaskDefinitionFamily', Value: 'nightly-batch' }];
  const query = (id: string, MetricName: string) => ({
    Id: id, MetricStat: { Metric: { Namespace: cfg.namespace, MetricName, Dimensions: dims }, Period: 3600, Stat: 'Sum' },
  });
  const res = await cw.send(new GetMetricDataCommand({
    StartTime: new Date(Date.now() - 3600_000),
    EndTime: new Date(Date.now() + 3600_000),
    MetricDataQueries: [query('runs', 'Runs'), query('failed', 'FailedRuns'), query('interrupted', 'InterruptedRuns')],
  }));
  const sum = (id: string) => (res.MetricDataResults ?? []).find((r) => r.Id === id)!.Values!.reduce((a, b) => a + b, 0);
  return [sum('runs'), sum('failed'), sum('interrupted')];
}

test('Runs, FailedRuns and InterruptedRuns are published per task stop, in the task\'s namespace with its dimensions', async () => {
  const table = await createTable();
  const group = await createLogs({});
  // A cluster name of its own: moto's GetMetricData matches on name and dimensions, not on the namespace.
  const cfg = config(group, { clusterName: unique('cluster'), successWebhookSecretArn: undefined, failureWebhookSecretArn: undefined });
  const details = [
    stopped(), // FAILED
    stopped((d) => { d.containers[1].exitCode = 0; d.containers[0].exitCode = 143; }), // SUCCEEDED despite the sidecar
    stopped((d) => { d.stopCode = 'SpotInterruption'; d.containers[1].exitCode = 143; }), // INTERRUPTED
    stopped(FAILED_TO_START), // FAILED_TO_START: counted in FailedRuns, so an image that cannot be pulled alarms
    stopped((d) => { d.stopCode = 'UserInitiated'; d.containers[1].exitCode = 0; }), // StopTask, app exit 0 on SIGTERM: INTERRUPTED
  ];
  const run = await runHandler([...details, details[0]].map((detail) => ({ detail, config: cfg })), env(table));
  expect(run.results.map((r) => r.outcome ?? r.result)).toEqual(['FAILED', 'SUCCEEDED', 'INTERRUPTED', 'FAILED_TO_START', 'INTERRUPTED', 'duplicate']);
  // Timestamped at publish time, not at the fixture's stoppedAt (2020): the last hour holds them all.
  expect(await runSums(cfg)).toEqual([5, 2, 2]);
});

test('a failed post and its retry count the task stop once in Runs and FailedRuns, and post once', async () => {
  const table = await createTable();
  // A cluster name of its own (moto's GetMetricData ignores the namespace).
  const cfg = config(await createLogs({}), { clusterName: unique('cluster') });
  slack.script('/failure', { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
  const input = { detail: stopped(), config: cfg };
  const first = await runHandler([input], env(table, { TEST_REMAINING_MS: '9000' }));
  expect(first.results[0].error).toMatch(/Slack did not accept the message/);
  slack.script('/failure');
  const retry = await runHandler([input, input], env(table));
  expect(retry.results.map((r) => r.result)).toEqual(['handled', 'duplicate']);
  expect(await runSums(cfg)).toEqual([1, 1, 0]);
  // The RUN_OUTCOME line too: logged by the failed invocation, not again by its retry.
  expect(outcomeLines(first.stdout)).toHaveLength(1);
  expect(outcomeLines(retry.stdout)).toHaveLength(0);
});

test('the synthesized rule target input, filled in as EventBridge does, is what the handler reads', async () => {
  const table = await createTable();
  const detail = stopped((d) => { d.containers[1].exitCode = 0; });
  const logGroupName = await createLogs({ [taskId(detail)]: [reportLine(detail.taskArn, { maxMemoryUsedMiB: 321 })] });
  // A stack whose references are all concrete (imported cluster, log group and secrets), so the template is final.
  const stack = newStack();
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', {
    clusterArn: detail.clusterArn, clusterName: unique('test'), vpc: undefined as any,
  });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Def', { family: 'nightly-batch', cpu: 512, memoryLimitMiB: 1024 });
  taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('x') });
  const runs = new TaskRunEvents(stack, 'Runs', {
    cluster,
    taskDefinition,
    appContainerName: 'app',
    namespace: 'Test/E2E',
    appStreamPrefix: 'app',
    logGroup: logs.LogGroup.fromLogGroupName(stack, 'Logs', logGroupName),
    slackNotifications: {
      successWebhook: secretsmanager.Secret.fromSecretCompleteArn(stack, 'S', hooks.successArn),
      failureWebhook: secretsmanager.Secret.fromSecretCompleteArn(stack, 'F', hooks.failureArn),
    },
  });
  const rule = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'))[0] as any;
  const transformer = rule.Properties.Targets[0].InputTransformer;
  expect(typeof transformer.InputTemplate).toBe('string');
  // EventBridge replaces each <name> with the JSON of the event at its path ($.detail, $.resources).
  expect(transformer.InputPathsMap).toEqual({ detail: '$.detail', resources: '$.resources' });
  const event = { resources: [detail.taskArn], detail };
  const input = JSON.parse(transformer.InputTemplate.replace(/<(detail|resources)>/g, (_: string, k: 'detail' | 'resources') => JSON.stringify(event[k])));
  const run = await runHandler([input], env(table));
  expect(run.results[0]).toEqual({ result: 'handled', outcome: 'SUCCEEDED', slack: 'posted' });
  const message = textOf(slack.posts('/success')[0]);
  expect(message).toContain(':white_check_mark: Succeeded: nightly-batch');
  expect(message).toContain('Peak memory: app container 321 MiB (31.3 % of the task\'s 1024 MiB: no hard limit)');
  expect(message).toContain('of 0.5 vCPU');
  expect(message).toContain('|App log>');
  // The datums land under the dimensions of the metrics the alarms watch (moto matches name and dimensions).
  const cw = new CloudWatchClient(awsConfig());
  const query = (id: string, m: cloudwatch.Metric) => ({
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: m.namespace,
        MetricName: m.metricName,
        Dimensions: Object.entries(m.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value: String(Value) })),
      },
      Period: 3600,
      Stat: 'Sum',
    },
  });
  const res = await cw.send(new GetMetricDataCommand({
    StartTime: new Date(Date.now() - 3600_000),
    EndTime: new Date(Date.now() + 3600_000),
    MetricDataQueries: [query('runs', runs.metricRuns()), query('failed', runs.metricFailedRuns())],
  }));
  expect(res.MetricDataResults!.map((r) => [r.Id, r.Values!.reduce((a, b) => a + b, 0)])).toEqual([['runs', 1], ['failed', 0]]);
});

describe('one RUN_OUTCOME line per task stop (for the fleet dashboard\'s Logs Insights queries)', () => {
  test('without Slack: one line per stop with the REPORT\'s figures, nulls without one; a duplicate logs none', async () => {
    const table = await createTable();
    const ok = stopped((d) => {
      d.containers[1].exitCode = 0;
      d.startedAt = '2020-03-16T15:24:18.000Z';
      d.executionStoppedAt = '2020-03-16T15:34:18.000Z';
    });
    const late = stopped(); // its REPORT never reaches the log
    const fts = stopped(FAILED_TO_START);
    const group = await createLogs({
      [taskId(ok)]: [reportLine(ok.taskArn, {
        maxMemoryUsedMiB: 400, memoryLimitMiB: 1024, cpuAverageUtilizationPercent: 30, cpuMaxUtilizationPercent: 88,
      })],
    });
    const cfg = config(group, noSlack);
    const run = await runHandler([ok, late, fts, ok].map((detail) => ({ detail, config: cfg })), env(table, { REPORT_WAIT_MS: '1500' }));
    expect(run.results.map((r) => `${r.result} ${r.slack ?? ''}`.trim())).toEqual(['handled no-slack', 'handled no-slack', 'handled no-slack', 'duplicate']);
    const lines = outcomeLines(run.stdout);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      type: 'RUN_OUTCOME',
      version: 1,
      family: 'nightly-batch',
      clusterName: 'batch',
      taskArn: ok.taskArn,
      taskId: taskId(ok),
      outcome: 'SUCCEEDED',
      oom: false,
      appExitCode: 0,
      stopCode: 'EssentialContainerExited',
      summary: 'The app container "app" exited 0',
      startedAt: '2020-03-16T15:24:18.000Z',
      stoppedAt: ok.stoppedAt,
      durationSeconds: 600,
      cpu: 512,
      memoryMiB: 1024,
      peakMemoryMiB: 400,
      memoryLimitMiB: 1024,
      peakMemoryPercent: 39.1,
      taskPeakMemoryMiB: 400,
      taskPeakMemoryPercent: 39.1,
      cpuAverageUtilizationPercent: 30,
      cpuMaxUtilizationPercent: 88,
      rightSize: 'Right-size: 1024 CPU units / 2048 MiB would hold the peaks (CPU 88 %, 400 MiB) with 20 % headroom ' +
        '(now 512 CPU units / 1024 MiB); CPU drives the size: its peak of 451 CPU units needs 541 CPU units with the headroom.',
    });
    const nullFigures = {
      peakMemoryMiB: null,
      memoryLimitMiB: null,
      peakMemoryPercent: null,
      taskPeakMemoryMiB: null,
      taskPeakMemoryPercent: null,
      cpuAverageUtilizationPercent: null,
      cpuMaxUtilizationPercent: null,
      rightSize: null,
    };
    // The REPORT did not come within the bounded wait: the line goes out with null figures.
    expect(lines[1]).toMatchObject({ taskArn: late.taskArn, outcome: 'FAILED', appExitCode: 2, ...nullFigures });
    expect(run.stdout).toMatch(/"message":"handled".*"report":"REPORT missing: no agent log stream agent\/fargate-monitor-agent\/[^ ]+ after [12] s/);
    // A task that never started: no REPORT is looked for.
    expect(lines[2]).toMatchObject({ taskArn: fts.taskArn, outcome: 'FAILED_TO_START', appExitCode: null, startedAt: null, durationSeconds: null, ...nullFigures });
    expect(Object.keys(lines[2])).toEqual(Object.keys(lines[0]));
    // The wait is bounded: only the REPORT-less started task waited, about REPORT_WAIT_MS, as its own log line above
    // says (1 or 2 s). Not measured with the clock: a busy machine stretches the four invocations, not the wait.
    expect(slack.requests).toHaveLength(0);
  });

  test('an event without detail.taskArn is counted and posted by its resources[0]; a StopTask reason cannot ping the channel', async () => {
    const table = await createTable();
    const cfg = config(await createLogs({}), { clusterName: unique('cluster') });
    const detail = stopped((d) => {
      d.stopCode = 'UserInitiated';
      d.stoppedReason = '<!channel> <https://example.com|Open the AWS console>';
      d.containers[1].exitCode = 0; // the app exits 0 on SIGTERM: still interrupted
    });
    const arn = detail.taskArn;
    delete detail.taskArn;
    const clusterArn = 'arn:aws:ecs:eu-central-1:111111111111:cluster/batch';
    const run = await runHandler([
      { detail, resources: [arn], config: cfg },
      { detail, resources: [arn], config: cfg },
      { detail, resources: [clusterArn], config: cfg },
    ], env(table));
    expect(run.results.map((r) => r.outcome ?? r.result)).toEqual(['INTERRUPTED', 'duplicate', 'skipped']);
    expect(run.stdout).toContain('skipped: detail.taskArn is missing (and resources[0] is no task ARN)');
    expect(await runSums(cfg)).toEqual([1, 0, 1]);
    expect(outcomeLines(run.stdout).map((l) => [l.taskArn, l.taskId])).toEqual([[arn, arn.split('/').pop()]]);
    const [message] = slack.posts('/failure');
    expect(headerOf(message)).toBe(':warning: Interrupted: nightly-batch');
    expect(textOf(message)).toContain(`|Task ${arn.split('/').pop()}>`);
    expect(textOf(message)).toContain('Stopped reason: &lt;!channel&gt; &lt;https://example.com|Open the AWS console&gt;');
    expect(textOf(message)).not.toMatch(/<!channel>|<https:\/\/example\.com/);
  });
});
