import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import {
  CAPACITY, definitionAndInput, ecsError, EVERY_OPTION, execute, FakeEcs, hang, img, loadBundledHandler, resolveCfn, synth, task,
} from './reliable-run-support';
import { ConcurrencyPolicy, MonitoredScheduledTask, MonitoredScheduledTaskProps, ReliableRunStateMachine } from '../../lib';
import { newStack } from '../support/stacks';

// The synthesized state machine definition (taken from the template) runs in a real Amazon States Language
// interpreter (aws-local-stepfunctions). Its Lambda steps (Plan, Decide) run the real bundled run-outcome handler in
// this process; the ECS calls are answered by a stand-in that replays documented responses; the reports the state
// machine sends at the end are judged by the handler's own code (judgeRun).

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator');

beforeAll(() => loadBundledHandler(), 180_000);

describe('the synthesized definition', () => {
  test('passes asl-validator, with every option on and with one option', () => {
    for (const props of [EVERY_OPTION, { runTimeout: Duration.hours(2) }]) {
      const { definition } = definitionAndInput(synth(props));
      const { isValid, errorsText } = aslValidator(definition);
      expect(errorsText('\n')).toBe('');
      expect(isValid).toBe(true);
    }
  });

  test('one state machine per stack; with every option on, each further task adds at most 22 resources (here: the same 18 as without)', () => {
    const count = (n: number) => Object.keys(synth(EVERY_OPTION, n).toJSON().Resources).length;
    const one = count(1);
    const perTask = count(2) - one;
    expect(perTask).toBeLessThanOrEqual(22);
    expect(perTask).toBe(18);
    synth(EVERY_OPTION, 2).resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  });

  test('the schedule starts an execution with the task\'s parameters; least privilege on the state machine role', () => {
    const t = synth(EVERY_OPTION);
    const { input } = definitionAndInput(t);
    expect(input.run).toMatchObject({
      family: 'nightly0',
      concurrencyPolicy: 'FORBID',
      timeoutSeconds: 3600,
      capacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
      options: { retryAttempts: 2, usesSpot: true, spotFallback: true, oomMemorySizes: [1024], memoryMiB: 512, cpu: 256 },
    });
    expect(input.config).toMatchObject({ appContainer: 'app', family: 'nightly0' });
    const policies = JSON.stringify(resolveCfn(t.findResources('AWS::IAM::Policy')));
    expect(policies).toContain('task-definition/nightly0:*');
    expect(policies).toContain('"iam:PassedToService":"ecs-tasks.amazonaws.com"');
    expect(policies).toContain('"ecs:ListTasks"');
    expect(policies).not.toMatch(/"Action":"ecs:RunTask","Resource":"\*"/);
  });
});

