// The reliable-run state machine in a real Amazon States Language interpreter (aws-local-stepfunctions): the
// synthesized definition and execution input, an ECS stand-in that replays documented responses and captures the
// reports the state machine sends at the end. Shared by test/scheduled-task/reliable-run.test.ts and
// test/notifier/run-report-handler.test.ts (which sends the captured reports to the bundled handler).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { ConcurrencyPolicy, MonitoredScheduledTask, MonitoredScheduledTaskProps } from '../../lib';
import { leaseKey } from '../../lib/notifier/run-plan';
import { judgeRun } from '../../lib/notifier/run-report';
import { releaseRunLease, runStep } from '../../lib/notifier/run-steps';
import { awsConfig, BUNDLE, ensureBundle, unique } from '../notifier/support';
import { newStack } from '../support/stacks';

// An ES module package with a CommonJS build: required, as this file is CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions');

export const FIXTURE = path.join(__dirname, '..', 'fixtures', 'stepfunctions', 'localstack-aws-recorded_ecs-runTask.sync_TaskSucceeded-output.json');
export const CAPACITY = 'Capacity is unavailable at this time. Please try again later or in a different availability zone';

let handler: (input: any) => Promise<any>;
let leaseTable: string | undefined;
let leaseTableReady: Promise<void> | undefined;
/**
 * Builds the handler bundle and loads it in this process, for the Decide step: call it in `beforeAll`. The Plan and
 * TakeOver steps run the handler's own source module (lib/notifier/run-steps.ts, which the bundle routes `plan` and
 * `takeOver` to) against a DynamoDB table of moto, created on first use: the bundled AWS SDK's credential chain
 * imports modules dynamically, which jest's VM refuses. The bundle's routing of `plan` is tested in its own process
 * (test/notifier/run-report-handler.test.ts).
 */
export function loadBundledHandler(): void {
  ensureBundle();
  leaseTable = unique('lease');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  handler = require(BUNDLE).handler;
}

/** The lease table of the in-process handler (created on first use). */
export async function ensureLeaseTable(): Promise<string> {
  if (!leaseTable) throw new Error('loadBundledHandler() first');
  const name = leaseTable;
  leaseTableReady ??= new DynamoDBClient(awsConfig()).send(new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'taskArn', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'taskArn', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  })).then(() => undefined);
  await leaseTableReady;
  return name;
}

/** Writes the run lease of the input's job as another execution (`holder`) left it, expiring `expiresInSeconds` from now. */
export async function putLease(table: string, input: { config: { clusterName: string; family: string } }, holder: string,
  expiresInSeconds: number): Promise<void> {
  await new DynamoDBClient(awsConfig()).send(new PutItemCommand({
    TableName: table,
    Item: {
      taskArn: { S: leaseKey(input.config.clusterName, input.config.family) },
      state: { S: 'LEASE' },
      holder: { S: holder },
      expiresAt: { N: String(Math.floor(Date.now() / 1000) + expiresInSeconds) },
    },
  }));
}

export const img = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:latest');
export function synth(props: Partial<MonitoredScheduledTaskProps> = {}, tasks = 1) {
  const stack = newStack();
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc') });
  for (let i = 0; i < tasks; i++) {
    new MonitoredScheduledTask(stack, `Job${i}`, {
      schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' }),
      container: { image: img },
      cluster,
      family: `nightly${i}`,
      ...props,
    });
  }
  return Template.fromStack(stack);
}

export const EVERY_OPTION: Partial<MonitoredScheduledTaskProps> = {
  cpu: 256,
  memoryLimitMiB: 512,
  capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }],
  runRetry: { retries: 2, onAppFailure: false },
  runTimeout: Duration.hours(1),
  concurrencyPolicy: ConcurrencyPolicy.FORBID,
  oomRetry: { maxMemoryMiB: 1024 },
};

/** A CloudFormation value with Ref/GetAtt/Join resolved to stand-in strings. */
export function resolveCfn(node: any): any {
  if (Array.isArray(node)) return node.map(resolveCfn);
  if (node && typeof node === 'object') {
    if (node['Fn::Join']) return (node['Fn::Join'][1] as any[]).map(resolveCfn).join(node['Fn::Join'][0]);
    if (node.Ref) return node.Ref.startsWith('AWS::') ? ({ 'AWS::Partition': 'aws', 'AWS::Region': 'eu-central-1', 'AWS::AccountId': '111111111111' } as any)[node.Ref] ?? node.Ref : `ref-${node.Ref}`;
    if (node['Fn::GetAtt']) return `arn:aws:lambda:eu-central-1:111111111111:function:${node['Fn::GetAtt'][0]}`;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveCfn(v)]));
  }
  return node;
}

