import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FastScalingService, FastScalingServiceProps, RunOutcomeHandler } from '../../lib';
import { matchEvents } from '../support/event-ruler';
import { newStack } from '../support/stacks';

const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'service-events');
const load = (f: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, f), 'utf8'));

let secrets = 0;
function slackOf(stack: Stack) {
  const n = secrets++;
  return {
    successWebhook: secretsmanager.Secret.fromSecretNameV2(stack, `Ok${n}`, 'slack/ok'),
    failureWebhook: secretsmanager.Secret.fromSecretNameV2(stack, `Ko${n}`, 'slack/ko'),
  };
}
/** A template value as text without JSON escapes (Fn::Join parts and all). */
const plain = (v: unknown) => JSON.stringify(v).replace(/\\/g, '');

function service(props: Partial<FastScalingServiceProps> = {}, stack = newStack()): { stack: Stack; svc: FastScalingService } {
  const svc = new FastScalingService(stack, 'Web', { container: { image }, slackNotifications: slackOf(stack), ...props });
  return { stack, svc };
}

const rulesWithPattern = (t: Template) => Object.entries(t.findResources('AWS::Events::Rule'))
  .filter(([, r]: any) => r.Properties.EventPattern?.$or);

describe('the service rule', () => {
  test('one rule per service: its STOPPED tasks, its deployment and service-action events, its scale-out alarm\'s states; on the stack\'s handler', () => {
    const { stack } = service({ serviceName: 'sin-web_service-dev' });
    const t = Template.fromStack(stack);
    const rules = rulesWithPattern(t);
    expect(rules).toHaveLength(1);
    const [, rule]: any = rules[0];
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.ecs', 'aws.cloudwatch'],
      $or: [
        { 'detail-type': ['ECS Task State Change'], 'detail': { clusterArn: [expect.anything()], group: ['service:sin-web_service-dev'], lastStatus: ['STOPPED'] } },
        { 'detail-type': ['ECS Deployment State Change', 'ECS Service Action'], 'resources': [{ Ref: expect.stringMatching(/^WebService/) }] },
        { 'detail-type': ['CloudWatch Alarm State Change'], 'resources': [{ 'Fn::GetAtt': [expect.stringMatching(/^WebCpuScaleOutUpperAlarm/), 'Arn'] }] },
      ],
    });
    const target = rule.Properties.Targets[0];
    expect(target.Arn['Fn::GetAtt'][0]).toMatch(/^FargateMonitorRunOutcomeHandlerFunction/);
    expect(target.InputTransformer.InputPathsMap).toMatchObject({ 'detail-type': '$.detail-type', 'detail': '$.detail', 'resources': '$.resources' });
    expect(plain(target.InputTransformer.InputTemplate)).toContain('"windowSeconds":600');
    expect(plain(target.InputTransformer.InputTemplate)).toContain('"serviceName":"sin-web_service-dev"');
    expect(plain(target.InputTransformer.InputTemplate)).toContain('"maxCapacity":10,"ceilingSeconds":300,"scaleOutThreshold":70');
    // The handler's once-a-minute flush, and its read of the window items.
    t.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', Targets: [Match.objectLike({ Input: '{"serviceFlush":true}' })] });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['dynamodb:GetItem', 'dynamodb:DeleteItem'] })]) },
    });
  });

  test('least privilege for the ceiling: ecs:DescribeServices on the services of the handler only, in one statement', () => {
    const stack = newStack();
    new FastScalingService(stack, 'A', { container: { image }, slackNotifications: slackOf(stack) });
    new FastScalingService(stack, 'B', { container: { image }, slackNotifications: slackOf(stack) });
    new FastScalingService(stack, 'C', { container: { image } });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().some((a: string) => a.startsWith('ecs:Describe')));
    expect(statements).toEqual([{ Action: 'ecs:DescribeServices', Effect: 'Allow', Resource: [{ Ref: expect.stringMatching(/^AService/) }, { Ref: expect.stringMatching(/^BService/) }] }]);
  });

  test('the pattern, as EventBridge\'s matcher (event-ruler) reads it: this service\'s events match, another service\'s do not', () => {
    const { stack } = service({ serviceName: 'sin-web_service-dev' });
    const [, rule]: any = rulesWithPattern(Template.fromStack(stack))[0];
    const clusterArn = 'arn:aws:ecs:ap-northeast-2:653734769926:cluster/sin-web_cluster-dev';
    const serviceArn = 'arn:aws:ecs:us-west-2:111122223333:service/default/servicetest';
    const alarmArn = 'arn:aws:cloudwatch:eu-central-1:111111111111:alarm:web-scale-out';
    // The template's references, resolved as CloudFormation would for this service.
    const pattern = JSON.parse(JSON.stringify(rule.Properties.EventPattern), (_k, v) => {
      if (v && typeof v === 'object' && v.Ref) return serviceArn;
      if (v && typeof v === 'object' && v['Fn::GetAtt']) return v['Fn::GetAtt'][0].includes('ScaleOutUpperAlarm') ? alarmArn : clusterArn;
      return v;
    });
    const hc = load('kotlinx_task-state-change_STOPPED_ServiceSchedulerInitiated_failed-ELB-health-checks_fargate_service-group_v6.json');
    const derived = (e: any, edit: (e: any) => void) => { const c = JSON.parse(JSON.stringify(e)); edit(c); return c; };
    // Derived: a CloudWatch Alarm State Change with the fields of the CloudWatch User Guide's example.
    const alarmEvent = (arn: string, value = 'ALARM') => ({
      'version': '0',
      'id': 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      'detail-type': 'CloudWatch Alarm State Change',
      'source': 'aws.cloudwatch',
      'account': '111111111111',
      'time': '2026-12-07T04:00:00Z',
      'region': 'eu-central-1',
      'resources': [arn],
      'detail': { alarmName: 'web-scale-out', state: { value, reason: 'Threshold Crossed' }, previousState: { value: 'OK' } },
    });
    const cases: Array<[string, object, boolean]> = [
      ['failed health checks of this service (real)', hc, true],
      ['the same task RUNNING (derived)', derived(hc, (e) => { e.detail.lastStatus = 'RUNNING'; }), false],
      ['a task of another service in the cluster (derived)', derived(hc, (e) => { e.detail.group = 'service:other'; }), false],
      ['a task of this family run alone (derived)', derived(hc, (e) => { e.detail.group = 'family:sin-web_task_def-dev'; }), false],
      ['another cluster\'s service task (fivexl, real)', load('fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json'), false],
      ['deployment failed (AWS docs)', load('awsdocs-2022_deployment-state-change_ERROR_SERVICE_DEPLOYMENT_FAILED.json'), true],
      ['rollback (AWS docs)', load('awsdocs-current_deployment-state-change_INFO_SERVICE_DEPLOYMENT_IN_PROGRESS_circuit-breaker-rollback.json'), true],
      ['deployment completed (AWS docs)', load('awsdocs-2022_deployment-state-change_INFO_SERVICE_DEPLOYMENT_COMPLETED.json'), true],
      ['placement failure (AWS docs)', load('awsdocs-2022_service-action_ERROR_SERVICE_TASK_PLACEMENT_FAILURE_fargate-spot.json'), true],
      ['start impaired (AWS docs)', load('awsdocs-2022_service-action_WARN_SERVICE_TASK_START_IMPAIRED.json'), true],
      ['another service\'s failed deployment (derived)', derived(load('awsdocs-2022_deployment-state-change_ERROR_SERVICE_DEPLOYMENT_FAILED.json'),
        (e) => { e.resources = ['arn:aws:ecs:us-west-2:111122223333:service/default/other']; }), false],
      ['the scale-out alarm going to ALARM (derived)', alarmEvent(alarmArn), true],
      ['the scale-out alarm back to OK (derived)', alarmEvent(alarmArn, 'OK'), true],
      ['another alarm (derived)', alarmEvent('arn:aws:cloudwatch:eu-central-1:111111111111:alarm:other'), false],
    ];
    const matched = matchEvents([pattern], cases.map((c) => c[1])).map((r) => r[0]);
    expect(Object.fromEntries(cases.map((c, i) => [c[0], matched[i]]))).toEqual(Object.fromEntries(cases.map((c) => [c[0], c[2]])));
  });
});

