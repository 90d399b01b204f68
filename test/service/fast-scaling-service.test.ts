import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { FastScalingService, FastScalingServiceProps, MonitoredScheduledTask } from '../../lib';
import { minimalProps, newStack } from '../support/stacks';

const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');

function make(overrides: Partial<FastScalingServiceProps> = {}, stack: Stack = newStack()): { stack: Stack; svc: FastScalingService; t: Template } {
  const svc = new FastScalingService(stack, 'Web', { container: { image }, ...overrides });
  return { stack, svc, t: Template.fromStack(stack) };
}

function resourcesOf(t: Template, type: string): Array<[string, any]> {
  return Object.entries(t.findResources(type));
}

function agentEnv(t: Template): Record<string, string> {
  const [, td] = resourcesOf(t, 'AWS::ECS::TaskDefinition')[0];
  const agent = td.Properties.ContainerDefinitions.find((c: any) => c.Name === 'fargate-monitor-agent');
  return Object.fromEntries(agent.Environment.map((e: any) => [e.Name, e.Value]));
}

describe('defaults', () => {
  const { svc, t } = make();

  test('the task shares one PID namespace and the agent samples /proc, flushes every 10 s (the agent default), publishes per service', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      PidMode: 'task',
      Cpu: '512',
      Memory: '1024',
      RuntimePlatform: { OperatingSystemFamily: 'LINUX', CpuArchitecture: 'X86_64' },
    });
    expect(agentEnv(t)).toMatchObject({
      FARGATE_MONITOR_PROCFS: 'true',
      FARGATE_MONITOR_SERVICE_NAME: svc.serviceName,
      FARGATE_MONITOR_APP_CONTAINER: 'app',
    });
    expect(agentEnv(t).FARGATE_MONITOR_FLUSH_INTERVAL_MS).toBeUndefined();
  });

  test('the service has the explicit name the agent publishes under, and no DesiredCount', () => {
    expect(svc.serviceName).toMatch(/^TestStack-Web-[0-9A-F]{8}$/);
    const [, service] = resourcesOf(t, 'AWS::ECS::Service')[0];
    expect(service.Properties.ServiceName).toBe(svc.serviceName);
    expect(service.Properties.DesiredCount).toBeUndefined();
    expect(service.Properties.LoadBalancers).toEqual([expect.objectContaining({ ContainerName: 'app', ContainerPort: 80 })]);
    expect(service.Properties.MonitoringConfiguration).toBeUndefined();
  });

  test('min 2, max 10 tasks', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 10, ScalableDimension: 'ecs:service:DesiredCount' });
  });

  test('scale-out: a 10 s high-resolution alarm on the service CPU (never a task ID) drives aggressive steps, 45 s cooldown', () => {
    const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'CPUUtilization');
    const out = alarms.find(([, a]) => a.Properties.ComparisonOperator === 'GreaterThanOrEqualToThreshold')!;
    expect(out[1].Properties).toMatchObject({
      Namespace: 'FargateMonitor',
      Period: 10,
      Statistic: 'Average',
      Threshold: 70,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(out[1].Properties.Dimensions.map((d: any) => d.Name).sort()).toEqual(['ClusterName', 'ServiceName']);
    const policyId = out[1].Properties.AlarmActions[0].Ref;
    expect(t.toJSON().Resources[policyId].Properties.StepScalingPolicyConfiguration).toEqual({
      AdjustmentType: 'PercentChangeInCapacity',
      Cooldown: 45,
      MetricAggregationType: 'Average',
      MinAdjustmentMagnitude: 1,
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 5, ScalingAdjustment: 50 },
        { MetricIntervalLowerBound: 5, MetricIntervalUpperBound: 20, ScalingAdjustment: 100 },
        { MetricIntervalLowerBound: 20, ScalingAdjustment: 200 },
      ],
    });
  });

  test('scale-in: 5 one-minute periods below 30 % remove one task, 300 s cooldown', () => {
    const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.MetricName === 'CPUUtilization');
    const inn = alarms.find(([, a]) => a.Properties.ComparisonOperator === 'LessThanOrEqualToThreshold')!;
    expect(inn[1].Properties).toMatchObject({ Period: 60, Threshold: 30, EvaluationPeriods: 5, DatapointsToAlarm: 5, TreatMissingData: 'notBreaching' });
    const policy = t.toJSON().Resources[inn[1].Properties.AlarmActions[0].Ref];
    expect(policy.Properties.StepScalingPolicyConfiguration).toMatchObject({
      AdjustmentType: 'ChangeInCapacity',
      Cooldown: 300,
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }],
    });
  });

  test('no native target tracking unless asked', () => {
    t.resourcePropertiesCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', { PolicyType: 'TargetTrackingScaling' }, 0);
  });

  test('fast health checks and a short deregistration delay', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 4,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 5,
      HealthCheckPath: '/',
      TargetGroupAttributes: Match.arrayWith([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
    });
  });

  test('service alarms: memory (30 s), 5xx share, p99 response time, none on a task ID', () => {
    const resources = t.toJSON().Resources;
    const alarms = svc.alarms.alarms.map((a) => resources[Stack.of(a).getLogicalId(a.node.defaultChild as cloudwatch.CfnAlarm)].Properties);
    expect(alarms[0]).toMatchObject({ MetricName: 'MemoryUtilization', Period: 30, Threshold: 90 });
    expect(alarms[1].Metrics[0].Expression).toContain('t5xx');
    expect(alarms[1]).toMatchObject({ Threshold: 5, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarms[2]).toMatchObject({ MetricName: 'TargetResponseTime', ExtendedStatistic: 'p99', Threshold: 2 });
    expect(JSON.stringify(t.toJSON())).not.toContain('TaskId');
  });

  test('dashboard: CPU and memory from the agent, desired vs running, scaling alarms, 5xx and response time', () => {
    const [, dash] = resourcesOf(t, 'AWS::CloudWatch::Dashboard')[0];
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const s of ['CPUUtilization', 'MemoryUtilization', 'DesiredTaskCount', 'RunningTaskCount', 'HTTPCode_Target_5XX_Count',
      'HTTPCode_ELB_5XX_Count', 'TargetResponseTime', 'Scaling: CpuScaleOut', 'Scaling: CpuScaleIn']) {
      expect(body).toContain(s);
    }
  });
});

