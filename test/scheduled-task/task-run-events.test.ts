import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { TaskRunEvents } from '../../lib';
import { judge, OutcomeKind } from '../../lib/notifier/run-outcome';
import { matchEvents } from '../support/event-ruler';
import { newStack } from '../support/stacks';

const CLUSTER_ARN = 'arn:aws:ecs:eu-central-1:111111111111:cluster/batch';
const FAMILY = 'nightly-batch';
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');

/** The rule's pattern as synthesized, for a cluster and family known at synth. */
function synthesizedPatterns(): { stopped: object } {
  const stack = newStack();
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', {
    clusterArn: CLUSTER_ARN, clusterName: 'batch', vpc: undefined as any,
  });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Def', { family: FAMILY });
  taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('x') });
  const runs = new TaskRunEvents(stack, 'Runs', { cluster, taskDefinition, appContainerName: 'app', logGroup: new logs.LogGroup(stack, 'Logs') });
  const rules = Template.fromStack(stack).findResources('AWS::Events::Rule');
  const pattern = (rule: any) => {
    const id = stack.getLogicalId(rule.node.defaultChild);
    const resolved = rules[id].Properties.EventPattern;
    expect(JSON.stringify(resolved)).not.toMatch(/Ref|Fn::/); // fully concrete, as EventBridge will see it
    return resolved;
  };
  return { stopped: pattern(runs.stoppedRule) };
}

/** Loads a fixture event: JSON, or a Python dict literal (arkime) through Python's own parser. */
function loadEvent(file: string): any {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text);
  const py = spawnSync(process.env.PYTHON ?? 'python3', ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(sys.stdin.read())))'], { input: text, encoding: 'utf8' });
  expect(py.status).toBe(0);
  return JSON.parse(py.stdout);
}

/** The event as if it came from our cluster and task family (everything else as captured). */
function ours(event: any, edit: (detail: any) => void = () => {}): any {
  const copy = JSON.parse(JSON.stringify(event));
  copy.detail.clusterArn = CLUSTER_ARN;
  copy.detail.group = `family:${FAMILY}`;
  edit(copy.detail);
  return copy;
}

const fivexl = 'fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json';
const maas = 'maasglobal_task-state-change_STOPPED_exit0_ec2_family-group_2018.json';
const alloy = 'alloy_task-state-change_DEPROVISIONING_desired-STOPPED_exit0_EssentialContainerExited_fargate_family-group_2019.json';
const arkime = 'arkime_task-state-change_STOPPED_ServiceSchedulerInitiated_exit137_fargate_service-group_v6.python-literal.txt';
const running = 'awsdocs-2022_task-state-change_RUNNING_fargate_family-group.json';
const guardduty = 'awsdocs-2025-via-BFavier_task-state-change_RUNNING_fargate_guardduty-sidecar_family-group.json';

/** The app container of each fixture (maasglobal's single container is named after its job). */
function appName(event: any): string {
  const names = (event.detail.containers ?? []).map((c: any) => c.name);
  return names.includes('app') ? 'app' : names.find((n: string) => !/guardduty|envoy|agent/i.test(n)) ?? 'app';
}

// [name, event, STOPPED rule matches, outcome the handler judges (for STOPPED events)]
const cases: Array<[string, () => any, boolean, OutcomeKind | undefined]> = [
  ['STOPPED, app exited 2 (envoy 0)', () => ours(loadEvent(fivexl)), true, 'FAILED'],
  ['STOPPED, exit 0', () => ours(loadEvent(maas)), true, 'SUCCEEDED'],
  ['STOPPED by the service scheduler, exit 137', () => ours(loadEvent(arkime)), true, 'INTERRUPTED'],
  ['DEPROVISIONING with desiredStatus STOPPED is not yet the stop', () => ours(loadEvent(alloy)), false, undefined],
  ['RUNNING', () => ours(loadEvent(running)), false, undefined],
  ['RUNNING with a GuardDuty sidecar', () => ours(loadEvent(guardduty)), false, undefined],
  ['STOPPED, TaskFailedToStart, no exit codes', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'TaskFailedToStart';
    d.stoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
    for (const c of d.containers) delete c.exitCode;
  }), true, 'FAILED_TO_START'],
  ['STOPPED, app out of memory, exit code missing', () => ours(loadEvent(fivexl), (d) => {
    for (const c of d.containers) delete c.exitCode;
    d.containers[1].reason = 'OutOfMemoryError: Container killed due to memory usage';
  }), true, 'FAILED'],
  ['STOPPED, app out of memory in another case', () => ours(loadEvent(maas), (d) => {
    d.containers[0].reason = 'outOfMemoryError: container killed';
  }), true, 'FAILED'],
  ['STOPPED, a sidecar out of memory, app exit 0', () => ours(loadEvent(fivexl), (d) => {
    d.containers[1].exitCode = 0;
    d.containers[0].reason = 'OutOfMemoryError: Container killed due to memory usage';
  }), true, 'SUCCEEDED'],
  ['STOPPED, app exit 0 with a sidecar exit 143', () => ours(loadEvent(fivexl), (d) => {
    d.containers[1].exitCode = 0;
    d.containers[0].exitCode = 143;
  }), true, 'SUCCEEDED'],
  ['STOPPED, app exit 0 with a GuardDuty sidecar exit null', () => ours(loadEvent(guardduty), (d) => {
    d.lastStatus = 'STOPPED';
    d.stopCode = 'EssentialContainerExited';
    for (const c of d.containers) c.exitCode = null;
    d.containers.find((c: any) => !/guardduty/i.test(c.name)).exitCode = 0;
  }), true, 'SUCCEEDED'],
  ['STOPPED, app exit code null', () => ours(loadEvent(maas), (d) => { d.containers[0].exitCode = null; }), true, 'FAILED'],
  ['STOPPED, SpotInterruption, app killed by SIGTERM', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'SpotInterruption';
    d.stoppedReason = 'Your Spot Task was interrupted.';
    d.containers[1].exitCode = 143;
  }), true, 'INTERRUPTED'],
  ['STOPPED, TerminationNotice, no exit codes', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'TerminationNotice';
    for (const c of d.containers) delete c.exitCode;
  }), true, 'INTERRUPTED'],
  ['STOPPED, UserInitiated, app 143', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'UserInitiated';
    d.containers[1].exitCode = 143;
  }), true, 'INTERRUPTED'],
  ['STOPPED, every container exited 0', () => ours(loadEvent(fivexl), (d) => { for (const c of d.containers) c.exitCode = 0; }), true, 'SUCCEEDED'],
  ['STOPPED, UserInitiated, app exit 0 on SIGTERM', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'UserInitiated';
    d.stoppedReason = 'Task stopped by user';
    d.containers[1].exitCode = 0;
  }), true, 'INTERRUPTED'],
  ['STOPPED, SpotInterruption, app exit 0 on SIGTERM', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'SpotInterruption';
    d.containers[1].exitCode = 0;
  }), true, 'INTERRUPTED'],
  ['STOPPED, UserInitiated, app out of memory', () => ours(loadEvent(fivexl), (d) => {
    d.stopCode = 'UserInitiated';
    d.containers[1].exitCode = 0;
    d.containers[1].reason = 'OutOfMemoryError: Container killed due to memory usage';
  }), true, 'FAILED'],
  ['STOPPED before stop codes existed (2018), "Task failed to start", never started', () => ours(loadEvent(maas), (d) => {
    d.stoppedReason = 'Task failed to start';
    delete d.startedAt;
    for (const c of d.containers) delete c.exitCode;
  }), true, 'FAILED_TO_START'],
  ['STOPPED task of another family', () => ours(loadEvent(fivexl), (d) => { d.group = 'family:other'; }), false, undefined],
  ['STOPPED task of the family in another cluster', () => ours(loadEvent(fivexl), (d) => { d.clusterArn = 'arn:aws:ecs:eu-central-1:111111111111:cluster/other'; }), false, undefined],
];

