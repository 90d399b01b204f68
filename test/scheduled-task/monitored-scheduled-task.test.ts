import { App, Duration, Stack, TimeZone } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { AGENT_CONTAINER_NAME, MetricsPublisher, MonitoredScheduledTask, MonitoredScheduledTaskProps, MonitoringAgent } from '../../lib';
import { ExampleStack } from '../example/example-stack';
import { maskAssetHashes, minimalProps, newStack } from '../support/stacks';

function synth(props: MonitoredScheduledTaskProps = minimalProps()): { stack: Stack; task: MonitoredScheduledTask; template: Template } {
  const stack = newStack();
  const task = new MonitoredScheduledTask(stack, 'Job', props);
  return { stack, task, template: Template.fromStack(stack) };
}

function containers(template: Template): any[] {
  const defs = Object.values(template.findResources('AWS::ECS::TaskDefinition'));
  expect(defs).toHaveLength(1);
  return (defs[0] as any).Properties.ContainerDefinitions;
}

function byName(template: Template, name: string): any {
  const c = containers(template).find((x) => x.Name === name);
  expect(c).toBeDefined();
  return c;
}

describe('example app', () => {
  test('template matches the snapshot (asset hashes masked)', () => {
    const app = new App();
    const stack = new ExampleStack(app, 'FargateMonitorExample');
    expect(maskAssetHashes(Template.fromStack(stack).toJSON())).toMatchSnapshot();
  });
});

describe('task definition', () => {
  test('is a Fargate task of the requested size with an essential app container and the agent', () => {
    const { template } = synth(minimalProps({ cpu: 1024, memoryLimitMiB: 2048 }));
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024', Memory: '2048', NetworkMode: 'awsvpc', RequiresCompatibilities: ['FARGATE'],
    });
    expect(containers(template).map((c) => c.Name).sort()).toEqual([AGENT_CONTAINER_NAME, 'app'].sort());
    expect(byName(template, 'app').Essential).toBe(true);
  });

  test('agent: not essential, starts after the app has started, stopTimeout 10 s = its shutdown deadline, non-root, read-only, logs with retention', () => {
    const { template } = synth();
    const agent = byName(template, AGENT_CONTAINER_NAME);
    expect(agent.Essential).toBe(false);
    expect(agent.DependsOn).toEqual([{ ContainerName: 'app', Condition: 'START' }]);
    // ECS stops the agent before the app (shutdown reverses dependsOn): its stopTimeout is how long it can hold back
    // the app's SIGTERM, and must not exceed the agent's own deadline.
    expect(agent.StopTimeout).toBe(10);
    const env = Object.fromEntries(agent.Environment.map((e: any) => [e.Name, e.Value]));
    expect(Number(env.FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS)).toBeLessThanOrEqual(agent.StopTimeout * 1000);
    expect(agent.User).toBe('1000:1000');
    expect(agent.ReadonlyRootFilesystem).toBe(true);
    expect(agent.Memory).toBe(128);
    expect(agent.LogConfiguration.LogDriver).toBe('awslogs');
    expect(agent.LogConfiguration.Options['awslogs-stream-prefix']).toBe('agent');
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('agent is configured for this task: namespace and app container name', () => {
    const { template } = synth(minimalProps({ namespace: 'Team/Batch', container: { image: ecs.ContainerImage.fromRegistry('x'), containerName: 'etl' } }));
    const env = Object.fromEntries(byName(template, AGENT_CONTAINER_NAME).Environment.map((e: any) => [e.Name, e.Value]));
    expect(env).toEqual({ FARGATE_MONITOR_NAMESPACE: 'Team/Batch', FARGATE_MONITOR_APP_CONTAINER: 'etl', FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS: '10000' });
  });

  test('agent image defaults to the bundled agent asset and can be replaced', () => {
    const def = synth();
    expect(JSON.stringify(byName(def.template, AGENT_CONTAINER_NAME).Image)).toContain('cdk-hnb659fds-container-assets');
    const custom = synth(minimalProps({ agentImage: ecs.ContainerImage.fromRegistry('example.com/agent:1') }));
    expect(byName(custom.template, AGENT_CONTAINER_NAME).Image).toBe('example.com/agent:1');
  });

  test('app container gets command, environment, secrets-capable options, user and limits', () => {
    const { template } = synth(minimalProps({
      memoryLimitMiB: 1024,
      container: {
        image: ecs.ContainerImage.fromRegistry('x'),
        command: ['run', '--fast'],
        environment: { A: '1' },
        user: '65534',
        readonlyRootFilesystem: true,
        memoryLimitMiB: 512,
        stopTimeout: Duration.seconds(90),
      },
    }));
    expect(byName(template, 'app')).toMatchObject({
      Command: ['run', '--fast'],
      Environment: [{ Name: 'A', Value: '1' }],
      User: '65534',
      ReadonlyRootFilesystem: true,
      Memory: 512,
      StopTimeout: 90,
    });
  });
});