export function definitionAndInput(t: Template, family = 'nightly0') {
  const machines = Object.values(t.findResources('AWS::StepFunctions::StateMachine'));
  expect(machines).toHaveLength(1);
  const definition = JSON.parse(resolveCfn((machines[0] as any).Properties.DefinitionString));
  const schedules = Object.values(t.findResources('AWS::Scheduler::Schedule')) as any[];
  const inputs = schedules.map((s) => JSON.parse(resolveCfn(s.Properties.Target.Input)));
  const input = inputs.find((i) => i.run.family === family);
  return { definition, input };
}

/** A task as the .sync output has it (the recorded fixture), edited. */
export function task(edit: (t: any) => void = () => {}): any {
  const t = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  t.Containers[0].Name = 'app';
  t.TaskArn = `arn:aws:ecs:eu-central-1:111111111111:task/batch/${Math.random().toString(16).slice(2, 14)}`;
  t.StartedAt = '2026-11-02T02:00:30Z';
  t.ExecutionStoppedAt = '2026-11-02T02:10:30Z';
  edit(t);
  return t;
}
export const ecsError = (name: string, cause: string) => Object.assign(new Error(cause), { name });

const hanging = new Set<(e: Error) => void>();
/**
 * A call that does not return while the test runs: a task that never stops, a state of a stopped execution. The
 * emulator races each Task state against its timeout with a timer (60 s by default, up to the run's 1 day) that it
 * clears only when the call settles, and a pending timer keeps the jest worker alive after its last test ("A worker
 * process has failed to exit gracefully"). So every hanging call is rejected once the test file is over: the emulator
 * clears the timer, and a stopped execution runs no further state.
 */
export function hang(): Promise<never> {
  return new Promise((_, reject) => { hanging.add(reject); });
}
afterAll(() => {
  for (const reject of hanging) reject(new Error('released after the test file (hang)'));
  hanging.clear();
});

/**
 * What `ecs:runTask.sync` does with RunTask `StartedBy` and `Tags`, which AWS does not document (REFERENCE §10): kept as
 * sent; replaced (AWS-recorded outputs show `"StartedBy": "AWS Step Functions"`); dropped; or refused (the state
 * fails). The definition sends neither; the stand-in applies the reading all the same, so a test under each reading
 * shows nothing rests on them.
 */
export type SyncReading = 'kept' | 'replaced' | 'dropped' | 'refused';
export const READINGS: SyncReading[] = ['kept', 'replaced', 'dropped', 'refused'];

/** A task of the cluster as the stand-in keeps it (DescribeTasks shape). */
interface ClusterTask { TaskArn: string; Group: string; StartedBy?: string; LastStatus: string; StartedAt: string; Tags?: any[] }

const newTaskArn = () => `arn:aws:ecs:eu-central-1:111111111111:task/batch/${Math.random().toString(16).slice(2, 14)}`;

/**
 * The ECS (and Step Functions) stand-in: one scripted answer per RunTask call, in order; a cluster whose RUNNING tasks
 * ListTasks and DescribeTasks answer from (a task started by RunTask runs until its answer settles, for ever when it
 * never does; StopTask stops it); the executions DescribeExecution/StopExecution answer for. Records every call. One
 * stand-in may serve several executions (the same "account").
 */
