import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import {
  CAPACITY, definitionAndInput, ecsError, ensureLeaseTable, EVERY_OPTION, putLease, execute, EXECUTION, FakeEcs, hang, loadBundledHandler, READINGS,
  resolveCfn, start, Started, synth, task,
} from './reliable-run-support';
import { ConcurrencyPolicy, MonitoredScheduledTaskProps } from '../../lib';
import { decide, groupFor, plan, RunOptions } from '../../lib/notifier/run-decision';
import { judgeRun } from '../../lib/notifier/run-report';
import { loadEvent, unique } from '../notifier/support';
import { matchEvents } from '../support/event-ruler';

// What AWS leaves undocumented about the reliable-run state machine (REFERENCE §10), each reading run through the
// synthesized definition in aws-local-stepfunctions with the ECS stand-in: the promise holds under all of them.

const ERRORS = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'stepfunctions', 'ecs-runtask-errors.json'), 'utf8'));
const UNKNOWN_CAUSES: Array<[string, any]> = ERRORS.amazonEcsUnknown.map((e: any) => [e.reading, e]);
const RETRIED: Array<[string, any]> = ERRORS.retried.map((e: any) => [e.Error, e]);
const NOT_RETRIED: Array<[string, any]> = ERRORS.notRetried.map((e: any) => [e.Error, e]);
const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const arn = (name: string) => `arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:${name}`;

beforeAll(() => loadBundledHandler(), 180_000);

/** The synthesized input with a cluster name of its own (the run lease is per cluster and family). */
function inputFor(props: Partial<MonitoredScheduledTaskProps>, edit: (input: any) => void = () => {}) {
  const { definition, input } = definitionAndInput(synth(props));
  const copy = JSON.parse(JSON.stringify(input));
  copy.config.clusterName = unique('cluster');
  edit(copy);
  return { definition, input: copy };
}