describe('agent options', () => {
  test('procfsSampling shares the PID namespace (pidMode task, Linux) and turns the /proc source on', () => {
    const { template } = synth(minimalProps({ procfsSampling: true }));
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      PidMode: 'task',
      RuntimePlatform: { OperatingSystemFamily: 'LINUX', CpuArchitecture: 'X86_64' },
    });
    const env = Object.fromEntries(byName(template, AGENT_CONTAINER_NAME).Environment.map((e: any) => [e.Name, e.Value]));
    expect(env.FARGATE_MONITOR_PROCFS).toBe('true');
  });

  test('without procfsSampling the task keeps its own PID namespaces', () => {
    const { template } = synth();
    const def = Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as any;
    expect(def.Properties.PidMode).toBeUndefined();
  });

  test('Embedded Metric Format: the agent logs metrics and the task role gets no PutMetricData', () => {
    const { template } = synth(minimalProps({ metricsPublisher: MetricsPublisher.embeddedMetricFormat() }));
    const env = Object.fromEntries(byName(template, AGENT_CONTAINER_NAME).Environment.map((e: any) => [e.Name, e.Value]));
    expect(env.FARGATE_MONITOR_PUBLISHER).toBe('emf');
    // The stack's run-outcome handler publishes Runs/FailedRuns itself; the task's roles get nothing.
    const taskPolicies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('Job'));
    expect(taskPolicies.length).toBeGreaterThan(0);
    expect(JSON.stringify(taskPolicies)).not.toContain('cloudwatch:PutMetricData');
  });

  test('procfsSampling on an older platform version fails at synth', () => {
    expect(() => synth(minimalProps({ procfsSampling: true, platformVersion: ecs.FargatePlatformVersion.VERSION1_3 })))
      .toThrow(/platformVersion must be 1.4.0 or later with procfsSampling/);
  });

  test('MonitoringAgent on a task definition without pidMode task refuses procfsSampling', () => {
    const stack = newStack();
    const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Def');
    const app = taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('x') });
    expect(() => new MonitoringAgent(stack, 'Agent', {
      taskDefinition,
      appContainer: app,
      logGroup: new logs.LogGroup(stack, 'Logs'),
      procfsSampling: true,
      agentImage: ecs.ContainerImage.fromRegistry('agent'),
    })).toThrow(/procfsSampling needs a task definition with pidMode "task"/);
  });
});

describe('permissions', () => {
  test('the task role may put metric data only to its namespace', () => {
    const { template } = synth(minimalProps({ namespace: 'Team/Batch' }));
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('Job')).map(([, p]) => p) as any[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const putMetric = statements.filter((s) => [s.Action].flat().includes('cloudwatch:PutMetricData'));
    expect(putMetric).toEqual([{
      Sid: 'PutMetricDataToOwnNamespace',
      Action: 'cloudwatch:PutMetricData',
      Effect: 'Allow',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'Team/Batch' } },
    }]);
  });
});