test('native 20 s target tracking as a safety net: predefined high-resolution type and 20 s service metrics', () => {
  const { t } = make({ nativeTargetTrackingCpuPercent: 60 });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    PolicyType: 'TargetTrackingScaling',
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: 60,
      DisableScaleIn: true,
      PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilizationHighResolution' },
    },
  });
  t.hasResourceProperties('AWS::ECS::Service', {
    MonitoringConfiguration: { MetricConfigurations: [{ MetricNames: ['CPUUtilization'], ResolutionSeconds: 20 }] },
  });
});

test('custom steps, periods and capacity reach the template', () => {
  const { t } = make({
    minCapacity: 3,
    maxCapacity: 40,
    scaleOutSteps: [{ lower: 60, upper: 75, change: 2 }, { lower: 75, upper: 90, change: 4 }, { lower: 90, change: 8 }],
    scaleOutAdjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
    scaleOutPeriod: Duration.seconds(30),
    scaleOutEvaluationPeriods: 2,
    scaleOutCooldown: Duration.seconds(45),
    scaleInSteps: [{ upper: 20, lower: 10, change: -1 }, { upper: 10, change: -2 }],
    flushInterval: Duration.seconds(2),
    serviceName: 'checkout',
  });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 40 });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', { Period: 30, Threshold: 60, EvaluationPeriods: 2, DatapointsToAlarm: 2 });
  t.hasResourceProperties('AWS::CloudWatch::Alarm', { Period: 60, Threshold: 20, ComparisonOperator: 'LessThanOrEqualToThreshold' });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    StepScalingPolicyConfiguration: {
      AdjustmentType: 'ChangeInCapacity',
      Cooldown: 45,
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 15, ScalingAdjustment: 2 },
        { MetricIntervalLowerBound: 15, MetricIntervalUpperBound: 30, ScalingAdjustment: 4 },
        { MetricIntervalLowerBound: 30, ScalingAdjustment: 8 },
      ],
    },
  });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    StepScalingPolicyConfiguration: {
      StepAdjustments: [
        { MetricIntervalLowerBound: -10, MetricIntervalUpperBound: 0, ScalingAdjustment: -1 },
        { MetricIntervalUpperBound: -10, ScalingAdjustment: -2 },
      ],
    },
  });
  t.hasResourceProperties('AWS::ECS::Service', { ServiceName: 'checkout' });
  expect(agentEnv(t)).toMatchObject({ FARGATE_MONITOR_FLUSH_INTERVAL_MS: '2000', FARGATE_MONITOR_SERVICE_NAME: 'checkout' });
});

