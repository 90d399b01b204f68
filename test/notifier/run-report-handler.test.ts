import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { SerialProxy } from './serial-proxy';
import { awsConfig, createLogs, createTable, loadEvent, runHandler, slackWithWebhookSecrets, unique } from './support';
import { groupFor } from '../../lib/notifier/run-decision';
import { ConcurrencyPolicy } from '../../lib/scheduled-task';
import {
  CAPACITY, definitionAndInput, ecsError, EVERY_OPTION, execute, FakeEcs, hang, loadBundledHandler, synth, task,
} from '../scheduled-task/reliable-run-support';
import { motoUrl } from '../support/moto';

// The end of a reliable run, end to end: the synthesized state machine definition runs in aws-local-stepfunctions (its
// Plan and Decide steps call the real bundled handler, its ECS calls are answered by the stand-in of
// test/scheduled-task/reliable-run-support.ts); the report it sends at the end (Report, ReportTimedOut or
// ReportSkipped) is captured as is and sent to the real bundled handler in its own node process, against moto
// (DynamoDB, CloudWatch, CloudWatch Logs, Secrets Manager) and a local Slack stand-in. Everything is read back from
// moto and the stand-in.

const hooks = slackWithWebhookSecrets(loadBundledHandler);
const slack = hooks.slack;

const FAMILY = 'nightly0';
const METRICS = ['Runs', 'FailedRuns', 'InterruptedRuns', 'TimedOutRuns', 'SkippedRuns', 'Attempts'] as const;
type MetricName = typeof METRICS[number];

/** The task's config as the schedule puts it in the execution input, pointed at moto and the Slack stand-in. */
async function testConfig(synthesized: any) {
  return {
    ...synthesized,
    namespace: unique('Test/Runs'),
    // A cluster name of its own per test: moto's GetMetricData matches on name and dimensions, not on the namespace.
    clusterName: unique('cluster'),
    logGroupName: await createLogs({}),
    successWebhookSecretArn: hooks.successArn,
    failureWebhookSecretArn: hooks.failureArn,
    notifySuccess: true,
  };
}

interface Scenario {
  /** Input edits (e.g. a 1-second timeout). */
  edit?: (input: any) => any;
  /** Tasks of the family still running (for the concurrency policy). */
  running?: string[];
  executionId?: string;
}

/**
 * Runs the synthesized definition with `props` and the scripted RunTask answers; returns the report the state machine
 * sent to the handler at the end (`{ runOutcome, config }`, unchanged) and what it was built from.
 */
async function stateMachineReport(props: Parameters<typeof synth>[0], answers: Array<(p: any) => Promise<any>>, s: Scenario = {}) {
  const { definition, input: synthesized } = definitionAndInput(synth(props), FAMILY);
  const base = { ...synthesized, config: await testConfig(synthesized.config) };
  const input = s.edit ? s.edit(base) : base;
  const executionArn = s.executionId ?? `arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:${unique('run')}`;
  const ecsFake = new FakeEcs(answers, s.running ?? []);
  const { report } = await execute(definition, input, ecsFake, executionArn);
  // The report is what the state machine built, config included: the test sends it as is.
  expect(report.runOutcome.executionArn).toBe(executionArn);
  expect(report.config).toEqual(input.config);
  return { report, executionArn, cfg: input.config, ecsFake };
}

const env = (table: string) => ({ DEDUP_TABLE_NAME: table, REPORT_WAIT_MS: '0' });
const outcomeLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('{"type":"RUN_OUTCOME"')).map((l) => JSON.parse(l));
const headerOf = (m: any) => m.attachments[0].blocks[0].text.text;
/** The message's first line: the outcome's summary, in bold. */
const summaryOf = (m: any) => m.attachments[0].blocks[1].text.text.split('\n')[0];
const attemptsOf = (m: any) => m.attachments[0].blocks.find((b: any) => b.text?.text?.startsWith('*Attempts*'))?.text.text;

