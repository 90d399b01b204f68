/**
 * The service-incident live checks (test/integ/integ.service-incidents.ts), offline: the integ app synthesizes, its
 * canary is the crash loop the README describes, and its DeployAssert stack carries the assertions wired to the canary
 * stack's own names (the service's TaskCrashes dimensions, the handler's table and the crash window's key, the
 * cluster), in order, with the assertion provider's permissions. Whether they pass in AWS is only known by deploying
 * it (README, "Live checks in an AWS account"); nothing here calls AWS.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  buildIntegApp, CRASH_COMMAND, MIN_CRASHES, NAMESPACE, SERVE_SECONDS, SERVICE_NAME, ServiceCanaryStack, WEBHOOK_RECEIVER_CODE,
} from './integ.service-incidents';
import { RunOutcomeHandler } from '../../lib';

type Resources = Record<string, { Type: string; Properties: any; DependsOn?: string[] }>;

let canary: ServiceCanaryStack;
let assertStack: Stack;
let canaryTemplate: Template;
let canaryJson: any;
let resources: Resources;

beforeAll(() => {
  const { app, stack } = buildIntegApp();
  canary = stack;
  const stacks = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
  const asserts = stacks.filter((s) => s !== stack);
  expect(asserts.map((s) => s.stackName)).toEqual([expect.stringMatching(/^ServiceIncidentsDefaultTestDeployAssert/)]);
  assertStack = asserts[0];
  canaryTemplate = Template.fromStack(canary);
  canaryJson = canaryTemplate.toJSON();
  resources = Template.fromStack(assertStack).toJSON().Resources;
});

/** The DeployAssert custom resources of one API call (`Custom::DeployAssert@SdkCall<Service><api>`). */
function calls(service: string, api: string): Array<{ id: string; props: any; dependsOn: string[] }> {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === `Custom::DeployAssert@SdkCall${service}${api}`)
    .map(([id, r]) => ({ id, props: r.Properties, dependsOn: r.DependsOn ?? [] }));
}

/**
 * A value of either stack as one string, each reference written `{Ref X}` or `{GetAtt X.Attr}` in the canary stack's
 * terms: an `Fn::ImportValue` in the DeployAssert stack is replaced by the canary stack's exported value, so a value
 * read in each stack compares equal exactly when both name the same resource.
 */
function text(value: any): string {
  if (typeof value === 'string') return value;
  if (value?.['Fn::Join']) return value['Fn::Join'][1].map(text).join(value['Fn::Join'][0]);
  if (value?.Ref) return `{Ref ${value.Ref}}`;
  if (value?.['Fn::GetAtt']) return `{GetAtt ${value['Fn::GetAtt'].join('.')}}`;
  if (value?.['Fn::ImportValue']) {
    const name = value['Fn::ImportValue'];
    const output = Object.values<any>(canaryJson.Outputs ?? {}).find((o) => o.Export?.Name === name);
    if (!output) throw new Error(`no export ${name} in the canary stack`);
    return text(output.Value);
  }
  throw new Error(`not a string: ${JSON.stringify(value)}`);
}

/** One parameter of a call as the assertion provider decodes it (each is JSON-encoded by integ-tests). */
function param(props: any, name: string): any {
  return JSON.parse(text(props.parameters[name]));
}

/** A canary-stack value (a token) in the same notation. */
function canaryText(value: string): string {
  return text(canary.resolve(value));
}

/** The logical ID of a canary-stack resource. */
const logicalId = (c: any) => canary.resolve((c.node.defaultChild ?? c).logicalId) as string;

