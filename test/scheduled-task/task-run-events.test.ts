import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { TaskRunEvents } from '../../lib';
import { matchEvents } from '../support/event-ruler';
import { newStack } from '../support/stacks';

const CLUSTER_ARN = 'arn:aws:ecs:eu-central-1:111111111111:cluster/batch';
const FAMILY = 'nightly-batch';
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');

/** The two rules' patterns as synthesized, for a cluster and family known at synth. */
function synthesizedPatterns(): { stopped: object; failed: object } {
  const stack = newStack();
  const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', {
    clusterArn: CLUSTER_ARN, clusterName: 'batch', vpc: undefined as any,
  });
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Def', { family: FAMILY });
  taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('x') });
  const runs = new TaskRunEvents(stack, 'Runs', { cluster, taskDefinition });
  const rules = Template.fromStack(stack).findResources('AWS::Events::Rule');
  const pattern = (rule: any) => {
    const id = stack.getLogicalId(rule.node.defaultChild);
    const resolved = rules[id].Properties.EventPattern;
    expect(JSON.stringify(resolved)).not.toMatch(/Ref|Fn::/); // fully concrete, as EventBridge will see it
    return resolved;
  };
  return { stopped: pattern(runs.stoppedRule), failed: pattern(runs.failedRule) };
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

// moto's TestEventPattern is a stub and its matcher does not look into arrays of objects (`containers`), so the
// synthesized patterns are evaluated by AWS event-ruler, the matching library EventBridge itself uses.
describe('TaskRunEvents patterns, evaluated by AWS event-ruler on real ECS events', () => {
  const patterns = synthesizedPatterns();

  const fivexl = 'fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json';
  const maas = 'maasglobal_task-state-change_STOPPED_exit0_ec2_family-group_2018.json';
  const alloy = 'alloy_task-state-change_DEPROVISIONING_desired-STOPPED_exit0_EssentialContainerExited_fargate_family-group_2019.json';
  const arkime = 'arkime_task-state-change_STOPPED_ServiceSchedulerInitiated_exit137_fargate_service-group_v6.python-literal.txt';
  const running = 'awsdocs-2022_task-state-change_RUNNING_fargate_family-group.json';
  const guardduty = 'awsdocs-2025-via-BFavier_task-state-change_RUNNING_fargate_guardduty-sidecar_family-group.json';

  const cases: Array<[string, () => any, boolean, boolean]> = [
    ['STOPPED, app exited 2 (envoy 0)', () => ours(loadEvent(fivexl)), true, true],
    ['STOPPED, exit 0', () => ours(loadEvent(maas)), true, false],
    ['STOPPED, exit 137 (killed by the scheduler)', () => ours(loadEvent(arkime)), true, true],
    ['DEPROVISIONING with desiredStatus STOPPED is not yet the stop', () => ours(loadEvent(alloy)), false, false],
    ['RUNNING', () => ours(loadEvent(running)), false, false],
    ['RUNNING with a GuardDuty sidecar', () => ours(loadEvent(guardduty)), false, false],
    ['STOPPED, TaskFailedToStart, no exit codes', () => ours(loadEvent(fivexl), (d) => {
      d.stopCode = 'TaskFailedToStart';
      d.stoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
      for (const c of d.containers) delete c.exitCode;
    }), true, true],
    ['STOPPED, out of memory, exit code missing', () => ours(loadEvent(fivexl), (d) => {
      for (const c of d.containers) delete c.exitCode;
      d.containers[1].reason = 'OutOfMemoryError: Container killed due to memory usage';
    }), true, true],
    ['STOPPED, out of memory in another case', () => ours(loadEvent(maas), (d) => {
      d.containers[0].reason = 'outOfMemoryError: container killed';
    }), true, true],
    ['STOPPED, every container exited 0', () => ours(loadEvent(fivexl), (d) => { for (const c of d.containers) c.exitCode = 0; }), true, false],
    ['STOPPED task of another family', () => ours(loadEvent(fivexl), (d) => { d.group = 'family:other'; }), false, false],
    ['STOPPED task of the family in another cluster', () => ours(loadEvent(fivexl), (d) => { d.clusterArn = 'arn:aws:ecs:eu-central-1:111111111111:cluster/other'; }), false, false],
  ];

  test('each event matches the stopped and failed rules as expected', () => {
    const results = matchEvents([patterns.stopped, patterns.failed], cases.map(([, event]) => event()));
    const got = cases.map(([name], i) => `${name}: stopped ${results[i][0]}, failed ${results[i][1]}`);
    const want = cases.map(([name, , stopped, failed]) => `${name}: stopped ${stopped}, failed ${failed}`);
    expect(got).toEqual(want);
  });
});