/** Per metric of the task: the datums' values in the last hour (Sum per hour; [] when nothing was published). */
async function metrics(cfg: { namespace: string; clusterName: string; family: string }): Promise<Record<MetricName, number[]>> {
  const dims = [{ Name: 'ClusterName', Value: cfg.clusterName }, { Name: 'TaskDefinitionFamily', Value: cfg.family }];
  const res = await new CloudWatchClient(awsConfig()).send(new GetMetricDataCommand({
    StartTime: new Date(Date.now() - 3600_000),
    EndTime: new Date(Date.now() + 3600_000),
    MetricDataQueries: METRICS.map((MetricName, i) => ({
      Id: `m${i}`, MetricStat: { Metric: { Namespace: cfg.namespace, MetricName, Dimensions: dims }, Period: 3600, Stat: 'Sum' },
    })),
  }));
  return Object.fromEntries(METRICS.map((name, i) => [name, res.MetricDataResults!.find((r) => r.Id === `m${i}`)!.Values ?? []])) as any;
}
const sums = (m: Record<MetricName, number[]>) => Object.fromEntries(METRICS.map((n) => [n, m[n].reduce((a, b) => a + b, 0)]));

describe('the run report of the real state machine, through the bundled handler', () => {
  const retryProps = { ...EVERY_OPTION, concurrencyPolicy: ConcurrencyPolicy.ALLOW, runRetry: { retries: 2 } };
  const spotThenFargate = () => [
    async () => { throw ecsError('AmazonECS.Unknown', `Failures: [{Reason: ${CAPACITY}}]`); },
    async () => task(),
  ];

  test('a run repaired by a retry (Spot capacity, then FARGATE): Runs 1, FailedRuns 0, Attempts 2; one success message listing the attempts; one RUN_OUTCOME line', async () => {
    const table = await createTable();
    const { report, executionArn, cfg, ecsFake } = await stateMachineReport(retryProps, spotThenFargate());
    expect(ecsFake.runTasks.map((p) => p.LaunchType ?? 'strategy')).toEqual(['strategy', 'FARGATE']);
    const finalTask = report.runOutcome.final.taskArn;
    expect(finalTask).toMatch(/^arn:aws:ecs:/);

    const run = await runHandler([report], env(table));
    expect(run.results).toEqual([{ result: 'handled', outcome: 'SUCCEEDED', slack: 'posted' }]);

    expect(sums(await metrics(cfg))).toEqual({ Runs: 1, FailedRuns: 0, InterruptedRuns: 0, TimedOutRuns: 0, SkippedRuns: 0, Attempts: 2 });

    expect(slack.posts('/failure')).toHaveLength(0);
    const [message, ...more] = slack.posts('/success');
    expect(more).toHaveLength(0);
    expect(headerOf(message)).toBe(`:white_check_mark: Succeeded: ${FAMILY}`);
    // 1 + 2 retries + the Spot fallback + 1 OOM size
    expect(summaryOf(message)).toBe('*attempt 2 of 5: FARGATE_SPOT had no capacity, ran on FARGATE*');
    const attempts = attemptsOf(message).split('\n');
    expect(attempts[0]).toBe('*Attempts*');
    expect(attempts[1]).toMatch(/^1\. FARGATE_SPOT, 512 MiB: FARGATE_SPOT had no capacity \(RunTask failed: AmazonECS\.Unknown \(Failures: \[\{Reason: Capacity is unavailable at this time.*\); retrying on FARGATE$/);
    expect(attempts[2]).toBe('2. FARGATE, 512 MiB: The app container "app" exited 0');
    expect(attempts).toHaveLength(3);

    const lines = outcomeLines(run.stdout);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      outcome: 'SUCCEEDED',
      executionArn,
      attempts: 2,
      taskArn: finalTask,
      family: FAMILY,
      clusterName: cfg.clusterName,
      summary: 'attempt 2 of 5: FARGATE_SPOT had no capacity, ran on FARGATE',
    });
  });

  test('a run that failed on every attempt: FailedRuns 1 (once, not per attempt), Attempts 3, one failure message', async () => {
    const table = await createTable();
    const appFails = () => async () => { throw ecsError('States.TaskFailed', JSON.stringify(task((t) => { t.Containers[0].ExitCode = 2; }))); };
    const { report, executionArn, cfg, ecsFake } = await stateMachineReport(
      { runRetry: { retries: 2, onAppFailure: true } }, [appFails(), appFails(), appFails()]);
    expect(ecsFake.runTasks).toHaveLength(3);

    const run = await runHandler([report], env(table));
    expect(run.results).toEqual([{ result: 'handled', outcome: 'FAILED', slack: 'posted' }]);
    const m = await metrics(cfg);
    expect(m.FailedRuns).toEqual([1]);
    expect(sums(m)).toEqual({ Runs: 1, FailedRuns: 1, InterruptedRuns: 0, TimedOutRuns: 0, SkippedRuns: 0, Attempts: 3 });

    expect(slack.posts('/success')).toHaveLength(0);
    const posts = slack.posts('/failure');
    expect(posts).toHaveLength(1);
    expect(headerOf(posts[0])).toBe(`:x: FAILED: ${FAMILY}`);
    expect(summaryOf(posts[0])).toMatch(/^\*attempt 3 of 3: attempt 1 failed, attempt 2 failed, The app container "app" exited 2\*/);
    expect(attemptsOf(posts[0]).split('\n').slice(1)).toEqual([1, 2, 3].map((n) => `${n}. FARGATE, 512 MiB: The app container "app" exited 2`));
    expect(outcomeLines(run.stdout)).toEqual([expect.objectContaining({ outcome: 'FAILED', executionArn, attempts: 3 })]);
  });

  test('a timed-out run: TimedOutRuns 1 and FailedRuns 1; "timed out after 1 s, stopped" to the failure channel', async () => {
    const table = await createTable();
    // The synthesized input with a 1-second timeout, so that the test does not wait an hour.
    const short = (input: any) => ({ ...input, run: { ...input.run, timeoutSeconds: 1, options: { ...input.run.options, timeoutSeconds: 1 } } });
    const { report, executionArn, cfg, ecsFake } = await stateMachineReport(retryProps, [hang], { edit: short });
    expect(report.runOutcome.timedOut).toBe(true);
    expect(ecsFake.stopped).toHaveLength(1);

    const run = await runHandler([report], env(table));
    expect(run.results).toEqual([{ result: 'handled', outcome: 'TIMED_OUT', slack: 'posted' }]);
    expect(sums(await metrics(cfg))).toEqual({ Runs: 1, FailedRuns: 1, InterruptedRuns: 0, TimedOutRuns: 1, SkippedRuns: 0, Attempts: 1 });

    expect(slack.posts('/success')).toHaveLength(0);
    const posts = slack.posts('/failure');
    expect(posts).toHaveLength(1);
    expect(headerOf(posts[0])).toBe(`:x: TIMED OUT: ${FAMILY}`);
    expect(summaryOf(posts[0])).toBe('*timed out after 1 s, stopped*');
    expect(outcomeLines(run.stdout)).toEqual([expect.objectContaining({ outcome: 'TIMED_OUT', executionArn, attempts: 1 })]);
  }, 30_000);

  test('a skipped run (FORBID, the previous run still going): SkippedRuns 1 and no Runs datum at all, so skips never feed the missed-run alarm', async () => {
    const table = await createTable();
    const { report, executionArn, cfg, ecsFake } = await stateMachineReport(EVERY_OPTION, [],
      { running: ['arn:aws:ecs:eu-central-1:111111111111:task/batch/prev'] });
    expect(ecsFake.runTasks).toHaveLength(0);
    expect(report.runOutcome.skipped).toBeDefined();

    const run = await runHandler([report], env(table));
    expect(run.results).toEqual([{ result: 'handled', outcome: 'SKIPPED', slack: 'posted' }]);
    const m = await metrics(cfg);
    // No datum, not even a zero: the missed-run alarm (FILL(Runs, 0) < 1) must not see a skip as a run that ended.
    expect(m.Runs).toEqual([]);
    expect(m.SkippedRuns).toEqual([1]);
    expect(sums(m)).toEqual({ Runs: 0, FailedRuns: 0, InterruptedRuns: 0, TimedOutRuns: 0, SkippedRuns: 1, Attempts: 0 });

    const posts = slack.posts('/failure');
    expect(posts).toHaveLength(1);
    expect(slack.posts('/success')).toHaveLength(0);
    expect(headerOf(posts[0])).toBe(`:fast_forward: Skipped: ${FAMILY}`);
    expect(summaryOf(posts[0])).toBe('*skipped: the 02:00 run was still running (concurrencyPolicy FORBID)*');
    expect(outcomeLines(run.stdout)).toEqual([expect.objectContaining({ outcome: 'SKIPPED', executionArn, attempts: 0 })]);
  });

  test('the same report delivered again (at least once, also at the same time): one post, metrics once, claimed by the execution ARN', async () => {
    const table = await createTable();
    const { report, executionArn, cfg } = await stateMachineReport(retryProps, spotThenFargate());

    const first = await runHandler([report, report], env(table));
    expect(first.results.map((r) => r.result)).toEqual(['handled', 'duplicate']);
    const again = await runHandler([report], env(table));
    expect(again.results.map((r) => r.result)).toEqual(['duplicate']);

    expect(slack.posts('/success')).toHaveLength(1);
    const m = await metrics(cfg);
    expect(m.Runs).toEqual([1]);
    expect(sums(m)).toMatchObject({ Runs: 1, FailedRuns: 0, Attempts: 2 });
    expect(outcomeLines(first.stdout + again.stdout)).toHaveLength(1);
    const item = await new DynamoDBClient(awsConfig()).send(new GetItemCommand({ TableName: table, Key: { taskArn: { S: executionArn } } }));
    expect(item.Item).toMatchObject({ state: { S: 'DONE' }, outcome: { S: 'SUCCEEDED' }, slack: { S: 'posted' } });

    // Two deliveries at once: one wins the claim.
    slack.requests.length = 0;
    const other = await stateMachineReport(retryProps, spotThenFargate());
    // DynamoDB one request at a time, as it applies each write atomically (moto does not: see serial-proxy.ts).
    const dynamodb = new SerialProxy(motoUrl());
    await dynamodb.start();
    const parallel = await runHandler([other.report, other.report], { ...env(table), AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url }, true)
      .finally(() => dynamodb.stop());
    expect(dynamodb.count).toBeGreaterThanOrEqual(3);
    expect(parallel.results.map((r) => r.result).sort()).toEqual(['duplicate', 'handled']);
    expect(slack.posts('/success')).toHaveLength(1);
    expect((await metrics(other.cfg)).Runs).toEqual([1]);

    // The claim is the execution's, not the task family's: the next run of the same task is reported too.
    slack.requests.length = 0;
    const next = await stateMachineReport(retryProps, spotThenFargate());
    const nextRun = await runHandler([{ ...next.report, config: cfg }], env(table));
    expect(nextRun.results.map((r) => r.result)).toEqual(['handled']);
    expect(slack.posts('/success')).toHaveLength(1);
    expect(sums(await metrics(cfg))).toMatchObject({ Runs: 2, Attempts: 4 });
  });
});

describe('ECS STOPPED events of reliable-run attempts', () => {
  /** A real STOPPED event (fivexl: app exit 2, envoy exit 0), a copy with a task ARN of its own. */
  function stoppedEvent(edit: (d: any) => void = () => {}) {
    const e = loadEvent('fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json');
    e.detail.taskArn = `arn:aws:ecs:eu-central-1:111111111111:task/batch/${unique('t').replace(/[^a-z0-9]/gi, '')}`;
    edit(e.detail);
    return e;
  }

  test('an attempt\'s stop (group cfm:…), should it reach the handler, publishes and posts nothing; the same event in group family:… is counted as before', async () => {
    const table = await createTable();
    const synthesized = definitionAndInput(synth(EVERY_OPTION), FAMILY).input;
    const attemptCfg = await testConfig(synthesized.config);
    const plainCfg = await testConfig(synthesized.config);
    // The group the state machine gives a run's tasks; startedBy as AWS-recorded .sync outputs show it.
    const group = groupFor('arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:run-1');
    expect(group).toMatch(/^cfm:[0-9a-f]{32}$/);
    const attempt = stoppedEvent((d) => { d.group = group; d.startedBy = 'AWS Step Functions'; });
    const plain = stoppedEvent((d) => { d.group = `family:${FAMILY}`; });

    // As the rule target sends them: the detail, the resources and the config.
    const run = await runHandler([
      { detail: attempt.detail, resources: attempt.resources, config: attemptCfg },
      { detail: plain.detail, resources: plain.resources, config: plainCfg },
    ], env(table));
    expect(run.results).toEqual([{ result: 'attempt' }, { result: 'handled', outcome: 'FAILED', slack: 'posted' }]);

    const attemptMetrics = await metrics(attemptCfg);
    expect(METRICS.map((n) => attemptMetrics[n])).toEqual(METRICS.map(() => []));
    const plainMetrics = await metrics(plainCfg);
    expect([plainMetrics.Runs, plainMetrics.FailedRuns, plainMetrics.InterruptedRuns]).toEqual([[1], [1], [0]]);
    expect(slack.requests).toHaveLength(1);
    expect(headerOf(slack.posts('/failure')[0])).toBe(`:x: FAILED: ${FAMILY}`);
    expect(outcomeLines(run.stdout).map((l) => l.taskArn)).toEqual([plain.detail.taskArn]);
    // Nothing claimed for the attempt: the run's report is what is claimed.
    const dynamodb = new DynamoDBClient(awsConfig());
    expect((await dynamodb.send(new GetItemCommand({ TableName: table, Key: { taskArn: { S: attempt.detail.taskArn } } }))).Item).toBeUndefined();
  });
});

describe('Plan and TakeOver through the bundled handler (its own process, moto)', () => {
  test('Plan takes the family\'s run lease; a second run finds it held and names the holder; the report gives it back; a malformed input is refused with ReliableRunInputError', async () => {
    const table = await createTable();
    const { input } = definitionAndInput(synth({ ...EVERY_OPTION, concurrencyPolicy: ConcurrencyPolicy.FORBID }), FAMILY);
    const cfg = await testConfig(input.config);
    const full = { ...input, config: cfg };
    const a = `arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:${unique('a')}`;
    const b = `arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:${unique('b')}`;
    const first = await runHandler([{ plan: { input: full, executionId: a } }, { plan: { input: full, executionId: b } }], env(table));
    expect(first.results[0].lease).toEqual({ taken: true, holder: a });
    expect(first.results[0].state).toMatchObject({ attempt: 1, group: expect.stringMatching(/^cfm:[0-9a-f]{32}$/) });
    expect(first.results[1].lease).toEqual({ taken: false, holder: a });
    // TakeOver from a holder that is not the one found: refused, the holder named again.
    const wrong = await runHandler([{ takeOver: { input: full, executionId: b, previous: 'arn:aws:states:eu-central-1:111111111111:execution:x:other' } }], env(table));
    expect(wrong.results).toEqual([{ taken: false, holder: a }]);
    // A's report (skipped here, for brevity) gives the lease back; B then takes it at Plan.
    const report = await runHandler([{ runOutcome: { executionArn: a, skipped: { Tasks: [] } }, config: cfg },
      { plan: { input: full, executionId: b } }], env(table));
    expect(report.results[1].lease).toEqual({ taken: true, holder: b });
    const bad = await runHandler([{ plan: { input: { ...full, run: { ...full.run, concurrencyPolicy: 'Forbid' } }, executionId: b } }], env(table));
    expect(bad.results[0].error).toMatch(/^The execution input is refused before any RunTask: run.concurrencyPolicy must be one of ALLOW, FORBID, REPLACE \(exactly\), got "Forbid"$/);
    expect(bad.stdout).not.toContain('RUN_OUTCOME');
  });
});