test('scaleOnHighResolutionMetric: another metric gets its own 10 s scale-out alarm and policy', () => {
  const stack = newStack();
  const svc = new FastScalingService(stack, 'Web', { container: { image } });
  const queueDepth = new cloudwatch.Metric({ namespace: 'App', metricName: 'InFlight', statistic: 'Maximum', dimensionsMap: { Service: 'web' } });
  const r = svc.scaleOnHighResolutionMetric('InFlight', { metric: queueDepth, scaleOutSteps: [{ lower: 200, change: 100 }] });
  expect(r.scaleInAlarm).toBeUndefined();
  const t = Template.fromStack(stack);
  t.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'App', MetricName: 'InFlight', Period: 10, Statistic: 'Maximum', Threshold: 200, TreatMissingData: 'notBreaching',
  });
  t.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 3);
});

test('the service cluster and VPC can be the user\'s', () => {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  const { t } = make({ cluster }, stack);
  t.resourceCountIs('AWS::ECS::Cluster', 1);
});

describe('bad props fail at synth, naming the prop', () => {
  const cases: Array<[string, Partial<FastScalingServiceProps>, RegExp]> = [
    ['min > max', { minCapacity: 5, maxCapacity: 3 }, /minCapacity \(5\) must not be greater than maxCapacity \(3\)/],
    ['overlapping steps', { scaleOutSteps: [{ lower: 70, upper: 90, change: 50 }, { lower: 85, change: 100 }] }, /scaleOutSteps\[0\].*and scaleOutSteps\[1\].*overlap/],
    ['a gap between steps', { scaleOutSteps: [{ lower: 70, upper: 80, change: 50 }, { lower: 85, change: 100 }] }, /scaleOutSteps\[0\].*leave a gap from 80 to 85/],
    ['an open-ended step before the last', { scaleOutSteps: [{ lower: 70, change: 50 }, { lower: 85, change: 100 }] }, /scaleOutSteps\[0\].*no upper bound but is not the last/],
    ['a closed last step', { scaleOutSteps: [{ lower: 70, upper: 90, change: 50 }] }, /scaleOutSteps\[0\].*last scale-out step must have no upper bound/],
    ['a scale-out step that removes tasks', { scaleOutSteps: [{ lower: 70, change: -1 }] }, /scaleOutSteps\[0\].*change must be a positive whole number/],
    ['a threshold above 100 %', { scaleOutSteps: [{ lower: 120, change: 50 }] }, /scaleOutSteps\[0\].*within 0–100/],
    ['a negative threshold', { scaleInSteps: [{ upper: 30, lower: -5, change: -1 }, { upper: -5, change: -2 }] }, /scaleInSteps\[0\].*within 0–100/],
    ['scale-in steps that add tasks', { scaleInSteps: [{ upper: 30, change: 1 }] }, /scaleInSteps\[0\].*negative whole number/],
    ['scale-in steps out of order', { scaleInSteps: [{ upper: 10, lower: 5, change: -1 }, { upper: 30, change: -2 }] }, /scaleInSteps\[0\].*overlap/],
    ['scale-in threshold above scale-out', { scaleInSteps: [{ upper: 80, change: -1 }] }, /scaleInSteps must start below scaleOutSteps/],
    ['a 20 s period (CDK metrics cannot carry it)', { scaleOutPeriod: Duration.seconds(20) }, /scaleOutPeriod must be 10 seconds, 30 seconds or a whole number of minutes .*got 20 seconds/],
    ['a 45 s period', { scaleInPeriod: Duration.seconds(45) }, /scaleInPeriod must be 10 seconds, 30 seconds or a whole number of minutes/],
    ['period × evaluations over a day', { scaleInPeriod: Duration.minutes(30), scaleInEvaluationPeriods: 49 }, /scaleInPeriod × scaleInEvaluationPeriods must be at most 1 day/],
    ['zero evaluation periods', { scaleOutEvaluationPeriods: 0 }, /scaleOutEvaluationPeriods must be a whole number of at least 1/],
    ['native target outside 0–100', { nativeTargetTrackingCpuPercent: 150 }, /nativeTargetTrackingCpuPercent must be > 0 and ≤ 100/],
    ['memory threshold outside 0–100', { alarmOverrides: { memory: { threshold: 0 } } }, /alarmOverrides.memory.threshold must be > 0 and ≤ 100/],
    ['5xx threshold outside 0–100', { alarmOverrides: { http5xx: { threshold: 101 } } }, /alarmOverrides.http5xx.threshold must be > 0 and ≤ 100/],
    ['a task size Fargate lacks', { cpu: 512, memoryLimitMiB: 512 }, /cpu\/memoryLimitMiB: memoryLimitMiB 512 is not valid with cpu 512/],
    ['a bad service name', { serviceName: 'my service' }, /serviceName must be 1–255 letters, digits, hyphens and underscores/],
    ['an old platform version', { platformVersion: ecs.FargatePlatformVersion.VERSION1_3 }, /platformVersion must be 1.4.0 or later/],
    ['a flush interval under 1 s', { flushInterval: Duration.millis(500) }, /flushInterval must be a whole number of milliseconds from 1 second/],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    expect(() => make(props)).toThrow(message);
  });

  test('container checks shared with the scheduled task (lib/shared/app-container.ts)', () => {
    expect(() => make({ container: { image, memoryLimitMiB: 2048 } })).toThrow(/container.memoryLimitMiB \(2048\) plus the agent's reservation \(64 MiB\) must not exceed the task's memoryLimitMiB \(1024\)/);
    expect(() => make({ container: { image, stopTimeout: Duration.minutes(3) } })).toThrow(/container.stopTimeout must be at most 120 seconds/);
    expect(() => make({ container: { image, containerName: 'fargate-monitor-agent' } })).toThrow(/is reserved for the monitoring agent/);
  });

  test('container port out of range', () => {
    expect(() => make({ container: { image, containerPort: 70000 } })).toThrow(/container.containerPort must be a port number from 1 to 65535, got 70000/);
  });

  test('cluster and vpc together', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    expect(() => make({ vpc, cluster: new ecs.Cluster(stack, 'C', { vpc }) }, stack)).toThrow(/give either cluster or vpc, not both/);
  });

  test('bad steps of another metric name the option', () => {
    const stack = newStack();
    const svc = new FastScalingService(stack, 'Web', { container: { image } });
    const m = new cloudwatch.Metric({ namespace: 'App', metricName: 'X' });
    expect(() => svc.scaleOnHighResolutionMetric('X', { metric: m, scaleOutSteps: [{ lower: 5, upper: 10, change: 1 }, { lower: 11, change: 2 }] }))
      .toThrow(/scaleOutSteps\[0\].*leave a gap from 10 to 11/);
    // Outside 0–100 is fine for a metric that is not a percentage.
    expect(() => svc.scaleOnHighResolutionMetric('Y', { metric: m, scaleOutSteps: [{ lower: 500, change: 1 }] })).not.toThrow();
  });
});

