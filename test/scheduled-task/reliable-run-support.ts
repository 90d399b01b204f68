// The reliable-run state machine in a real Amazon States Language interpreter (aws-local-stepfunctions): the
// synthesized definition and execution input, an ECS stand-in that replays documented responses and captures the
// reports the state machine sends at the end. Shared by test/scheduled-task/reliable-run.test.ts and
// test/notifier/run-report-handler.test.ts (which sends the captured reports to the bundled handler).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { ConcurrencyPolicy, MonitoredScheduledTask, MonitoredScheduledTaskProps } from '../../lib';
import { judgeRun } from '../../lib/notifier/run-report';
import { BUNDLE, ensureBundle } from '../notifier/support';
import { newStack } from '../support/stacks';

// An ES module package with a CommonJS build: required, as this file is CommonJS.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions');

export const FIXTURE = path.join(__dirname, '..', 'fixtures', 'stepfunctions', 'localstack-aws-recorded_ecs-runTask.sync_TaskSucceeded-output.json');
export const CAPACITY = 'Capacity is unavailable at this time. Please try again later or in a different availability zone';

let handler: (input: any) => Promise<any>;
/** Builds the handler bundle and loads it in this process, for the Plan and Decide steps: call it in `beforeAll`. */
export function loadBundledHandler(): void {
  ensureBundle();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  handler = require(BUNDLE).handler;
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
  runRetry: { attempts: 2, onAppFailure: false },
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

/** The ECS stand-in: one scripted answer per RunTask call, in order; records every call. */
export class FakeEcs {
  public readonly runTasks: any[] = [];
  public readonly reports: any[] = [];
  public readonly stopped: any[] = [];
  public readonly listed: any[] = [];
  constructor(private readonly answers: Array<(params: any) => Promise<any>>, private readonly running: string[] = []) {}
  handlers() {
    const run = async ({ run: _emulatorOnly, ...params }: any) => {
      this.runTasks.push(params);
      const next = this.answers.shift();
      if (!next) throw new Error('no more scripted RunTask answers');
      return next(params);
    };
    const decide = async (params: any) => ({ Payload: await handler(params.Payload) });
    return {
      RunOnFargate: run,
      RunWithStrategy: run,
      Plan: decide,
      Decide: decide,
      ListRunning: async (p: any) => { this.listed.push(p); return { TaskArns: this.running }; },
      DescribeRunning: async (p: any) => ({ Tasks: p.Tasks.map((arn: string) => ({ TaskArn: arn, StartedAt: '2026-11-01T02:00:04Z', LastStatus: 'RUNNING' })) }),
      FindTimedOutTask: async (p: any) => { this.listed.push(p); return { TaskArns: [`arn:aws:ecs:eu-central-1:111111111111:task/batch/${p.StartedBy}`] }; },
      StopPreviousTask: async (p: any) => { this.stopped.push(p); return {}; },
      StopTimedOutTask: async (p: any) => { this.stopped.push(p); return {}; },
      Report: async (p: any) => { this.reports.push(p.Payload); return {}; },
      ReportSkipped: async (p: any) => { this.reports.push(p.Payload); return {}; },
      ReportTimedOut: async (p: any) => { this.reports.push(p.Payload); return {}; },
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

/** Runs the definition on `input` (execution `executionId`) with the ECS stand-in; returns the one report and its judgement. */
export async function execute(definition: any, input: any, ecsFake: FakeEcs,
  executionId = 'arn:aws:states:eu-central-1:111111111111:execution:FargateMonitorReliableRuns:run-1') {
  const machine = new StateMachine(forEmulator(definition), { validationOptions: { checkArn: false } });
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers: ecsFake.handlers() as any, waitTimeOverrides: { Backoff: 0 } },
    context: { Execution: { Id: executionId, Input: input, StartTime: new Date().toISOString() } } as any,
  });
  await execution.result;
  expect(ecsFake.reports).toHaveLength(1);
  const report = ecsFake.reports[0];
  return { report, run: judgeRun(report.runOutcome, report.config) };
}