// moto's TestEventPattern is a stub and its matcher does not look into arrays of objects (`containers`), so the
// synthesized pattern is evaluated by AWS event-ruler, the matching library EventBridge itself uses. The pattern
// only selects the final STOPPED event of the family; the handler decides the outcome by the app container.
describe('TaskRunEvents: which events reach the handler (AWS event-ruler) and how it judges them', () => {
  const patterns = synthesizedPatterns();

  test('each event matches the STOPPED rule as expected', () => {
    const results = matchEvents([patterns.stopped], cases.map(([, event]) => event()));
    const got = cases.map(([name], i) => `${name}: ${results[i][0]}`);
    const want = cases.map(([name, , stopped]) => `${name}: ${stopped}`);
    expect(got).toEqual(want);
  });

  test('the handler judges each STOPPED event by the app container', () => {
    const stopped = cases.filter(([, , match]) => match);
    const got = stopped.map(([name, event]) => { const e = event(); return `${name}: ${judge(e.detail, appName(e)).kind}`; });
    const want = stopped.map(([name, , , kind]) => `${name}: ${kind}`);
    expect(got).toEqual(want);
  });

  test('OOM is called out, interruptions say what they are', () => {
    const oom = cases.find(([n]) => n.startsWith('STOPPED, app out of memory, exit'))![1]();
    expect(judge(oom.detail, 'app')).toMatchObject({ oom: true, summary: expect.stringMatching(/OUT OF MEMORY/) });
    const spot = cases.find(([n]) => n.startsWith('STOPPED, SpotInterruption'))![1]();
    expect(judge(spot.detail, 'app').summary).toMatch(/not the app's failure: Fargate Spot reclaimed the capacity/);
  });
});

describe('TaskRunEvents: the rule target input', () => {
  test('config.clusterName, family and namespace are the dimensions and namespace of the metrics the alarms watch', () => {
    const stack = newStack();
    const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', {
      clusterArn: CLUSTER_ARN, clusterName: 'batch', vpc: undefined as any,
    });
    const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Def', { family: FAMILY });
    taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('x') });
    const runs = new TaskRunEvents(stack, 'Runs', {
      cluster, taskDefinition, appContainerName: 'app', namespace: 'Team/Batch', logGroup: logs.LogGroup.fromLogGroupName(stack, 'Logs', '/batch'),
    });
    const rules = Template.fromStack(stack).findResources('AWS::Events::Rule');
    const target = rules[stack.getLogicalId(runs.stoppedRule.node.defaultChild as any)].Properties.Targets[0];
    expect(target.InputTransformer.InputPathsMap).toEqual({ detail: '$.detail', resources: '$.resources' });
    const input = JSON.parse(target.InputTransformer.InputTemplate.replace(/<(detail|resources)>/g, 'null'));
    for (const metric of [runs.metricRuns(), runs.metricFailedRuns(), runs.metricInterruptedRuns()]) {
      expect({ namespace: input.config.namespace, ClusterName: input.config.clusterName, TaskDefinitionFamily: input.config.family })
        .toEqual({ namespace: metric.namespace, ...metric.dimensions });
    }
    expect(input.config.clusterName).toBe('batch');
    expect(input.config.family).toBe(FAMILY);
  });
});