describe('resources', () => {
  const count = (stack: Stack) => Object.keys(Template.fromStack(stack).toJSON().Resources).length;

  test('a service with Slack adds its rule and permission only (the TaskCrashes alarm when asked for); the handler adds its flush rule and permission once', () => {
    const counts = (slackServices: number, plainServices: number, crashAlarm = false) => {
      const stack = newStack();
      RunOutcomeHandler.of(stack);
      for (let i = 0; i < slackServices; i++) {
        new FastScalingService(stack, `Slack${i}`, {
          container: { image }, slackNotifications: slackOf(stack), alarmOverrides: crashAlarm ? { taskCrashes: {} } : undefined,
        });
      }
      for (let i = 0; i < plainServices; i++) new FastScalingService(stack, `Plain${i}`, { container: { image } });
      return count(stack);
    };
    const none = counts(0, 2);
    const one = counts(1, 1);
    const two = counts(2, 0);
    expect(one - none).toBe(2 + 2); // the rule and its permission + the handler's flush rule and its permission
    expect(two - one).toBe(2);
    expect(counts(2, 0, true) - two).toBe(2); // one TaskCrashes alarm per service, when asked for
  });
});

describe('alarms and props', () => {
  test('TaskCrashes alarm: none by default; asked for, 3 in 5 minutes, overridable; no ceiling alarm (the handler watches)', () => {
    const plainOne = service();
    expect(plainOne.svc.taskCrashesAlarm).toBeUndefined();
    expect(JSON.stringify(Template.fromStack(plainOne.stack).findResources('AWS::CloudWatch::Alarm'))).not.toContain('TaskCrashes');
    expect(service({ alarmOverrides: { taskCrashes: { enabled: false } } }).svc.taskCrashesAlarm).toBeUndefined();
    const { stack, svc } = service({ maxCapacity: 12, alarmOverrides: { taskCrashes: { threshold: 5 } } });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: [
        Match.objectLike({ Expression: 'FILL(crashes, 0)' }),
        Match.objectLike({
          Id: 'crashes',
          MetricStat: {
            Metric: { MetricName: 'TaskCrashes', Namespace: 'FargateMonitor', Dimensions: Match.arrayWith([{ Name: 'ServiceName', Value: svc.serviceName }]) },
            Period: 300,
            Stat: 'Sum',
          },
        }),
      ],
      Threshold: 5,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(service({ alarmOverrides: { taskCrashes: {} } }).svc.taskCrashesAlarm).toBeDefined();
    // No ceiling alarm: the handler watches the scale-out alarm and the desired count.
    expect(JSON.stringify(t.findResources('AWS::CloudWatch::Alarm'))).not.toContain('DesiredTaskCount');
    expect(svc.taskCrashesAlarm).toBeDefined();
    expect(svc.incidentRule).toBeDefined();
  });

  test('metricTaskCrashes: the handler\'s metric, with the service\'s dimensions (and Reason)', () => {
    const { stack, svc } = service();
    const m = svc.metricTaskCrashes('OutOfMemory');
    expect(m.metricName).toBe('TaskCrashes');
    expect(m.namespace).toBe('FargateMonitor');
    expect(stack.resolve(m.dimensions)).toEqual({ ClusterName: expect.anything(), ServiceName: svc.serviceName, Reason: 'OutOfMemory' });
    expect(svc.metricTaskCrashes().dimensions).not.toHaveProperty('Reason');
  });

  test('without slackNotifications: no rule, no alarms, no handler', () => {
    const stack = newStack();
    new FastScalingService(stack, 'Web', { container: { image } });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Lambda::Function', 0);
    expect(rulesWithPattern(t)).toHaveLength(0);
  });

  test('bad props fail at synth, naming the prop', () => {
    expect(() => service({ incidentWindow: Duration.seconds(30) })).toThrow(/incidentWindow must be from 1 minute to 1 day/);
    expect(() => service({ scaledToCeilingDuration: Duration.seconds(30) })).toThrow(/scaledToCeilingDuration must be from 1 minute to 1 day, got 30 seconds/);
    expect(() => service({ scaledToCeilingDuration: Duration.days(2) })).toThrow(/scaledToCeilingDuration must be from 1 minute to 1 day/);
    expect(() => service({ alarmOverrides: { taskCrashes: { threshold: 0 } } })).toThrow(/alarmOverrides\.taskCrashes\.threshold/);
  });

  test('the service dashboard shows TaskCrashes by reason', () => {
    const { stack } = service();
    const body = plain(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
    for (const r of ['OutOfMemory', 'ExitCode', 'HealthCheck', 'FailedToStart']) expect(body).toContain(`"Reason","${r}","ServiceName"`);
    expect(body).toContain('Task crashes by reason');
  });
});