test('the service dashboard opens on the last 3 hours, agent CPU at 10-second periods', () => {
  const { t } = make();
  const dashboards = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
  expect(body).toContain('\\"start\\":\\"-PT3H\\"');
  expect(body).toMatch(/CPUUtilization[^\]]*\\"period\\":10[,}]/);
});

test('without a cluster, a FastScalingService and a MonitoredScheduledTask share the stack default cluster and VPC', () => {
  const stack = newStack();
  new FastScalingService(stack, 'Web', { container: { image } });
  new MonitoredScheduledTask(stack, 'Job', minimalProps());
  const t = Template.fromStack(stack);
  t.resourceCountIs('AWS::ECS::Cluster', 1);
  t.resourceCountIs('AWS::EC2::VPC', 1);
  t.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
});

test('okActions are separate from alarmActions on the service alarms; the scaling alarms get neither', () => {
  const stack = newStack();
  const page = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:page' }) };
  const info = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:info' }) };
  const svc = new FastScalingService(stack, 'Web', { container: { image }, alarmActions: [page], okActions: [info] });
  const t = Template.fromStack(stack);
  const byId = t.findResources('AWS::CloudWatch::Alarm');
  const ids = (alarms: cloudwatch.Alarm[]) => alarms.map((a) => stack.getLogicalId(a.node.defaultChild as any));
  for (const id of ids(svc.alarms.alarms)) {
    expect(byId[id].Properties.AlarmActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:page']);
    expect(byId[id].Properties.OKActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:info']);
  }
  expect(svc.alarms.alarms.length).toBeGreaterThan(0);
  const scaling = Object.keys(byId).filter((id) => !ids(svc.alarms.alarms).includes(id));
  expect(scaling.length).toBeGreaterThan(0);
  for (const id of scaling) expect(byId[id].Properties.OKActions).toBeUndefined();
});

test('the shared step-scaling timing reaches the CPU policies: scaleInAdjustmentType and cooldowns', () => {
  const { t } = make({
    scaleInSteps: [{ upper: 20, change: -25 }],
    scaleInAdjustmentType: appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
    scaleInCooldown: Duration.minutes(7),
    scaleOutCooldown: Duration.seconds(120),
  });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    StepScalingPolicyConfiguration: Match.objectLike({ AdjustmentType: 'PercentChangeInCapacity', Cooldown: 420 }),
  });
  t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
    StepScalingPolicyConfiguration: Match.objectLike({ Cooldown: 120 }),
  });
});

