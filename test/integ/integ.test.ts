/**
 * The live checks (test/integ/integ.reliable-runs.ts), offline: the integ app synthesizes, and its DeployAssert stack
 * carries the assertions the README promises, wired to the canary stack (calls, expected values, order, the
 * assertion provider's permissions). Whether they pass in AWS is only known by deploying it (README, "Live checks in
 * an AWS account"); nothing here calls AWS.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ATTEMPT_MARK, buildIntegApp, CANARIES, CanaryStack, NAMESPACE } from './integ.reliable-runs';

type Resources = Record<string, { Type: string; Properties: any; DependsOn?: string[] }>;

let canaries: CanaryStack;
let assertStack: Stack;
let canaryTemplate: Template;
let resources: Resources;

beforeAll(() => {
  const { app, stack } = buildIntegApp();
  canaries = stack;
  const stacks = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
  const asserts = stacks.filter((s) => s !== stack);
  expect(asserts.map((s) => s.stackName)).toEqual([expect.stringMatching(/^ReliableRunsDefaultTestDeployAssert/)]);
  assertStack = asserts[0];
  canaryTemplate = Template.fromStack(canaries);
  resources = Template.fromStack(assertStack).toJSON().Resources;
});

/** The DeployAssert custom resources of one API call (`Custom::DeployAssert@SdkCall<Service><api>`). */
function calls(service: string, api: string): Array<{ id: string; props: any; dependsOn: string[] }> {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === `Custom::DeployAssert@SdkCall${service}${api}`)
    .map(([id, r]) => ({ id, props: r.Properties, dependsOn: r.DependsOn ?? [] }));
}

/** A resolved string: `Fn::Join` pieces joined, each token (an intrinsic) as `TOKEN`. */
function joined(value: any): string {
  if (typeof value === 'string') return value;
  if (value?.['Fn::Join']) return value['Fn::Join'][1].map((p: any) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  throw new Error(`not a string: ${JSON.stringify(value)}`);
}

/** One parameter of a call as the assertion provider decodes it (each is JSON-encoded by integ-tests). */
function param(props: any, name: string): any {
  return JSON.parse(joined(props.parameters[name]));
}

/** All the parameters of a call, for a substring check. */
function parameters(props: any): string {
  return Object.keys(props.parameters).map((k) => joined(props.parameters[k])).join('\n');
}

test('the canary stack: three jobs on the reliable-run path, their schedules disabled (the assertions start the runs)', () => {
  canaryTemplate.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  canaryTemplate.resourceCountIs('AWS::ECS::TaskDefinition', 3);
  for (const { family } of Object.values(CANARIES)) {
    canaryTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', { Family: family });
  }
  const schedules = canaryTemplate.findResources('AWS::Scheduler::Schedule');
  expect(Object.values(schedules).map((s: any) => s.Properties.State)).toEqual(['DISABLED', 'DISABLED', 'DISABLED']);
  // The timeout canary's run times out after 2 minutes; the others never do (a year, the "no timeout" value).
  const timeouts = Object.values(canaries.tasks).map((t) =>
    JSON.parse(joined(canaries.resolve((t.schedule.node.defaultChild as any).target.input))).run.timeoutSeconds);
  expect(timeouts).toEqual([31_536_000, 31_536_000, 120]);
});

test('the DeployAssert stack depends on the canary stack and has the assertion provider with the calls\' permissions', () => {
  expect(assertStack.dependencies).toContain(canaries);
  const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
  expect(functions.length).toBeGreaterThanOrEqual(1);
  const actions = new Set<string>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    for (const p of r.Properties.Policies ?? []) {
      for (const s of p.PolicyDocument.Statement) [s.Action].flat().forEach((a: string) => actions.add(a));
    }
  }
  expect([...actions]).toEqual(expect.arrayContaining([
    'states:StartExecution', 'states:DescribeExecution', 'ecs:ListTasks', 'ecs:DescribeTasks',
    'cloudwatch:GetMetricStatistics', 'cloudwatch:ListMetrics',
    'logs:FilterLogEvents', 'logs:StartQuery', 'logs:GetQueryResults',
  ]));
});