async function until(cond: () => boolean, what: string, ms = 20_000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const throwing = (name: string, cause: string) => async () => { throw ecsError(name, cause); };
const ALLOW_SPOT = { ...EVERY_OPTION, concurrencyPolicy: ConcurrencyPolicy.ALLOW, tags: { team: 'data' } };
const ON_FARGATE = { runRetry: { retries: 2 } };

describe.each(READINGS)('StartedBy and Tags through ecs:runTask.sync %s', (reading) => {
  test('the run\'s tasks are told apart by Group (no StartedBy, no Tags sent); a Spot retry is one run, SUCCEEDED', async () => {
    const { definition, input } = inputFor(ALLOW_SPOT);
    const ecsFake = new FakeEcs([throwing('AmazonECS.Unknown', `Failures: [{Reason: ${CAPACITY}}]`), async () => task()], [], reading);
    const { run } = await execute(definition, input, ecsFake);
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(run.attempts).toHaveLength(2);
    for (const p of ecsFake.runTasks) {
      expect(p.Group).toBe(groupFor(EXECUTION));
      expect(p.StartedBy).toBeUndefined();
      expect(p.Tags).toBeUndefined();
      expect(p.PropagateTags).toBe('TASK_DEFINITION');
    }
  });

  test('a timed-out task is found by its group among the family\'s running tasks and stopped; a task of the family started otherwise is left running', async () => {
    const { definition, input } = inputFor(ALLOW_SPOT, (i) => { i.run.timeoutSeconds = 1; i.run.options.timeoutSeconds = 1; });
    const other = 'arn:aws:ecs:eu-central-1:111111111111:task/batch/handstarted';
    const ecsFake = new FakeEcs([hang], [other], reading);
    const { run } = await execute(definition, input, ecsFake);
    expect(run.outcome.kind).toBe('TIMED_OUT');
    expect(ecsFake.stopped).toHaveLength(1);
    expect(ecsFake.stopped[0].Task).not.toBe(other);
    expect(ecsFake.cluster.has(other)).toBe(true);
    expect(ecsFake.cluster.size).toBe(1);
    expect(ecsFake.stopped[0].Reason).toBe('Run timed out after 1 s (runTimeout): stopped by cdk-fargate-monitor');
  }, 30_000);
});

test('the user\'s tags reach the task through PropagateTags TASK_DEFINITION: they are on the task definition (reliable runs only)', () => {
  const t = synth(ALLOW_SPOT);
  t.hasResourceProperties('AWS::ECS::TaskDefinition', { Tags: Match.arrayWith([{ Key: 'team', Value: 'data' }]) });
  const plain = synth({ tags: { team: 'data' } });
  expect(JSON.stringify(plain.findResources('AWS::ECS::TaskDefinition'))).not.toContain('"team"');
});

test('an attempt\'s STOPPED event never matches the task\'s STOPPED rule (group cfm:…), under every startedBy; a task started otherwise does (AWS event-ruler)', () => {
  const t = synth(ALLOW_SPOT);
  const rules = Object.values(resolveCfn(t.findResources('AWS::Events::Rule'))) as any[];
  const stopped = rules.find((r) => r.Properties.EventPattern?.detail?.lastStatus?.[0] === 'STOPPED').Properties.EventPattern;
  const event = (group: string, startedBy?: string) => {
    const e = loadEvent('fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json');
    e.detail.clusterArn = stopped.detail.clusterArn[0];
    e.detail.group = group;
    if (startedBy === undefined) delete e.detail.startedBy; else e.detail.startedBy = startedBy;
    return e;
  };
  const attempt = groupFor(EXECUTION);
  const events = [
    event(attempt, 'cfm-0123456789abcdef0123456789abcdef'), event(attempt, 'AWS Step Functions'), event(attempt),
    event('family:nightly0', 'events-rule/nightly0'), event('family:nightly0', 'AWS Step Functions'),
  ];
  expect(matchEvents([stopped], events).map((r) => r[0])).toEqual([false, false, false, true, true]);
});

describe('AmazonECS.Unknown, whatever its cause (text, JSON, empty): could not start, retried', () => {
  test.each(UNKNOWN_CAUSES)('cause %s: on Spot, at once on FARGATE', async (_r, e: any) => {
    const { definition, input } = inputFor(ALLOW_SPOT);
    const ecsFake = new FakeEcs([throwing(e.Error, e.Cause), async () => task()]);
    const { run, started } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks.map((p) => p.LaunchType ?? 'strategy')).toEqual(['strategy', 'FARGATE']);
    expect(started.waits).toEqual([0]); // the fallback: Backoff for 0 s
    expect(run.attempts.map((a) => a.result)).toEqual(['SPOT', 'SUCCEEDED']);
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });

  test.each(UNKNOWN_CAUSES)('cause %s: on FARGATE, retried after the backoff', async (_r, e: any) => {
    const { definition, input } = inputFor(ON_FARGATE);
    const ecsFake = new FakeEcs([throwing(e.Error, e.Cause), async () => task()]);
    const { run, started } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks.map((p) => p.LaunchType)).toEqual(['FARGATE', 'FARGATE']);
    expect(started.waits).toEqual([30]);
    expect(run.attempts.map((a) => a.result)).toEqual(['START', 'SUCCEEDED']);
  });

  test.each(UNKNOWN_CAUSES)('cause %s: on Spot with spotFallback off, retried on Spot after the backoff', async (_r, e: any) => {
    const { definition, input } = inputFor({ ...ALLOW_SPOT, runRetry: { retries: 1, spotFallback: false } });
    const ecsFake = new FakeEcs([throwing(e.Error, e.Cause), async () => task()]);
    const { run, started } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks.map((p) => p.LaunchType ?? 'strategy')).toEqual(['strategy', 'strategy']);
    expect(started.waits).toEqual([30]);
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });
});

describe('API errors seen in the wild (test/fixtures/stepfunctions/ecs-runtask-errors.json)', () => {
  test.each(RETRIED)('%s (throttling, server error) is retried after the backoff', async (_n, e: any) => {
    const { definition, input } = inputFor(ON_FARGATE);
    const ecsFake = new FakeEcs([throwing(e.Error, e.Cause), async () => task()]);
    const { run, started } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(2);
    expect(started.waits).toEqual([30]);
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });

  test.each(NOT_RETRIED)('%s that is not throttling is not retried', async (_n, e: any) => {
    const { definition, input } = inputFor(ON_FARGATE);
    const ecsFake = new FakeEcs([throwing(e.Error, e.Cause)]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(1);
    expect(run.outcome.kind).toBe('FAILED_TO_START');
    expect(run.outcome.summary).toMatch(/not retried: this error does not go away by itself/);
  });
});

describe('backoff', () => {
  test('the Wait seconds grow by backoffRate and stop at maxBackoff (as the emulator reads them)', async () => {
    const retry = { retries: 4, backoff: Duration.seconds(30), backoffRate: 2, maxBackoff: Duration.seconds(70) };
    const { definition, input } = inputFor({ runRetry: retry });
    const fail = throwing('ECS.ServerException', ERRORS.retried[0].Cause);
    const ecsFake = new FakeEcs([fail, fail, fail, fail, async () => task()]);
    const { run, started } = await execute(definition, input, ecsFake);
    expect(started.waits).toEqual([30, 60, 70, 70]);
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });

  test('decide() computes the same waits', () => {
    const options: RunOptions = {
      appContainer: 'app',
      cpu: 256,
      memoryMiB: 512,
      retryAttempts: 4,
      retryOnAppFailure: false,
      backoffSeconds: 30,
      backoffRate: 3,
      maxBackoffSeconds: 100,
      usesStrategy: false,
      usesSpot: false,
      spotFallback: false,
      oomMemorySizes: [],
    };
    let state = plan(options, EXECUTION);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = decide(options, state, { error: { Error: 'AmazonECS.Unknown', Cause: '' } }, EXECUTION);
      expect(d.action).toBe('RETRY');
      waits.push(d.waitSeconds);
      state = d.state;
    }
    expect(waits).toEqual([30, 90, 100, 100]);
  });
});