describe('runs executed by the real state machine definition', () => {
  const { definition, input } = definitionAndInput(synth({ ...EVERY_OPTION, concurrencyPolicy: ConcurrencyPolicy.ALLOW, runRetry: { retries: 2 } }));

  test('a run that succeeds at once: one RunTask on the strategy, group cfm:…, no StartedBy or Tags, one report, SUCCEEDED', async () => {
    const ecsFake = new FakeEcs([async () => task()]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(1);
    expect(ecsFake.runTasks[0].CapacityProviderStrategy).toEqual([{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }]);
    expect(ecsFake.runTasks[0].LaunchType).toBeUndefined();
    expect(ecsFake.runTasks[0].Group).toMatch(/^cfm:[0-9a-f]{32}$/);
    expect(ecsFake.runTasks[0].StartedBy).toBeUndefined();
    expect(ecsFake.runTasks[0].Tags).toBeUndefined();
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(run.attempts).toHaveLength(1);
  });

  test('RunTask failures[] (Spot capacity, AmazonECS.Unknown) → retried at once on FARGATE: "attempt 2 of 5: FARGATE_SPOT had no capacity, ran on FARGATE"', async () => {
    const ecsFake = new FakeEcs([
      async () => { throw ecsError('AmazonECS.Unknown', `Failures: [{Reason: ${CAPACITY}}]`); },
      async () => task(),
    ]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(2);
    expect(ecsFake.runTasks[1].LaunchType).toBe('FARGATE');
    expect(ecsFake.runTasks[1].CapacityProviderStrategy).toBeUndefined();
    expect(ecsFake.runTasks[1].Group).toBe(ecsFake.runTasks[0].Group);
    expect(run.outcome.kind).toBe('SUCCEEDED');
    // 1 + 2 retries + the Spot fallback + 1 OOM size
    expect(run.outcome.summary).toBe('attempt 2 of 5: FARGATE_SPOT had no capacity, ran on FARGATE');
  });

  test('a Spot interruption before the app finished (exit 0 on SIGTERM) → retried on FARGATE', async () => {
    const ecsFake = new FakeEcs([
      async () => task((t) => { t.StopCode = 'SpotInterruption'; t.StoppedReason = 'Your Spot Task was interrupted.'; }),
      async () => task(),
    ]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks.map((p) => p.LaunchType ?? 'strategy')).toEqual(['strategy', 'FARGATE']);
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(run.outcome.summary).toMatch(/FARGATE_SPOT interrupted it, ran on FARGATE/);
  });

  test('TaskFailedToStart (States.TaskFailed, cause: the task) → retried with backoff until the attempts run out; the final outcome FAILED_TO_START', async () => {
    const failed = () => async () => {
      throw ecsError('States.TaskFailed', JSON.stringify(task((t) => {
        t.StopCode = 'TaskFailedToStart'; t.StoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
        delete t.StartedAt; t.Containers[0].ExitCode = undefined;
      })));
    };
    const ecsFake = new FakeEcs([failed(), failed(), failed(), failed()]);
    const onFargate = definitionAndInput(synth({ runRetry: { retries: 2 }, oomRetry: { maxMemoryMiB: 1024 } }));
    const { run, report } = await execute(onFargate.definition, onFargate.input, ecsFake);
    expect(ecsFake.runTasks.map((p) => p.LaunchType)).toEqual(['FARGATE', 'FARGATE', 'FARGATE']);
    expect(ecsFake.runTasks).toHaveLength(3); // 1 + retryAttempts 2
    expect(run.outcome.kind).toBe('FAILED_TO_START');
    expect(run.attempts.map((a) => a.result)).toEqual(['START', 'START', 'START']);
    expect(report.runOutcome.maxAttempts).toBe(4);
  });

  test('an app OOM → one retry with the next Fargate memory size (task override; the app has no hard limit): "OOM at 512 MiB, succeeded at 1024 MiB: set memoryLimitMiB to 1024"', async () => {
    const ecsFake = new FakeEcs([
      async () => { throw ecsError('States.TaskFailed', JSON.stringify(task((t) => { t.Containers[0].ExitCode = 137; t.Containers[0].Reason = 'OutOfMemoryError: Container killed due to memory usage'; }))); },
      async () => task(),
    ]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks[0].Overrides).toEqual({});
    expect(ecsFake.runTasks[1].Overrides).toEqual({ Memory: '1024' });
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(run.outcome.summary).toMatch(/^OOM at 512 MiB, succeeded at 1024 MiB: set memoryLimitMiB to 1024/);
  });

  test('a run past its timeout → States.Timeout, the task is found by its group and stopped with a reason: "timed out after …, stopped"', async () => {
    const ecsFake = new FakeEcs([hang]);
    // The synthesized input with a 1-second timeout, so that the test does not wait an hour.
    const short = { ...input, run: { ...input.run, timeoutSeconds: 1, options: { ...input.run.options, timeoutSeconds: 1 } } };
    const { run } = await execute(definition, short, ecsFake);
    expect(ecsFake.listed[0]).toEqual({ Cluster: input.run.cluster, Family: 'nightly0', DesiredStatus: 'RUNNING' });
    expect(ecsFake.stopped).toHaveLength(1);
    expect(ecsFake.cluster.size).toBe(0);
    expect(ecsFake.stopped[0].Reason).toBe('Run timed out after 1 s (runTimeout): stopped by cdk-fargate-monitor');
    expect(run.outcome.kind).toBe('TIMED_OUT');
    expect(run.outcome.summary).toBe('timed out after 1 s, stopped');
  }, 20_000);

  test('an app failure is final without onAppFailure: one attempt, FAILED', async () => {
    const ecsFake = new FakeEcs([async () => { throw ecsError('States.TaskFailed', JSON.stringify(task((t) => { t.Containers[0].ExitCode = 2; }))); }]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(1);
    expect(run.outcome.kind).toBe('FAILED');
  });
});

describe('concurrency policy', () => {
  test('FORBID with the previous run still running: nothing started, reported as skipped with that run\'s start time', async () => {
    const { definition, input } = definitionAndInput(synth(EVERY_OPTION));
    const ecsFake = new FakeEcs([], ['arn:aws:ecs:eu-central-1:111111111111:task/batch/prev']);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.listed[0]).toMatchObject({ Family: 'nightly0', DesiredStatus: 'RUNNING' });
    expect(ecsFake.runTasks).toHaveLength(0);
    expect(run.outcome.kind).toBe('SKIPPED');
    expect(run.outcome.summary).toBe('skipped: the 02:00 run was still running (concurrencyPolicy FORBID)');
  });

  test('FORBID with nothing running starts the run', async () => {
    const { definition, input } = definitionAndInput(synth(EVERY_OPTION));
    const ecsFake = new FakeEcs([async () => task()], []);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(1);
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });

  test('REPLACE stops the previous run with a reason, then starts', async () => {
    const { definition, input } = definitionAndInput(synth({ ...EVERY_OPTION, concurrencyPolicy: ConcurrencyPolicy.REPLACE }));
    const ecsFake = new FakeEcs([async () => task()], ['arn:aws:ecs:eu-central-1:111111111111:task/batch/prev']);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.stopped).toEqual([{ Cluster: input.run.cluster, Task: 'arn:aws:ecs:eu-central-1:111111111111:task/batch/prev', Reason: expect.stringMatching(/concurrencyPolicy REPLACE/) }]);
    expect(ecsFake.runTasks).toHaveLength(1);
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });
});

describe('what the earlier tests left open', () => {
  test('onAppFailure retries a non-zero app exit (with backoff) and the run succeeds on the retry', async () => {
    const { definition, input } = definitionAndInput(synth({ runRetry: { retries: 1, onAppFailure: true } }));
    const ecsFake = new FakeEcs([
      async () => { throw ecsError('States.TaskFailed', JSON.stringify(task((t) => { t.Containers[0].ExitCode = 3; }))); },
      async () => task(),
    ]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks).toHaveLength(2);
    expect(run.outcome.kind).toBe('SUCCEEDED');
    expect(run.attempts).toHaveLength(2);
  });

  test('an OOM of an app with its own hard limit: the task and the app container grow together, keeping the agent\'s room', async () => {
    const { definition, input } = definitionAndInput(synth({
      cpu: 256, memoryLimitMiB: 512, container: { image: img, memoryLimitMiB: 448 }, oomRetry: { maxMemoryMiB: 2048 },
    }));
    const ecsFake = new FakeEcs([
      async () => { throw ecsError('States.TaskFailed', JSON.stringify(task((t) => { t.Containers[0].ExitCode = 137; t.Containers[0].Reason = 'OutOfMemoryError: Container killed due to memory usage'; }))); },
      async () => task(),
    ]);
    const { run } = await execute(definition, input, ecsFake);
    expect(ecsFake.runTasks[1].Overrides).toEqual({ Memory: '1024', ContainerOverrides: [{ Name: 'app', Memory: 960 }] });
    expect(run.outcome.kind).toBe('SUCCEEDED');
  });

  test('bad reliable-run props fail at synth naming the prop', () => {
    const cases: Array<[Partial<MonitoredScheduledTaskProps>, RegExp]> = [
      [{ runRetry: { retries: 11 } }, /runRetry.retries must be a whole number from 0 to 10, got 11/],
      [{ runRetry: { backoffRate: 0.5 } }, /runRetry.backoffRate must be from 1 to 10, got 0.5/],
      [{ runRetry: { backoff: Duration.minutes(5), maxBackoff: Duration.minutes(1) } }, /runRetry.maxBackoff \(60 s\) must be at least runRetry.backoff \(300 s\)/],
      [{ runRetry: { spotFallback: true } }, /runRetry.spotFallback is true but capacityProviderStrategies does not use FARGATE_SPOT/],
      [{ runTimeout: Duration.minutes(30), maxRunDuration: Duration.hours(1) }, /runTimeout \(30 minutes\) is shorter than maxRunDuration \(1 hour\)/],
      [{ cpu: 256, memoryLimitMiB: 512, oomRetry: { maxMemoryMiB: 4096 } }, /oomRetry.maxMemoryMiB 4096 is not a valid Fargate memory size for cpu 256/],
      [{ cpu: 256, memoryLimitMiB: 1024, oomRetry: { maxMemoryMiB: 512 } }, /oomRetry.maxMemoryMiB \(512\) must be above memoryLimitMiB \(1024\); use one of 2048$/],
      // Only the sizes it would accept: above the task's 2048 MiB, valid for 1 vCPU.
      [{ cpu: 512, memoryLimitMiB: 2048, oomRetry: { maxMemoryMiB: 1024 } }, /oomRetry.maxMemoryMiB \(1024\) must be above memoryLimitMiB \(2048\); use one of 3072, 4096$/],
      [{ cpu: 1024, memoryLimitMiB: 2048, oomRetry: { maxMemoryMiB: 1000 } }, /oomRetry.maxMemoryMiB 1000 is not a valid Fargate memory size for cpu 1024 above memoryLimitMiB \(2048\); use one of 3072, 4096, 5120, 6144, 7168, 8192$/],
    ];
    for (const [props, message] of cases) expect(() => synth(props)).toThrow(message);
  });

  test('with none of the reliable-run props, no state machine: the schedule runs the task directly', () => {
    const t = synth();
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    const target = (Object.values(t.findResources('AWS::Scheduler::Schedule'))[0] as any).Properties.Target;
    expect(target.EcsParameters).toBeDefined();
  });
});

describe('the state machine is explicit and watched', () => {
  test('the default one has default settings and an executions-failed alarm (per stack, not per task)', () => {
    const t = synth(EVERY_OPTION, 2);
    const alarms = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith('FargateMonitorReliableRuns'));
    expect(alarms.map(([, a]) => [(a as any).Properties.MetricName, (a as any).Properties.Threshold, (a as any).Properties.Period])).toEqual([['ExecutionsFailed', 1, 300]]);
    const logGroups = Object.entries(t.findResources('AWS::Logs::LogGroup')).filter(([id]) => id.startsWith('FargateMonitorReliableRuns'));
    expect(logGroups.map(([, l]) => (l as any).Properties.RetentionInDays)).toEqual([30]);
  });

  test('one you create carries your log settings and alarm actions, and the tasks given it use it', () => {
    const stack = newStack();
    const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc') });
    const page = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:page' }) };
    const mine = new ReliableRunStateMachine(stack, 'Runs', { logRetention: logs.RetentionDays.ONE_YEAR, alarmActions: [page] });
    const job = new MonitoredScheduledTask(stack, 'Job', {
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
      container: { image: img },
      cluster,
      runTimeout: Duration.hours(2),
      reliableRunStateMachine: mine,
    });
    expect(job.reliableRuns).toBe(mine);
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed', AlarmActions: ['arn:aws:sns:eu-central-1:111111111111:page'] });
    expect(() => new MonitoredScheduledTask(stack, 'Plain', {
      schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)), container: { image: img }, cluster, reliableRunStateMachine: mine,
    })).toThrow(/reliableRunStateMachine is given but none of runRetry, runTimeout, oomRetry or a concurrencyPolicy other than ALLOW is/);
  });
});

test('the derived missed-run window allows for the retries, so a run a retry repaired does not also page as missed', () => {
  const window = (props: Partial<MonitoredScheduledTaskProps>) => {
    const stack = newStack();
    const job = new MonitoredScheduledTask(stack, 'Job', {
      schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' }), container: { image: img }, ...props,
    });
    return job.alarms.missedRunWindow?.toHours();
  };
  // Daily, runs up to 1 h: 24 h + 1 h + 10 min margin → 26 h.
  expect(window({})).toBe(26);
  expect(window({ runTimeout: Duration.hours(2) })).toBe(26); // a timeout adds no attempt
  // 2 retries of up to 1 h each, 30 s + 60 s of backoff: 2 h 1.5 min more → 28 h.
  expect(window({ runRetry: { retries: 2 } })).toBe(28);
  // The same with runTimeout 2 h per attempt, plus a bigger OOM size (one more attempt): 3 × 2 h + 1.5 min more → 32 h.
  expect(window({ runRetry: { retries: 2 }, runTimeout: Duration.hours(2), oomRetry: { maxMemoryMiB: 1024 } })).toBe(32);
});