describe('schedule', () => {
  test('runs the task with a time zone, a retry policy and a dead-letter queue', () => {
    const { template } = synth(minimalProps({
      schedule: scheduler.ScheduleExpression.cron({ minute: '30', hour: '2', timeZone: TimeZone.EUROPE_BERLIN }),
      scheduleRetryAttempts: 5,
      maxEventAge: Duration.hours(2),
    }));
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: {
        RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 7200 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('JobDeadLetterQueue'), 'Arn'] } },
        EcsParameters: Match.objectLike({
          LaunchType: 'FARGATE',
          TaskDefinitionArn: { Ref: Match.stringLikeRegexp('JobTaskDefinition') },
          NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
        }),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  test('defaults: retry 3 times within 1 hour', () => {
    const { template } = synth();
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: { RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 } },
    });
  });
});

describe('alarms', () => {
  /** The task's alarms (not those of the stack's shared run-outcome handler). */
  function alarms(template: Template): Record<string, any> {
    return Object.fromEntries(Object.entries(template.findResources('AWS::CloudWatch::Alarm'))
      .filter(([k]) => k.startsWith('Job')).map(([k, v]) => [k, (v as any).Properties]));
  }
  function alarm(template: Template, idPart: string): any {
    const hit = Object.entries(alarms(template)).filter(([k]) => k.includes(idPart));
    expect(hit).toHaveLength(1);
    return hit[0][1];
  }

  test('five alarms; the memory alarm is high resolution (30 s), the long-run alarm uses 60 s', () => {
    const { template } = synth(minimalProps({ namespace: 'Team/Batch' }));
    const all = Object.values(alarms(template));
    expect(all).toHaveLength(5);
    const agentAlarms = all.filter((a) => a.Namespace === 'Team/Batch' && ['MemoryUtilization', 'RunDuration'].includes(a.MetricName));
    expect(agentAlarms.map((a) => [a.MetricName, a.Period, a.TreatMissingData])).toEqual([
      ['MemoryUtilization', 30, 'notBreaching'], ['RunDuration', 60, 'notBreaching'],
    ]);
  });

  test('memory alarm watches the task against its memory, or the app against its own limit', () => {
    const task = synth(minimalProps({ alarmOverrides: { memory: { threshold: 80 } } }));
    expect(alarm(task.template, 'MemoryAlarm')).toMatchObject({
      MetricName: 'MemoryUtilization',
      Statistic: 'Maximum',
      Threshold: 80,
      Period: 30,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 1,
    });
    const dims = alarm(task.template, 'MemoryAlarm').Dimensions.map((d: any) => d.Name).sort();
    expect(dims).toEqual(['ClusterName', 'TaskDefinitionFamily']);

    const container = synth(minimalProps({ container: { image: ecs.ContainerImage.fromRegistry('x'), memoryLimitMiB: 256 } }));
    expect(alarm(container.template, 'MemoryAlarm').Dimensions).toContainEqual({ Name: 'ContainerName', Value: 'app' });
  });

  test('failed-run alarm watches FailedRuns, published by the run-outcome handler', () => {
    const { template } = synth(minimalProps({ namespace: 'Team/Batch' }));
    const a = alarm(template, 'FailedRunAlarm');
    expect(a).toMatchObject({
      Namespace: 'Team/Batch',
      MetricName: 'FailedRuns',
      Statistic: 'Sum',
      Unit: 'Count',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(a.Dimensions.map((d: any) => d.Name).sort()).toEqual(['ClusterName', 'TaskDefinitionFamily']);
  });

  test('long-run alarm fires above maxRunDuration on RunDuration', () => {
    const { template } = synth(minimalProps({ maxRunDuration: Duration.minutes(45) }));
    expect(alarm(template, 'LongRunAlarm')).toMatchObject({
      MetricName: 'RunDuration', Statistic: 'Maximum', Period: 60, Threshold: 2700, ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  test('schedule-failed alarm fires on each new message in the dead-letter queue', () => {
    const { template } = synth();
    expect(alarm(template, 'ScheduleFailedAlarm')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [expect.stringMatching(/^JobDeadLetterQueue/), 'QueueName'] } }],
    });
  });

  test.each([
    ['rate(1 hour) + 1 h run + 10 min → 130 min in one period', scheduler.ScheduleExpression.rate(Duration.hours(1)), undefined, 7800, 1],
    ['rate(1 minute) + 1 h run + 10 min → 71 min', scheduler.ScheduleExpression.rate(Duration.minutes(1)), undefined, 4260, 1],
    ['daily cron → 26 hourly periods', scheduler.ScheduleExpression.cron({ hour: '2', minute: '0' }), undefined, 3600, 26],
    ['explicit 3 days → 72 hourly periods', scheduler.ScheduleExpression.rate(Duration.days(1)), Duration.days(3), 3600, 72],
  ])('missed-run alarm: %s', (_name, schedule, missedRunWindow, period, periods) => {
    const { template } = synth(minimalProps({ schedule, missedRunWindow }));
    expect(alarm(template, 'MissedRunAlarm')).toMatchObject({
      Metrics: [
        { Expression: 'FILL(runs, 0)', ReturnData: true },
        { Id: 'runs', MetricStat: { Metric: { MetricName: 'Runs' }, Period: period, Stat: 'Sum' }, ReturnData: false },
      ],
      EvaluationPeriods: periods,
      DatapointsToAlarm: periods,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
  });

  test('alarmActions go on ALARM and OK of every alarm', () => {
    const stack = newStack();
    const action = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:ops' }) };
    new MonitoredScheduledTask(stack, 'Job', minimalProps({ alarmActions: [action] }));
    const taskAlarms = Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith('Job'));
    expect(taskAlarms).toHaveLength(5);
    for (const [, a] of taskAlarms as any[]) {
      expect(a.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:ops']);
      expect(a.Properties.OKActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:ops']);
    }
  });
});

describe('metrics and dashboard', () => {
  test('metric methods use the agent namespace, names and dimensions', () => {
    const { stack, task } = synth(minimalProps({ namespace: 'Team/Batch' }));
    const cpu = stack.resolve(task.metricCpuUtilization().toMetricConfig().metricStat);
    expect(cpu).toMatchObject({ namespace: 'Team/Batch', metricName: 'CPUUtilization', statistic: 'Average', period: Duration.seconds(10) });
    expect(cpu.dimensions.map((d: any) => d.name).sort()).toEqual(['ClusterName', 'TaskDefinitionFamily']);
    const mem = stack.resolve(task.metricMemoryUtilized('app').toMetricConfig().metricStat);
    expect(mem.metricName).toBe('MemoryUtilized');
    expect(mem.dimensions).toContainEqual({ name: 'ContainerName', value: 'app' });
    expect(task.metricMemoryUtilization().metricName).toBe('MemoryUtilization');
  });

  test('dashboard graphs runs, durations, CPU and memory of both containers', () => {
    const { template } = synth();
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as any[];
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0].Properties.DashboardBody);
    for (const s of ['FailedRuns', 'RunDuration', 'CPUUtilization', 'MemoryUtilized', 'MemoryUtilization', AGENT_CONTAINER_NAME, '\\"app\\"']) {
      expect(body).toContain(s);
    }
  });

  test('resources per monitored task stay few: 30 for the first on a cluster (10 shared by the stack), 18 for each next one (25 fit in a stack)', () => {
    const count = (tasks: number) => {
      const stack = newStack();
      const cluster = new ecs.Cluster(stack, 'Cluster', { vpc: new ec2.Vpc(stack, 'Vpc') });
      for (let i = 0; i < tasks; i++) new MonitoredScheduledTask(stack, `Job${i}`, minimalProps({ cluster }));
      return Object.keys(Template.fromStack(stack).toJSON().Resources).length;
    };
    const base = count(0);
    // Task definition, task and execution roles with their policies, security group, log group, queue and its
    // policy, schedule, the STOPPED rule and its Lambda permission, 5 alarms, dashboard = 18; the scheduler role and
    // policy are shared by the schedules of one cluster; the run-outcome handler (function, role, policy, log group,
    // invoke config, dead-letter queue and its policy, dedup table, 2 alarms) by the whole stack.
    expect(count(1) - base).toBe(30);
    expect(count(2) - count(1)).toBe(18);
    expect(base + 30 + 24 * 18).toBeLessThanOrEqual(500);
  });

  test('without a cluster, the tasks of a stack share one default cluster and one VPC', () => {
    const count = (tasks: number) => {
      const stack = newStack();
      for (let i = 0; i < tasks; i++) new MonitoredScheduledTask(stack, `Job${i}`, minimalProps());
      return Template.fromStack(stack);
    };
    const two = count(2);
    two.resourceCountIs('AWS::ECS::Cluster', 1);
    two.resourceCountIs('AWS::EC2::VPC', 1);
    two.resourceCountIs('AWS::EC2::NatGateway', 2);
    const perTask = Object.keys(two.toJSON().Resources).length - Object.keys(count(1).toJSON().Resources).length;
    expect(perTask).toBe(18);
  });
});

describe('bad props fail at synth with the prop named', () => {
  const img = ecs.ContainerImage.fromRegistry('x');
  test.each<[string, Partial<MonitoredScheduledTaskProps>, RegExp]>([
    ['invalid cpu', { cpu: 300 }, /cpu 300 is not a Fargate task CPU value/],
    ['invalid cpu/memory pair', { cpu: 256, memoryLimitMiB: 4096 }, /memoryLimitMiB 4096 is not valid with cpu 256/],
    ['stopTimeout above 120 s', { container: { image: img, stopTimeout: Duration.seconds(121) } }, /container\.stopTimeout must be at most 120 seconds/],
    ['container limit above the task', { container: { image: img, memoryLimitMiB: 1024 } }, /container\.memoryLimitMiB \(1024\) plus the agent's reservation \(64 MiB\) must not exceed the task's memoryLimitMiB \(512\)/],
    ['threshold 0', { alarmOverrides: { memory: { threshold: 0 } } }, /alarmOverrides.memory.threshold must be > 0 and ≤ 100/],
    ['threshold above 100', { alarmOverrides: { memory: { threshold: 101 } } }, /alarmOverrides.memory.threshold must be > 0 and ≤ 100/],
    ['missing schedule', { schedule: undefined as any }, /schedule is required/],
    ['missing container', { container: undefined as any }, /container is required/],
    ['cluster and vpc', { cluster: {} as any, vpc: {} as any }, /give either cluster or vpc, not both/],
    // aws-scheduler-targets' own checks, whose messages name the setting.
    ['scheduleRetryAttempts', { scheduleRetryAttempts: 186 }, /Number of retry attempts should be less or equal than 185/],
    ['maxEventAge', { maxEventAge: Duration.hours(25) }, /Maximum event age is 1 day/],
    ['maxRunDuration', { maxRunDuration: Duration.seconds(30) }, /maxRunDuration must be at least 1 minute/],
    ['missedRunWindow too short', { missedRunWindow: Duration.minutes(2) }, /missedRunWindow must be a whole number of minutes, at least 5/],
    ['missedRunWindow beyond 7 days', { missedRunWindow: Duration.days(8) }, /missedRunWindow above 1 day must be a whole number of hours up to 7 days/],
    ['reserved container name', { container: { image: img, containerName: AGENT_CONTAINER_NAME } }, /container\.containerName .* is reserved/],
    ['namespace AWS/', { namespace: 'AWS/ECS' }, /namespace must not start with "AWS\/"/],
    ['namespace characters', { namespace: 'a|b' }, /namespace must be 1–255 characters/],
    ['agent memory', { agentMemoryLimitMiB: 32 }, /agentMemoryLimitMiB must be an integer of at least 64/],
  ])('%s', (_name, overrides, message) => {
    expect(() => synth(minimalProps(overrides))).toThrow(message);
  });
});