describe('concurrency across the whole run (the run lease)', () => {
  const props = (policy: ConcurrencyPolicy) => ({ runRetry: { retries: 1 }, concurrencyPolicy: policy });

  test('FORBID: the next run starts while the previous one waits in its backoff: skipped; the previous run\'s retry runs alone', async () => {
    const { definition, input } = inputFor(props(ConcurrencyPolicy.FORBID));
    await ensureLeaseTable();
    const ecsFake = new FakeEcs([throwing('ECS.ServerException', ERRORS.retried[0].Cause), async () => task()]);
    const a = start(definition, input, ecsFake, arn('a'), 1500);
    await until(() => a.entered.includes('Backoff'), 'run A in Backoff');
    expect(ecsFake.cluster.size).toBe(0); // no task running: ListTasks alone would see nothing
    const b = start(definition, input, ecsFake, arn('b'));
    await b.done;
    await a.done;
    expect(ecsFake.runTasks.map((p) => p.Group)).toEqual([groupFor(arn('a')), groupFor(arn('a'))]);
    const reports = Object.fromEntries(ecsFake.reports.map((r) => [r.runOutcome.executionArn, r.runOutcome]));
    expect(judgeRun(reports[arn('b')], input.config).outcome).toMatchObject({
      kind: 'SKIPPED', summary: expect.stringMatching(/^skipped: the \d\d:\d\d( UTC)? run was still running \(concurrencyPolicy FORBID\)$/),
    });
    expect(reports[arn('a')].final).toBeDefined();
    expect(b.entered).toContain('DescribeHolder');
  }, 30_000);

  test('REPLACE: the next run starts while the previous one waits in its backoff: the previous execution is stopped (its retry never runs), reported as replaced', async () => {
    const { definition, input } = inputFor(props(ConcurrencyPolicy.REPLACE));
    await ensureLeaseTable();
    const ecsFake = new FakeEcs([throwing('ECS.ServerException', ERRORS.retried[0].Cause), async () => task()]);
    const a = start(definition, input, ecsFake, arn('a'), 1500);
    await until(() => a.entered.includes('Backoff'), 'run A in Backoff');
    const b = start(definition, input, ecsFake, arn('b'));
    await b.done;
    await a.done;
    await sleep(2000); // past A's backoff: its retry would have run by now
    expect(ecsFake.stoppedExecutions).toEqual([arn('a')]);
    expect(ecsFake.runTasks.map((p) => p.Group)).toEqual([groupFor(arn('a')), groupFor(arn('b'))]);
    const replaced = ecsFake.reports.find((r) => r.runOutcome.executionArn === arn('a'));
    expect(replaced.runOutcome).toEqual({ executionArn: arn('a'), replacedBy: arn('b') });
    expect(ecsFake.reports.find((r) => r.runOutcome.executionArn === arn('b')).runOutcome.final).toBeDefined();
  }, 30_000);

  test('REPLACE with the previous run\'s task running: its execution and its task are stopped, then the run starts: no overlap', async () => {
    const { definition, input } = inputFor(props(ConcurrencyPolicy.REPLACE));
    await ensureLeaseTable();
    const ecsFake = new FakeEcs([hang, async () => task()]);
    const a = start(definition, input, ecsFake, arn('a'));
    await until(() => ecsFake.cluster.size === 1, 'run A\'s task running');
    const aTask = [...ecsFake.cluster.keys()][0];
    const b = start(definition, input, ecsFake, arn('b'));
    await b.done;
    await a.done;
    expect(ecsFake.stoppedExecutions).toEqual([arn('a')]);
    expect(ecsFake.stopped.map((s) => s.Task)).toEqual([aTask]);
    expect(ecsFake.stopped[0].Reason).toMatch(/concurrencyPolicy REPLACE/);
    // A's task was stopped before B's RunTask.
    expect(ecsFake.runTasks.map((p) => p.Group)).toEqual([groupFor(arn('a')), groupFor(arn('b'))]);
  }, 30_000);

  test.each([['FAILED'], ['ABORTED'], ['SUCCEEDED'], ['unknown to Step Functions']])('a lease held by a run that died (%s) does not block the next run', async (status) => {
    const { definition, input } = inputFor(props(ConcurrencyPolicy.FORBID));
    const table = await ensureLeaseTable();
    await putLease(table, input, arn('dead'), +86_400);
    const ecsFake = new FakeEcs([async () => task()]);
    if (status !== 'unknown to Step Functions') ecsFake.executions.set(arn('dead'), { status, startDate: '2026-11-01T02:00:00Z' });
    const { run, started } = await execute(definition, input, ecsFake, arn('next'));
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(started.entered).toContain('TakeOver');
  });

  test('a lease past its bound (expiresAt) is taken without asking Step Functions', async () => {
    const { definition, input } = inputFor(props(ConcurrencyPolicy.FORBID));
    const table = await ensureLeaseTable();
    await putLease(table, input, arn('stuck'), -1);
    const ecsFake = new FakeEcs([async () => task()]);
    ecsFake.executions.set(arn('stuck'), { status: 'RUNNING', startDate: '2026-11-01T02:00:00Z' });
    const { run, started } = await execute(definition, input, ecsFake, arn('next2'));
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(started.entered).not.toContain('DescribeHolder');
  });
});