test('the canary: one service of 1 to 2 small tasks whose app serves, then exits 1', () => {
  canaryTemplate.resourceCountIs('AWS::ECS::Service', 1);
  canaryTemplate.hasResourceProperties('AWS::ECS::Service', { ServiceName: SERVICE_NAME, LaunchType: 'FARGATE' });
  canaryTemplate.hasResourceProperties('AWS::ECS::TaskDefinition', {
    Cpu: '256',
    Memory: '512',
    ContainerDefinitions: Match.arrayWith([
      Match.objectLike({ Name: canary.service.appContainerName, Command: ['sh', '-c', CRASH_COMMAND], Essential: true }),
    ]),
  });
  canaryTemplate.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 2 });
  // It crashes by its exit code, after serving the health check's path for SERVE_SECONDS (no failed health check).
  expect(CRASH_COMMAND).toMatch(new RegExp(`httpd -p 80 -h /www && sleep ${SERVE_SECONDS}; exit 1$`));
  expect(canary.service.targetGroup).toBeDefined();
  canaryTemplate.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/', Port: 80 });
});

test('the canary posts to a webhook receiver in its stack that answers 200, failures only', () => {
  // The secret holds the function URL (a resource attribute, never a literal), the function answers 200.
  canaryTemplate.hasResourceProperties('AWS::SecretsManager::Secret', {
    SecretString: { 'Fn::GetAtt': [logicalId(canary.webhookReceiver.node.findChild('FunctionUrl')), 'FunctionUrl'] },
  });
  canaryTemplate.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
  canaryTemplate.hasResourceProperties('AWS::Lambda::Function', { Code: { ZipFile: WEBHOOK_RECEIVER_CODE } });
  // The service's rule sends its events to the handler with this secret on both channels, notifySuccess off, and
  // the names the assertions use: namespace, cluster, service.
  const rules = Object.values<any>(canaryTemplate.findResources('AWS::Events::Rule'))
    .filter((r) => r.Properties.Targets?.[0]?.InputTransformer);
  expect(rules).toHaveLength(1);
  const template = rules[0].Properties.Targets[0].InputTransformer.InputTemplate;
  const webhookRef = `{Ref ${logicalId(canary.webhook)}}`;
  const config = text(template);
  for (const field of [
    `"namespace":"${NAMESPACE}"`,
    `"serviceName":"${SERVICE_NAME}"`,
    `"clusterName":"${canaryText(canary.cluster.clusterName)}"`,
    `"successWebhookSecretArn":"${webhookRef}"`,
    `"failureWebhookSecretArn":"${webhookRef}"`,
    '"notifySuccess":false',
  ]) expect(config).toContain(field);
});

test('the DeployAssert stack depends on the canary stack and has the assertion provider with the calls\' permissions', () => {
  expect(assertStack.dependencies).toContain(canary);
  const actions = new Set<string>();
  for (const r of Object.values(resources)) {
    if (r.Type !== 'AWS::IAM::Role') continue;
    for (const p of r.Properties.Policies ?? []) {
      for (const s of p.PolicyDocument.Statement) [s.Action].flat().forEach((a: string) => actions.add(a));
    }
  }
  expect([...actions]).toEqual(expect.arrayContaining(['ecs:DescribeServices', 'cloudwatch:GetMetricData', 'dynamodb:GetItem']));
  // Only reads: the checks change nothing in the account.
  expect([...actions].filter((a) => !/^(ecs:Describe|cloudwatch:Get|dynamodb:GetItem|states:StartExecution|lambda:InvokeFunction)/.test(a))).toEqual([]);
});

test('ECS knows the service: DescribeServices in the canary\'s cluster, its name and ACTIVE', () => {
  const describes = calls('ECS', 'describeServices');
  expect(describes.map((d) => [d.props.actualPath, JSON.parse(d.props.expected)])).toEqual([
    ['services.0.serviceName', { $Exact: SERVICE_NAME }],
    ['services.0.status', { $Exact: 'ACTIVE' }],
  ]);
  for (const d of describes) {
    expect(param(d.props, 'cluster')).toBe(canaryText(canary.cluster.clusterArn));
    expect(param(d.props, 'services')).toEqual([SERVICE_NAME]);
    expect(d.props.stateMachineArn).toBeDefined(); // waitForAssertions
  }
});