test('each canary: one execution of the canary stack\'s state machine with its schedule\'s input, waited for until SUCCEEDED', () => {
  const starts = calls('StepFunctions', 'startExecution');
  expect(starts).toHaveLength(3);
  for (const { family } of Object.values(CANARIES)) {
    const start = starts.filter((c) => JSON.parse(param(c.props, 'input')).run.family === family);
    expect(start).toHaveLength(1);
    // What StartExecution gets once the provider has decoded the parameter is the schedule's own input (references
    // aside): valid JSON, not the input wrapped in quotes.
    const task = Object.values(canaries.tasks).find((t) => t.taskDefinition.family === family)!;
    const scheduleInput = JSON.parse(joined(canaries.resolve((task.schedule.node.defaultChild as any).target.input)));
    expect(JSON.parse(param(start[0].props, 'input'))).toEqual(scheduleInput);
    expect(JSON.stringify(start[0].props.parameters.stateMachineArn)).toMatch(/ExportsOutputRef\w*ReliableRunsStateMachine/);
    const describe = calls('StepFunctions', 'describeExecution').filter((c) => c.dependsOn.includes(start[0].id));
    expect(describe).toHaveLength(1);
    expect(describe[0].props).toMatchObject({ actualPath: 'status', expected: JSON.stringify({ $Exact: 'SUCCEEDED' }) });
    expect(describe[0].props.stateMachineArn).toBeDefined(); // waitForAssertions: the waiter state machine retries it
  }
});

test('one run counted per execution (Runs), failures as expected, and the oom run\'s two attempts', () => {
  const metrics = calls('CloudWatch', 'getMetricStatistics');
  const sumOf = (family: string, metricName: string) => metrics
    .filter((m) => param(m.props, 'MetricName') === metricName && parameters(m.props).includes(family))
    .map((m) => JSON.parse(m.props.expected));
  for (const [name, { family, outcome }] of Object.entries(CANARIES)) {
    expect(sumOf(family, 'Runs')).toEqual([{ $ObjectLike: { Datapoints: [{ $ObjectLike: { Sum: 1 } }] } }]);
    expect(sumOf(family, 'FailedRuns')).toEqual([{ $ObjectLike: { Datapoints: [{ $ObjectLike: { Sum: outcome === 'SUCCEEDED' ? 0 : 1 } }] } }]);
    expect(sumOf(family, 'Attempts')).toEqual(name === 'oom' ? [{ $ObjectLike: { Datapoints: [{ $ObjectLike: { Sum: 2 } }] } }] : []);
  }
  for (const m of metrics) expect(param(m.props, 'Namespace')).toBe(NAMESPACE);
});

test('a stopped task of each run is told apart as an attempt, STOPPED, and the timed-out one stopped by the state machine', () => {
  const describes = calls('ECS', 'describeTasks');
  const at = (path: string) => describes.filter((c) => c.props.actualPath === path).map((c) => JSON.parse(c.props.expected));
  expect(at(`tasks.0.${ATTEMPT_MARK.field}`)).toEqual(Array(3).fill({ $StringLike: ATTEMPT_MARK.pattern }));
  expect(at('tasks.0.lastStatus')).toEqual(Array(3).fill({ $Exact: 'STOPPED' }));
  expect(at('tasks.0.stopCode')).toEqual([{ $Exact: 'UserInitiated' }]);
  expect(at('tasks.0.stoppedReason')).toEqual([{ $StringLike: '^Run timed out' }]);
  // Each asks about a task the listTasks call of its family found.
  const lists = calls('ECS', 'listTasks');
  expect(lists.map((l) => param(l.props, 'family')).sort()).toEqual(Object.values(CANARIES).map((c) => c.family).sort());
  for (const d of describes) {
    expect(d.props.parameters.tasks['Fn::Join'][1][1]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AwsApiCallECSlistTasks/), 'apiCallResponse.taskArns.0'] });
  }
});

test('one RUN_OUTCOME row per run from a Logs Insights query, run after the line has arrived', () => {
  const queries = calls('CloudWatchLogs', 'startQuery');
  const results = calls('CloudWatchLogs', 'getQueryResults');
  const filters = calls('CloudWatchLogs', 'filterLogEvents');
  expect([queries.length, results.length, filters.length]).toEqual([3, 3, 3]);
  for (const { family, outcome } of Object.values(CANARIES)) {
    const query = queries.filter((q) => param(q.props, 'queryString').includes(`family = "${family}"`));
    expect(query).toHaveLength(1);
    expect(param(query[0].props, 'queryString')).toMatch(/^filter type = "RUN_OUTCOME"/);
    // The query waits for the FilterLogEvents call that saw the line (through the chain of calls).
    expect(query[0].dependsOn.some((d) => d.startsWith('AwsApiCallCloudWatchLogsfilterLogEvents'))).toBe(true);
    const result = results.filter((r) => r.dependsOn.includes(query[0].id));
    expect(result).toHaveLength(1);
    expect(JSON.parse(result[0].props.expected)).toEqual({
      $ObjectLike: {
        status: 'Complete',
        results: [{ $ArrayWith: [{ field: 'outcome', value: outcome }] }],
      },
    });
  }
});

test('the agent\'s metrics are looked for after the ok run (task CPU, app container memory)', () => {
  const lists = calls('CloudWatch', 'listMetrics');
  expect(lists.map((l) => param(l.props, 'MetricName')).sort()).toEqual(['CPUUtilization', 'MemoryUtilization']);
  for (const l of lists) expect(parameters(l.props)).toContain(CANARIES.ok.family);
});