describe('the execution input is checked first', () => {
  test.each([
    ['concurrencyPolicy "Forbid" (wrong case)', (i: any) => { i.run.concurrencyPolicy = 'Forbid'; }, /run\.concurrencyPolicy must be one of ALLOW, FORBID, REPLACE \(exactly\), got "Forbid"/],
    ['no config', (i: any) => { delete i.config; }, /config is missing/],
    ['a negative retry count', (i: any) => { i.run.options.retryAttempts = -1; }, /run\.options\.retryAttempts/],
    ['no network', (i: any) => { delete i.run.network; }, /run\.network/],
  ])('%s: the execution fails at Plan with ReliableRunInputError, before any RunTask', async (_n, edit, message) => {
    const { definition, input } = inputFor({ runRetry: { retries: 1 } }, edit);
    const ecsFake = new FakeEcs([async () => task()]);
    const s: Started = start(definition, input, ecsFake, arn(unique('bad')));
    await s.done;
    expect(ecsFake.runTasks).toHaveLength(0);
    expect(ecsFake.reports).toHaveLength(0);
    expect(s.entered).toEqual(['Plan']);
    expect(s.failure?.error).toBe('ReliableRunInputError');
    expect(s.failure?.cause).toMatch(message);
  });
});

describe('least privilege, statement by statement', () => {
  test('the state machine role: every statement in full (actions, resources, conditions)', () => {
    const t = synth({ ...ALLOW_SPOT, concurrencyPolicy: ConcurrencyPolicy.REPLACE });
    const policies = resolveCfn(t.findResources('AWS::IAM::Policy')) as Record<string, any>;
    const ofMachine = Object.entries(policies).filter(([id]) => id.startsWith('FargateMonitorReliableRuns'));
    const statements = ofMachine.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const find = (action: string) => statements.filter((s: any) => [s.Action].flat().includes(action));
    const cluster = 'ref-ClusterEB0386A7';
    expect(find('ecs:RunTask')).toEqual([{
      Action: 'ecs:RunTask',
      Effect: 'Allow',
      Resource: 'arn:aws:ecs:eu-central-1:111111111111:task-definition/nightly0:*',
      Condition: { ArnEquals: { 'ecs:cluster': 'arn:aws:lambda:eu-central-1:111111111111:function:ClusterEB0386A7' } },
    }]);
    expect(find('ecs:StopTask')).toEqual([{
      Action: ['ecs:StopTask', 'ecs:DescribeTasks'], Effect: 'Allow', Resource: `arn:aws:ecs:eu-central-1:111111111111:task/${cluster}/*`,
    }]);
    expect(find('ecs:ListTasks')).toEqual([{
      Action: 'ecs:ListTasks',
      Effect: 'Allow',
      Resource: '*',
      Condition: { ArnEquals: { 'ecs:cluster': 'arn:aws:lambda:eu-central-1:111111111111:function:ClusterEB0386A7' } },
    }]);
    expect(find('ecs:TagResource')).toEqual([{
      Action: 'ecs:TagResource',
      Effect: 'Allow',
      Resource: `arn:aws:ecs:eu-central-1:111111111111:task/${cluster}/*`,
      Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
    }]);
    expect(find('states:StopExecution')).toEqual([{
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Effect: 'Allow',
      // execution:<the state machine's Name>:* (resolveCfn writes the GetAtt as a stand-in ARN).
      Resource: expect.stringMatching(/^arn:aws:states:eu-central-1:111111111111:execution:[^*]*FargateMonitorReliableRunsStateMachine[0-9A-F]{8}:\*$/),
    }]);
    expect(find('iam:PassRole')).toHaveLength(1);
    expect(find('iam:PassRole')[0].Condition).toEqual({ StringLike: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    expect(find('lambda:InvokeFunction').map((s: any) => s.Resource)).toEqual([expect.stringMatching(/^arn:aws:lambda:.*FargateMonitorRunOutcomeHandlerFunction/)]);
    // Nothing else of ECS, Step Functions or DynamoDB.
    const actions = statements.flatMap((s: any) => [s.Action].flat()).filter((a: string) => /^(ecs|states|dynamodb):/.test(a)).sort();
    expect(actions).toEqual(['ecs:DescribeTasks', 'ecs:ListTasks', 'ecs:RunTask', 'ecs:StopTask', 'ecs:TagResource', 'states:DescribeExecution', 'states:StopExecution']);
  });
});

describe('what a run costs: state transitions as the emulator counts them, and the README table', () => {
  /** The README's table: path → transitions. */
  function readmeTable(): Record<string, number> {
    const section = README.split('<!-- reliable-run-transitions -->')[1];
    expect(section).toBeDefined();
    const rows = section.split('\n\n')[0].split('\n').filter((l) => /^\| .* \| \d+ \|$/.test(l));
    return Object.fromEntries(rows.map((l) => { const m = /^\| (.*) \| (\d+) \|$/.exec(l)!; return [m[1], Number(m[2])]; }));
  }

  test('each path\'s transitions match the README', async () => {
    const counts: Record<string, number> = {};
    const run = async (name: string, props: Partial<MonitoredScheduledTaskProps>, answers: Array<() => Promise<any>>,
      edit: (i: any) => void = () => {}, setup?: (fake: FakeEcs, input: any) => Promise<void>) => {
      const { definition, input } = inputFor(props, edit);
      await ensureLeaseTable();
      const fake = new FakeEcs(answers);
      if (setup) await setup(fake, input);
      const s = start(definition, input, fake, arn(unique('cost')));
      await s.done;
      counts[name] = s.entered.length;
    };
    const fail = throwing('ECS.ServerException', ERRORS.retried[0].Cause);
    const short = (i: any) => { i.run.timeoutSeconds = 1; i.run.options.timeoutSeconds = 1; };
    await run('Succeeds at once, `ALLOW`', { runTimeout: Duration.hours(1) }, [async () => task()]);
    await run('Succeeds at once, `FORBID` or `REPLACE`', { concurrencyPolicy: ConcurrencyPolicy.FORBID }, [async () => task()]);
    await run('Succeeds on the 2nd attempt (one retry), `ALLOW`', ON_FARGATE, [fail, async () => task()]);
    await run('Times out, `ALLOW` (one task to stop)', { runTimeout: Duration.hours(1) }, [hang], short);
    const holder = async (fake: FakeEcs, input: any, withTask: boolean) => {
      fake.executions.set(arn('holder'), { status: 'RUNNING', startDate: '2026-11-01T02:00:00Z' });
      if (withTask) fake.cluster.set('arn:aws:ecs:eu-central-1:111111111111:task/batch/prev', { TaskArn: 'arn:aws:ecs:eu-central-1:111111111111:task/batch/prev', Group: groupFor(arn('holder')), LastStatus: 'RUNNING', StartedAt: '2026-11-01T02:00:04Z' });
      await putLease(await ensureLeaseTable(), input, arn('holder'), 3600);
    };
    await run('Skipped, `FORBID` (the previous run holds the lease)', { concurrencyPolicy: ConcurrencyPolicy.FORBID }, [], undefined, (f, i) => holder(f, i, false));
    await run('Replaces a run with a task to stop, `REPLACE`', { concurrencyPolicy: ConcurrencyPolicy.REPLACE }, [async () => task()], undefined, (f, i) => holder(f, i, true));
    await run('Refused at Plan (malformed input)', ON_FARGATE, [], (i) => { i.run.concurrencyPolicy = 'Forbid'; });
    expect(counts).toEqual(readmeTable());
  }, 60_000);
});