test('the agent flushes every second from the lowest scale-out threshold on (its fast flush), following the steps', () => {
  expect(agentEnv(make().t)).toMatchObject({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '70' });
  expect(agentEnv(make().t).FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS).toBeUndefined(); // the agent's default, 1000 ms
  const custom = make({ scaleOutSteps: [{ lower: 60, change: 100 }] });
  expect(agentEnv(custom.t)).toMatchObject({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '60' });
  // Steps out of range are reported by their own check, not by the agent's.
  expect(() => make({ scaleOutSteps: [{ lower: 120, change: 50 }] })).toThrow(/scaleOutSteps\[0\].*within 0–100/);
});

describe('the props both monitored constructs share, on the service', () => {
  test('ARM64: the tasks run on ARM64 and the bundled agent image is built for linux/arm64', () => {
    const { stack, t } = make({ cpuArchitecture: ecs.CpuArchitecture.ARM64 });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { OperatingSystemFamily: 'LINUX', CpuArchitecture: 'ARM64' } });
    const assets = stack.node.root.node.findAll().map((c: any) => c.assetHash && c.platform).filter(Boolean);
    expect(JSON.stringify(stack.resolve(assets))).not.toContain('amd64');
  });

  test('an existing task role and log group are used; no task role or log group is created', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const logGroup = new logs.LogGroup(stack, 'Shared');
    const { t } = make({ taskRole: role, logGroup }, stack);
    const td = resourcesOf(t, 'AWS::ECS::TaskDefinition')[0][1].Properties;
    expect(td.TaskRoleArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AppRole/), 'Arn'] });
    expect(resourcesOf(t, 'AWS::Logs::LogGroup').map(([id]) => id)).toEqual([expect.stringMatching(/^Shared/)]);
    for (const c of td.ContainerDefinitions) expect(c.LogConfiguration.Options['awslogs-group']).toEqual({ Ref: expect.stringMatching(/^Shared/) });
    expect(() => make({ logGroup: new logs.LogGroup(newStack(), 'L'), logRetention: logs.RetentionDays.ONE_DAY }))
      .toThrow(/logRetention and logEncryptionKey apply to the log group this construct creates/);
  });

  test('createDashboard false creates none; dashboardName names it', () => {
    expect(make({ createDashboard: false }).svc.dashboard).toBeUndefined();
    make({ createDashboard: false }).t.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    make({ dashboardName: 'shop-eu-west-1' }).t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shop-eu-west-1' });
    expect(() => make({ createDashboard: false, dashboardName: 'x' })).toThrow(/dashboardName is given but createDashboard is false/);
  });

  test('the tasks get a security group of their own, which the load balancer may reach on the container port', () => {
    const { svc, t } = make({ container: { image, containerPort: 8080 } });
    expect(svc.securityGroups).toHaveLength(1);
    const network = resourcesOf(t, 'AWS::ECS::Service')[0][1].Properties.NetworkConfiguration.AwsvpcConfiguration;
    expect(network.SecurityGroups).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^WebSecurityGroup/), 'GroupId'] }]);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      FromPort: 8080, ToPort: 8080, GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebSecurityGroup'), 'GroupId'] },
    });
  });

  test('metricMemoryUtilized, as on the scheduled task', () => {
    const { svc } = make();
    const m = svc.metricMemoryUtilized('app');
    expect([m.metricName, m.dimensions]).toEqual(['MemoryUtilized', { ClusterName: svc.cluster.clusterName, ServiceName: svc.serviceName, ContainerName: 'app' }]);
  });

  test('alarmOverrides: the response-time alarm off, the 5xx alarm with its own threshold and actions', () => {
    const page = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:page' }) };
    const { svc, t } = make({ alarmOverrides: { responseTime: { enabled: false }, http5xx: { threshold: 1, alarmActions: [page] } } });
    expect(svc.alarms.responseTimeAlarm).toBeUndefined();
    expect(svc.alarms.alarms.map((a) => a.node.id)).toEqual(['MemoryAlarm', 'Http5xxAlarm']);
    const resources = t.toJSON().Resources;
    const http = resources[Stack.of(svc).getLogicalId(svc.alarms.http5xxAlarm!.node.defaultChild as cloudwatch.CfnAlarm)].Properties;
    expect(http).toMatchObject({ Threshold: 1, AlarmActions: ['arn:aws:sns:eu-central-1:111111111111:page'], OKActions: ['arn:aws:sns:eu-central-1:111111111111:page'] });
    expect(http.AlarmDescription).toMatch(/^1% or more of the requests/);
  });

  test('procfsSampling false: no pidMode task (the metadata endpoint\'s 10 s CPU only)', () => {
    const { t } = make({ procfsSampling: false });
    const td = resourcesOf(t, 'AWS::ECS::TaskDefinition')[0][1].Properties;
    expect(td.PidMode).toBeUndefined();
  });
});