test('TaskCrashes ≥ MIN_CRASHES with exactly the service\'s dimensions, and again by Reason ExitCode', () => {
  const metrics = calls('CloudWatch', 'getMetricData');
  expect(metrics).toHaveLength(2);
  // The dimensions the service publishes and alarms on (its own metricTaskCrashes), in the canary's terms.
  const own = (reason?: string) => {
    const m = canary.service.metricTaskCrashes(reason);
    return Object.entries(m.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value: canaryText(String(Value)) }));
  };
  const queried = metrics.map((m) => {
    const queries = param(m.props, 'MetricDataQueries');
    expect(queries).toHaveLength(2);
    const [crashes, loop] = queries;
    expect(crashes).toMatchObject({
      Id: 'crashes',
      MetricStat: { Metric: { Namespace: NAMESPACE, MetricName: 'TaskCrashes' }, Period: 86_400, Stat: 'Sum' },
      ReturnData: false,
    });
    expect(loop).toEqual({ Id: 'loop', Expression: `IF(crashes >= ${MIN_CRASHES}, 1, 0)`, ReturnData: true });
    expect(JSON.parse(m.props.expected)).toEqual({ $ObjectLike: { MetricDataResults: [{ $ObjectLike: { Id: 'loop', Values: [1] } }] } });
    expect(m.props.stateMachineArn).toBeDefined();
    // One 1-day period that holds the deployment's hours.
    const [start, end] = [Date.parse(param(m.props, 'StartTime')), Date.parse(param(m.props, 'EndTime'))];
    expect(end - start).toBe(86_400_000);
    expect(start).toBeLessThan(Date.now());
    return crashes.MetricStat.Metric.Dimensions;
  });
  const sorted = (d: Array<{ Name: string }>) => [...d].sort((x, y) => x.Name.localeCompare(y.Name));
  expect(queried.map(sorted)).toEqual([sorted(own()), sorted(own('ExitCode'))]);
  expect(own()).toEqual(expect.arrayContaining([{ Name: 'ServiceName', Value: SERVICE_NAME }]));
});

test('the handler\'s table holds the service\'s crash window (the key service-events.ts writes)', () => {
  const gets = calls('DynamoDB', 'getItem');
  expect(gets).toHaveLength(1);
  const key = `service-window#${canaryText(canary.cluster.clusterName)}/${SERVICE_NAME}`;
  // The handler's own key (not exported from service-events.ts): a change there must change the check here.
  const handlerSource = readFileSync(join(__dirname, '../../lib/notifier/service-events.ts'), 'utf8');
  expect(handlerSource).toContain('const windowKey = (cfg: ServiceEventsConfig) => `service-window#${cfg.clusterName}/${cfg.serviceName}`;');
  expect(param(gets[0].props, 'TableName')).toBe(`{Ref ${logicalId(RunOutcomeHandler.of(canary).dedupTable)}}`);
  expect(param(gets[0].props, 'Key')).toEqual({ taskArn: { S: key } });
  expect(param(gets[0].props, 'ConsistentRead')).toBe(true);
  expect(gets[0].props.actualPath).toBe('Item.taskArn.S');
  expect(JSON.parse(text(gets[0].props.expected))).toEqual({ $Exact: key });
});

test('the checks run in order: the service, the crashes, the crashes by reason, the window', () => {
  const [named, active] = calls('ECS', 'describeServices');
  const [crashes, exitCodes] = calls('CloudWatch', 'getMetricData');
  const [window] = calls('DynamoDB', 'getItem');
  expect(active.dependsOn).toContain(named.id);
  expect(crashes.dependsOn).toContain(active.id);
  expect(exitCodes.dependsOn).toContain(crashes.id);
  expect(window.dependsOn).toContain(exitCodes.id);
  expect(param(exitCodes.props, 'MetricDataQueries')[0].MetricStat.Metric.Dimensions).toContainEqual({ Name: 'Reason', Value: 'ExitCode' });
});