export class FakeEcs {
  public readonly runTasks: any[] = [];
  public readonly reports: any[] = [];
  public readonly stopped: any[] = [];
  public readonly listed: any[] = [];
  public readonly stoppedExecutions: string[] = [];
  /** Tasks of the family with desired status RUNNING. */
  public readonly cluster = new Map<string, ClusterTask>();
  /** Executions by ARN: status, and how to stop one. */
  public readonly executions = new Map<string, { status: string; startDate: string; abort?: () => void }>();
  constructor(private readonly answers: Array<(params: any) => Promise<any>>, running: string[] = [], public readonly reading: SyncReading = 'replaced') {
    for (const arn of running) {
      this.cluster.set(arn, { TaskArn: arn, Group: 'family:nightly0', StartedBy: 'events-rule/nightly0-schedule', LastStatus: 'RUNNING', StartedAt: '2026-11-01T02:00:04Z' });
    }
  }
  private startedBy(params: any): string | undefined {
    return this.reading === 'kept' ? params.StartedBy : this.reading === 'replaced' ? 'AWS Step Functions' : undefined;
  }
  /**
   * The handlers of execution `executionId`'s states. An execution stopped by StopExecution runs no further state
   * (Step Functions API reference, StopExecution); aws-local-stepfunctions' abort() does not always end a pending
   * Wait, so a call from a stopped execution does not return here while the test runs (`hang`).
   */
  handlers(executionId?: string) {
    const all = this.allHandlers();
    const gate = (f: (p: any) => Promise<any>) => async (p: any) => {
      if (executionId && this.executions.get(executionId)?.status === 'ABORTED') return hang();
      return f(p);
    };
    return Object.fromEntries(Object.entries(all).map(([k, f]) => [k, gate(f)]));
  }
  private allHandlers() {
    const run = async ({ run: _emulatorOnly, ...params }: any) => {
      this.runTasks.push(params);
      if (this.reading === 'refused' && (params.StartedBy !== undefined || params.Tags !== undefined)) {
        throw ecsError('ECS.InvalidParameterException', 'StartedBy and Tags are not accepted through ecs:runTask.sync (this reading)');
      }
      const next = this.answers.shift();
      if (!next) throw new Error('no more scripted RunTask answers');
      const arn = newTaskArn();
      const group = params.Group ?? 'family:nightly0';
      const startedBy = this.startedBy(params);
      this.cluster.set(arn, { TaskArn: arn, Group: group, StartedBy: startedBy, LastStatus: 'RUNNING', StartedAt: '2026-11-02T02:00:30Z', Tags: this.reading === 'kept' ? params.Tags : undefined });
      // The stopped task as .sync returns it (or in a States.TaskFailed cause), with this reading's StartedBy.
      const asStopped = (t: any) => ({ ...t, TaskArn: arn, Group: group, StartedBy: startedBy });
      try {
        const result = await next(params);
        return result && typeof result === 'object' && result.TaskArn ? asStopped(result) : result;
      } catch (e: any) {
        if (e?.name === 'States.TaskFailed' && typeof e.message === 'string' && e.message.startsWith('{')) {
          throw ecsError('States.TaskFailed', JSON.stringify(asStopped(JSON.parse(e.message))));
        }
        throw e;
      } finally {
        this.cluster.delete(arn);
      }
    };
    const client = new DynamoDBClient(awsConfig());
    const db = { put: (i: any) => client.send(new PutItemCommand(i)), update: (i: any) => client.send(new UpdateItemCommand(i)) };
    const lambda = async (params: any) => {
      try {
        const p = params.Payload;
        if (p?.plan || p?.takeOver) return { Payload: await runStep(p, db, await ensureLeaseTable()) };
        return { Payload: await handler(p) };
      } catch (e: any) {
        // As Step Functions' lambda:invoke names a function error: the error's type, the cause its JSON.
        throw ecsError(e?.name ?? 'Error', JSON.stringify({ errorType: e?.name, errorMessage: e?.message }));
      }
    };
    const list = async (p: any) => { this.listed.push(p); return { TaskArns: [...this.cluster.keys()] }; };
    const describe = async (p: any) => ({ Tasks: p.Tasks.map((arn: string) => this.cluster.get(arn)).filter(Boolean) });
    const stop = async (p: any) => { this.stopped.push(p); this.cluster.delete(p.Task); return {}; };
    // As the handler does with a report: the run's lease goes back (the stand-in's own copy of that step).
    const report = async (p: any) => {
      this.reports.push(p.Payload);
      const { config, runOutcome } = p.Payload ?? {};
      if (config && leaseTableReady) await releaseRunLease(db, await ensureLeaseTable(), config, runOutcome.executionArn);
      return {};
    };
    return {
      RunOnFargate: run,
      RunWithStrategy: run,
      Plan: lambda,
      TakeOver: lambda,
      Decide: lambda,
      ListRunning: list,
      ListPrevious: list,
      FindTimedOutTask: list,
      DescribeRunning: describe,
      DescribeTimedOut: describe,
      DescribeHolder: async (p: any) => {
        const e = this.executions.get(p.ExecutionArn);
        if (!e) throw ecsError('Sfn.ExecutionDoesNotExistException', `Execution Does Not Exist: '${p.ExecutionArn}'`);
        return { Status: e.status, StartDate: e.startDate };
      },
      StopHolder: async (p: any) => {
        this.stoppedExecutions.push(p.ExecutionArn);
        const e = this.executions.get(p.ExecutionArn);
        if (e && e.status === 'RUNNING') { e.status = 'ABORTED'; e.abort?.(); }
        return { StopDate: new Date().toISOString() };
      },
      StopPreviousTask: stop,
      StopRunningTask: stop,
      StopTimedOutTask: stop,
      Report: report,
      ReportSkipped: report,
      ReportTimedOut: report,
      ReportReplaced: report,
    };
  }
}

/**
 * The definition as the emulator needs it. One adaptation: aws-local-stepfunctions 3.0.0 resolves TimeoutSecondsPath
 * against the state's effective input (after Parameters), AWS against the state input ("If you want to provide a
 * timeout value dynamically from the state input using a reference path, use TimeoutSecondsPath", Step Functions
 * developer guide, Task state). So the emulator's copy also passes `run.timeoutSeconds` through Parameters; the ECS
 * stand-in drops it. Nothing else is changed.
 */
export function forEmulator(definition: any): any {
  const copy = JSON.parse(JSON.stringify(definition));
  for (const name of ['RunOnFargate', 'RunWithStrategy']) {
    expect(copy.States[name].TimeoutSecondsPath).toBe('$.run.timeoutSeconds');
    copy.States[name].Parameters.run = { 'timeoutSeconds.$': '$.run.timeoutSeconds' };
  }
  return copy;
}

export const EXECUTION = 'arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:run-1';

/** An execution started in the emulator: its promise, the events it logged, the Wait seconds it asked for. */
export interface Started {
  executionId: string;
  done: Promise<void>;
  /** Each state entered, in order (Map iterations' states included): the transitions Step Functions bills. */
  entered: string[];
  /** SecondsPath of each Backoff, as the Wait state read it. */
  waits: number[];
  /** The error of a failed execution. */
  failure?: { error?: string; cause?: string };
}

/**
 * Starts the definition on `input` (execution `executionId`) with the stand-in, without waiting. `backoffMs`: how long
 * the emulator waits in Backoff (default 0; the seconds the definition asked for are recorded in `waits`).
 */
export function start(definition: any, input: any, ecsFake: FakeEcs, executionId = EXECUTION, backoffMs = 0): Started {
  const machine = new StateMachine(forEmulator(definition), { validationOptions: { checkArn: false } });
  const startDate = new Date().toISOString();
  // The emulator waits with setTimeout, which holds at most 2^31 - 1 ms (24.8 days): the 365-day timeout of a run
  // without runTimeout would fire after 1 ms. Its input says 1 day instead (no test waits that long).
  if (input?.run?.timeoutSeconds > 86_400) input = { ...input, run: { ...input.run, timeoutSeconds: 86_400 } };
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: ecsFake.handlers(executionId) as any, waitTimeOverrides: { Backoff: backoffMs } },
    context: { Execution: { Id: executionId, Input: input, StartTime: startDate } } as any,
    noThrowOnAbort: true,
  });
  const record = { status: 'RUNNING', startDate, abort: () => execution.abort() };
  ecsFake.executions.set(executionId, record);
  const started: Started = { executionId, entered: [], waits: [], done: Promise.resolve() };
  const logs = (async () => {
    for await (const e of execution.eventLogs as AsyncGenerator<any>) {
      if (e.type === 'StateEntered') {
        started.entered.push(e.state?.name);
        if (e.state?.name === 'Backoff') started.waits.push(e.state?.input?.decided?.decision?.waitSeconds);
      }
    }
  })();
  started.done = (async () => {
    try {
      await execution.result;
      if (record.status === 'RUNNING') record.status = 'SUCCEEDED';
    } catch (e: any) {
      record.status = 'FAILED';
      // "Execution has failed with the following error: {…}": the Lambda error's JSON, as Step Functions gives it.
      const message = String(e?.message ?? '');
      let cause = message;
      try { cause = JSON.parse(message.slice(message.indexOf('{'))).errorMessage ?? message; } catch { /* not JSON */ }
      started.failure = { error: e?.cause?.name ?? e?.name, cause };
    }
    await logs.catch(() => undefined);
  })();
  return started;
}

/** Runs the definition on `input` with the stand-in to its end; returns this execution's report and its judgement. */
export async function execute(definition: any, input: any, ecsFake: FakeEcs, executionId = EXECUTION) {
  if (input?.run?.concurrencyPolicy !== 'ALLOW') await ensureLeaseTable();
  const started = start(definition, input, ecsFake, executionId);
  await started.done;
  if (started.failure) throw Object.assign(new Error(`execution failed: ${started.failure.error}: ${started.failure.cause}`), started.failure);
  const own = ecsFake.reports.filter((r) => r.runOutcome?.executionArn === executionId);
  expect(own).toHaveLength(1);
  const report = own[0];
  return { report, run: judgeRun(report.runOutcome, report.config), started };
}
