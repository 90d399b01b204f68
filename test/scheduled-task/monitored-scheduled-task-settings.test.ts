import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecs_patterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { AGENT_CONTAINER_NAME, MonitoredScheduledTask, MonitoredScheduledTaskProps } from '../../lib';
import { minimalProps, newStack } from '../support/stacks';

/** What production needs to be able to set (issue 7): each setting lands in the template where it takes effect. */

function synth(props: MonitoredScheduledTaskProps = minimalProps(), stack: Stack = newStack()) {
  const task = new MonitoredScheduledTask(stack, 'Job', props);
  return { stack, task, template: Template.fromStack(stack) };
}

function only(template: Template, type: string): any {
  const all = Object.values(template.findResources(type)) as any[];
  expect(all).toHaveLength(1);
  return all[0].Properties;
}

function containerByName(template: Template, name: string): any {
  return only(template, 'AWS::ECS::TaskDefinition').ContainerDefinitions.find((c: any) => c.Name === name);
}

function ecsParameters(template: Template): any {
  return only(template, 'AWS::Scheduler::Schedule').Target.EcsParameters;
}

function statements(template: Template): any[] {
  return (Object.values(template.findResources('AWS::IAM::Policy')) as any[]).flatMap((p) => p.Properties.PolicyDocument.Statement);
}

describe('security group', () => {
  test('without securityGroups the task gets its own group: no inbound, all outbound, used by the schedule', () => {
    const { task, template, stack } = synth();
    const sg = only(template, 'AWS::EC2::SecurityGroup');
    expect(sg.SecurityGroupIngress).toBeUndefined();
    expect(sg.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' }]);
    expect(task.securityGroups).toHaveLength(1);
    const sgId = stack.resolve(task.securityGroups[0].securityGroupId);
    expect(ecsParameters(template).NetworkConfiguration.AwsvpcConfiguration.SecurityGroups).toEqual([sgId]);
    expect(sgId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^JobSecurityGroup/), 'GroupId'] });
  });

  test('given securityGroups are used and no group is created', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const mine = new ec2.SecurityGroup(stack, 'Mine', { vpc });
    const { task, template } = synth(minimalProps({ vpc, securityGroups: [mine] }), stack);
    expect(Object.keys(template.findResources('AWS::EC2::SecurityGroup'))).toEqual([expect.stringMatching(/^Mine/)]);
    expect(task.securityGroups).toEqual([mine]);
    expect(ecsParameters(template).NetworkConfiguration.AwsvpcConfiguration.SecurityGroups)
      .toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^Mine/), 'GroupId'] }]);
  });
});

describe('default cluster', () => {
  test('the tasks of a stack without a cluster share one cluster, with Container Insights', () => {
    const stack = newStack();
    new MonitoredScheduledTask(stack, 'A', minimalProps());
    new MonitoredScheduledTask(stack, 'B', minimalProps());
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::ECS::Cluster', {
      ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }],
    });
    const clusters = (Object.values(template.findResources('AWS::Scheduler::Schedule')) as any[])
      .map((s) => JSON.stringify(s.Properties.Target.Arn));
    expect(new Set(clusters).size).toBe(1);
  });

  test('one default cluster per given VPC, and the same one aws-ecs-patterns uses', () => {
    const stack = newStack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const a = new MonitoredScheduledTask(stack, 'A', minimalProps({ vpc }));
    const b = new MonitoredScheduledTask(stack, 'B', minimalProps({ vpc }));
    const patterns = new ecs_patterns.ScheduledFargateTask(stack, 'Patterns', {
      vpc,
      schedule: events.Schedule.rate(Duration.hours(1)),
      scheduledFargateTaskImageOptions: { image: ecs.ContainerImage.fromRegistry('x') },
    });
    expect(a.cluster).toBe(b.cluster);
    expect(patterns.cluster).toBe(a.cluster);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECS::Cluster', 1);
    template.resourceCountIs('AWS::EC2::VPC', 1);
  });

  test('a task in another stack gets its own default cluster', () => {
    const app = new App();
    const s1 = new Stack(app, 'One');
    const s2 = new Stack(app, 'Two');
    const a = new MonitoredScheduledTask(s1, 'A', minimalProps());
    const b = new MonitoredScheduledTask(s2, 'B', minimalProps());
    expect(a.cluster).not.toBe(b.cluster);
  });
});

describe('settings users must be able to set', () => {
  test('ARM64: the task runs on ARM64 and the bundled agent image is built for linux/arm64', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fargate-monitor-arm-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Arm', { env: { account: '111111111111', region: 'eu-central-1' } });
    new MonitoredScheduledTask(stack, 'Job', minimalProps({ cpuArchitecture: ecs.CpuArchitecture.ARM64, procfsSampling: true }));
    const assembly = app.synth();
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      PidMode: 'task',
      RuntimePlatform: { OperatingSystemFamily: 'LINUX', CpuArchitecture: 'ARM64' },
    });
    const assetsFile = fs.readdirSync(assembly.directory).find((f) => f.endsWith('.assets.json'))!;
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, assetsFile), 'utf8'));
    const images = Object.values(assets.dockerImages) as any[];
    expect(images.map((i) => i.source.platform)).toEqual(['linux/arm64']);
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('default architecture: X86_64 task and a linux/amd64 agent image', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fargate-monitor-x86-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'X86', { env: { account: '111111111111', region: 'eu-central-1' } });
    new MonitoredScheduledTask(stack, 'Job', minimalProps());
    const assembly = app.synth();
    Template.fromStack(stack).hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { OperatingSystemFamily: 'LINUX', CpuArchitecture: 'X86_64' },
    });
    const assetsFile = fs.readdirSync(assembly.directory).find((f) => f.endsWith('.assets.json'))!;
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, assetsFile), 'utf8'));
    expect((Object.values(assets.dockerImages) as any[]).map((i) => i.source.platform)).toEqual(['linux/amd64']);
    fs.rmSync(outdir, { recursive: true, force: true });
  });

  test('capacityProviderStrategies: Fargate Spot with regular Fargate, no launch type, providers enabled on the default cluster', () => {
    const { template } = synth(minimalProps({
      capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 3 }, { capacityProvider: 'FARGATE', weight: 1, base: 0 }],
    }));
    const p = ecsParameters(template);
    expect(p.LaunchType).toBeUndefined();
    expect(p.CapacityProviderStrategy).toEqual([
      { CapacityProvider: 'FARGATE_SPOT', Weight: 3 },
      { CapacityProvider: 'FARGATE', Weight: 1, Base: 0 },
    ]);
    const assoc = only(template, 'AWS::ECS::ClusterCapacityProviderAssociations');
    expect(assoc.CapacityProviders.sort()).toEqual(['FARGATE', 'FARGATE_SPOT']);
  });

  test('without capacityProviderStrategies: launch type FARGATE and no capacity provider association', () => {
    const { template } = synth();
    expect(ecsParameters(template).LaunchType).toBe('FARGATE');
    template.resourceCountIs('AWS::ECS::ClusterCapacityProviderAssociations', 0);
  });

  test('propagateTags and tags reach the run, and the scheduler role may tag the cluster\'s tasks', () => {
    const { template } = synth(minimalProps({ propagateTags: true, tags: { team: 'data', cost: 'batch' } }));
    const p = ecsParameters(template);
    expect(p.PropagateTags).toBe('TASK_DEFINITION');
    expect(p.Tags).toEqual([{ key: 'team', value: 'data' }, { key: 'cost', value: 'batch' }]);
    expect(statements(template).filter((s) => s.Action === 'ecs:TagResource')).toHaveLength(1);
  });

  test('no tags: nothing propagated and no ecs:TagResource', () => {
    const { template } = synth();
    const p = ecsParameters(template);
    expect(p.PropagateTags).toBeUndefined();
    expect(p.Tags).toBeUndefined();
    expect(statements(template).filter((s) => s.Action === 'ecs:TagResource')).toEqual([]);
  });

  test('enableExecuteCommand: runs start with ECS Exec and the task role gets the ssmmessages channels', () => {
    const { template } = synth(minimalProps({ enableExecuteCommand: true }));
    expect(ecsParameters(template).EnableExecuteCommand).toBe(true);
    const exec = statements(template).filter((s) => s.Sid === 'EcsExecSessionChannels');
    expect(exec).toHaveLength(1);
    expect([exec[0].Action].flat().sort()).toEqual(['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel',
      'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel']);
    const off = synth();
    expect(ecsParameters(off.template).EnableExecuteCommand).toBeUndefined();
    expect(JSON.stringify(statements(off.template))).not.toContain('ssmmessages');
  });

  test('enableExecuteCommand with a read-only app root filesystem warns at synth (ECS Exec cannot work there)', () => {
    const warned = (readonly: boolean) => Annotations.fromStack(synth(minimalProps({
      enableExecuteCommand: true,
      container: { image: ecs.ContainerImage.fromRegistry('x'), readonlyRootFilesystem: readonly },
    })).stack).findWarning('*', Match.stringLikeRegexp('ECS Exec does not work in containers with a read-only root filesystem'));
    expect(warned(true)).toHaveLength(1);
    expect(warned(false)).toHaveLength(0);
  });

  test('ephemeralStorageGiB sets the task\'s ephemeral storage', () => {
    const { template } = synth(minimalProps({ ephemeralStorageGiB: 50 }));
    expect(only(template, 'AWS::ECS::TaskDefinition').EphemeralStorage).toEqual({ SizeInGiB: 50 });
  });

  test('an existing task role is used, and the agent\'s PutMetricData is added to it', () => {
    const stack = newStack();
    const role = new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const { template } = synth(minimalProps({ taskRole: role }), stack);
    expect(only(template, 'AWS::ECS::TaskDefinition').TaskRoleArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^AppRole/), 'Arn'] });
    const roles = Object.keys(template.findResources('AWS::IAM::Role'));
    expect(roles.filter((r) => /TaskRole/.test(r))).toEqual([]);
    const put = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
      .find((p) => JSON.stringify(p.Properties.PolicyDocument).includes('cloudwatch:PutMetricData'));
    expect(put.Properties.Roles).toEqual([{ Ref: expect.stringMatching(/^AppRole/) }]);
  });

  test('an imported task role gets the agent\'s PutMetricData through a new policy', () => {
    const stack = newStack();
    const role = iam.Role.fromRoleArn(stack, 'Imported', 'arn:aws:iam::111111111111:role/batch');
    const { template } = synth(minimalProps({ taskRole: role }), stack);
    expect(only(template, 'AWS::ECS::TaskDefinition').TaskRoleArn).toBe('arn:aws:iam::111111111111:role/batch');
    const put = (Object.values(template.findResources('AWS::IAM::Policy')) as any[])
      .find((p) => JSON.stringify(p.Properties.PolicyDocument).includes('cloudwatch:PutMetricData'));
    expect(put.Properties.Roles).toEqual(['batch']);
  });

  test('an existing log group takes both containers\' logs and no log group is created', () => {
    const stack = newStack();
    const logGroup = new logs.LogGroup(stack, 'Shared', { retention: logs.RetentionDays.ONE_WEEK });
    const { task, template } = synth(minimalProps({ logGroup }), stack);
    expect(task.logGroup).toBe(logGroup);
    // The only log group left is the stack's run-outcome handler's (shared by every task, not the task's).
    expect(Object.keys(template.findResources('AWS::Logs::LogGroup')).sort()).toEqual([
      expect.stringMatching(/^FargateMonitorRunOutcomeHandlerLogs/), expect.stringMatching(/^Shared/),
    ]);
    for (const name of ['app', AGENT_CONTAINER_NAME]) {
      expect(containerByName(template, name).LogConfiguration.Options['awslogs-group']).toEqual({ Ref: expect.stringMatching(/^Shared/) });
    }
  });

  test('timeWindow: the schedule gets a flexible time window; off by default', () => {
    const { template } = synth(minimalProps({ timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(30)) }));
    expect(only(template, 'AWS::Scheduler::Schedule').FlexibleTimeWindow).toEqual({ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 30 });
    expect(only(synth().template, 'AWS::Scheduler::Schedule').FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
  });

  test('dashboardName names the dashboard; createDashboard false creates none', () => {
    const named = synth(minimalProps({ dashboardName: 'nightly-batch' }));
    expect(only(named.template, 'AWS::CloudWatch::Dashboard').DashboardName).toBe('nightly-batch');
    const none = synth(minimalProps({ createDashboard: false }));
    none.template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(none.task.dashboard).toBeUndefined();
  });

  test('okActions are separate from alarmActions; by default OK goes to the alarm actions', () => {
    const page = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:page' }) };
    const info = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:info' }) };
    // The task's own alarms (the stack's run-outcome handler has its own actions: RunOutcomeHandlerProps).
    const alarms = (t: Template) => Object.entries(t.findResources('AWS::CloudWatch::Alarm'))
      .filter(([id]) => !id.startsWith('FargateMonitorRunOutcomeHandler')).map(([, a]: [string, any]) => a.Properties);
    const separate = alarms(synth(minimalProps({ alarmActions: [page], okActions: [info] })).template);
    expect(separate).toHaveLength(5);
    for (const a of separate) {
      expect(a.AlarmActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:page']);
      expect(a.OKActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:info']);
    }
    // The default (no okActions): OK goes where the alarm goes.
    const byDefault = alarms(synth(minimalProps({ alarmActions: [page] })).template);
    expect(byDefault).toHaveLength(5);
    for (const a of byDefault) {
      expect(a.AlarmActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:page']);
      expect(a.OKActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:page']);
    }
    // An empty list turns OK notifications off.
    for (const a of alarms(synth(minimalProps({ alarmActions: [page], okActions: [] })).template)) {
      expect(a.AlarmActions).toEqual(['arn:aws:sns:eu-central-1:111111111111:page']);
      expect(a.OKActions).toBeUndefined();
    }
  });

  test('alarmOverrides: one alarm off, one with its own threshold, periods and actions, the others as before', () => {
    const page = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:page' }) };
    const night = { bind: () => ({ alarmActionArn: 'arn:aws:sns:eu-central-1:111111111111:night' }) };
    const { task, template } = synth(minimalProps({
      alarmActions: [page],
      alarmOverrides: {
        longRun: { enabled: false },
        failedRun: { threshold: 2, period: Duration.minutes(5), evaluationPeriods: 3, datapointsToAlarm: 2, alarmActions: [night], okActions: [] },
      },
    }));
    expect(task.alarms.longRunAlarm).toBeUndefined();
    expect(task.alarms.alarms.map((a) => a.node.id)).toEqual(['MemoryAlarm', 'FailedRunAlarm', 'ScheduleFailedAlarm', 'MissedRunAlarm']);
    const failed = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).find(([id]) => id.includes('FailedRunAlarm'))![1] as any;
    expect(failed.Properties).toMatchObject({
      MetricName: 'FailedRuns',
      Threshold: 2,
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      AlarmActions: ['arn:aws:sns:eu-central-1:111111111111:night'],
    });
    expect(failed.Properties.OKActions).toBeUndefined();
    expect(failed.Properties.AlarmDescription).toMatch(/^2 or more runs failed/);
    const memory = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).find(([id]) => id.includes('MemoryAlarm'))![1] as any;
    expect(memory.Properties).toMatchObject({ Threshold: 90, Period: 30, AlarmActions: ['arn:aws:sns:eu-central-1:111111111111:page'] });
  });

  test('alarmOverrides that the alarm takes from another prop, or that CloudWatch refuses, fail naming the prop', () => {
    const cases: Array<[MonitoredScheduledTaskProps['alarmOverrides'], RegExp]> = [
      [{ longRun: { threshold: 100 } }, /alarmOverrides.longRun.threshold cannot be set: .*set maxRunDuration/],
      [{ missedRun: { period: Duration.hours(1) } }, /alarmOverrides.missedRun.period cannot be set: .*set missedRunWindow/],
      [{ failedRun: { threshold: 0 } }, /alarmOverrides.failedRun.threshold must be at least 1 \(a count\), got 0/],
      [{ failedRun: { period: Duration.seconds(45) } }, /alarmOverrides.failedRun.period must be 10 seconds, 30 seconds or a whole number of minutes/],
      [{ scheduleFailed: { datapointsToAlarm: 2 } }, /alarmOverrides.scheduleFailed.datapointsToAlarm must be a whole number from 1 to evaluationPeriods \(1\), got 2/],
      [{ memory: { evaluationPeriods: 0 } }, /alarmOverrides.memory.evaluationPeriods must be a whole number of at least 1, got 0/],
    ];
    for (const [alarmOverrides, message] of cases) expect(() => synth(minimalProps({ alarmOverrides }))).toThrow(message);
  });

  test('scheduleEnabled false: no missed-run alarm (it would stay in ALARM); asking for one fails', () => {
    const { task } = synth(minimalProps({ scheduleEnabled: false }));
    expect(task.alarms.missedRunAlarm).toBeUndefined();
    expect(task.alarms.alarms.map((a) => a.node.id)).toEqual(['MemoryAlarm', 'FailedRunAlarm', 'LongRunAlarm', 'ScheduleFailedAlarm']);
    expect(() => synth(minimalProps({ scheduleEnabled: false, alarmOverrides: { missedRun: { enabled: true } } })))
      .toThrow(/alarmOverrides.missedRun.enabled is true but scheduleEnabled is false/);
  });

  test('the app container\'s hard limit plus the agent\'s reservation must fit the task; the agent reserves 64 MiB below its 128 MiB limit', () => {
    const { template } = synth(minimalProps({ container: { image: ecs.ContainerImage.fromRegistry('x'), memoryLimitMiB: 448 } }));
    const containers = (Object.values(template.findResources('AWS::ECS::TaskDefinition'))[0] as any).Properties.ContainerDefinitions;
    expect(containers.map((c: any) => [c.Name, c.Memory, c.MemoryReservation])).toEqual([['app', 448, undefined], [AGENT_CONTAINER_NAME, 128, 64]]);
    expect(() => synth(minimalProps({ container: { image: ecs.ContainerImage.fromRegistry('x'), memoryLimitMiB: 512 } })))
      .toThrow(/container.memoryLimitMiB \(512\) plus the agent's reservation \(64 MiB\) must not exceed the task's memoryLimitMiB \(512\).*at most 448/);
  });

  test('ECS Exec with procfsSampling (pidMode task) warns at synth: one session per PID namespace, landing anywhere', () => {
    const { stack } = synth(minimalProps({ enableExecuteCommand: true, procfsSampling: true }));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('one ECS Exec session per PID namespace'));
    expect(warnings).toHaveLength(1);
    const { stack: plain } = synth(minimalProps({ enableExecuteCommand: true }));
    expect(Annotations.fromStack(plain).findWarning('*', Match.stringLikeRegexp('PID namespace'))).toHaveLength(0);
  });
});

describe('dashboard readable the morning after a nightly run', () => {
  function body(template: Template): any {
    const props = only(template, 'AWS::CloudWatch::Dashboard');
    const joined = (props.DashboardBody['Fn::Join'][1] as any[]).map((x) => (typeof x === 'string' ? x : 'TOKEN')).join('');
    return JSON.parse(joined);
  }

  test('opens on the last 7 days, and every graph uses periods of at least 60 s', () => {
    const b = body(synth().template);
    expect(b.start).toBe('-P7D');
    const periods: number[] = [];
    for (const w of b.widgets.filter((x: any) => x.type === 'metric')) {
      for (const m of w.properties.metrics) {
        const opts = m[m.length - 1];
        periods.push(opts.period ?? w.properties.period ?? 300);
      }
    }
    expect(periods.length).toBeGreaterThanOrEqual(11);
    for (const p of periods) expect(p).toBeGreaterThanOrEqual(60);
  });
});

describe('bad settings fail at synth with the prop named', () => {
  const stack = () => newStack();
  test.each<[string, () => Partial<MonitoredScheduledTaskProps>, RegExp]>([
    ['logRetention with logGroup', () => ({ logGroup: new logs.LogGroup(stack(), 'L'), logRetention: logs.RetentionDays.ONE_DAY }),
      /logRetention and logEncryptionKey apply to the log group this construct creates: do not give them with logGroup/],
    ['logEncryptionKey with logGroup', () => {
      const s = stack();
      return { logGroup: new logs.LogGroup(s, 'L'), logEncryptionKey: new kms.Key(s, 'K') };
    }, /do not give them with logGroup/],
    ['dashboardName without a dashboard', () => ({ createDashboard: false, dashboardName: 'x' }), /dashboardName is given but createDashboard is false/],
    ['dashboardName characters', () => ({ dashboardName: 'a b' }), /dashboardName contains invalid characters/],
    ['another capacity provider', () => ({ capacityProviderStrategies: [{ capacityProvider: 'MyAsg', weight: 1 }] }),
      /capacityProviderStrategies: capacityProvider must be FARGATE or FARGATE_SPOT for a Fargate task, got "MyAsg"/],
    ['no weight', () => ({ capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', base: 1 }] }),
      /capacityProviderStrategies: at least one capacity provider needs a weight above 0/],
    ['empty strategy', () => ({ capacityProviderStrategies: [] }), /capacityProviderStrategies must name at least one capacity provider/],
    ['ephemeral storage', () => ({ ephemeralStorageGiB: 10 }), /Ephemeral storage size must be between 21GiB and 200GiB/],
    ['architecture without a bundled agent image', () => ({ cpuArchitecture: ecs.CpuArchitecture.of('RISCV64') }),
      /cpuArchitecture must be X86_64 or ARM64 for the bundled agent image, got RISCV64/],
  ])('%s', (_name, overrides, message) => {
    expect(() => synth(minimalProps(overrides()))).toThrow(message);
  });

  test('messages users see carry no TypeScript-only syntax', () => {
    const messages: string[] = [];
    const tryIt = (o: Partial<MonitoredScheduledTaskProps>) => {
      try { synth(minimalProps(o)); } catch (e) { messages.push((e as Error).message); }
    };
    tryIt({ procfsSampling: true, platformVersion: ecs.FargatePlatformVersion.VERSION1_3 });
    tryIt({ capacityProviderStrategies: [{ capacityProvider: 'X', weight: 1 }] });
    tryIt({ cluster: {} as any, vpc: {} as any });
    tryIt({ createDashboard: false, dashboardName: 'x' });
    expect(messages).toHaveLength(4);
    for (const m of messages) expect(m).not.toMatch(/ecs\.|\?\?|=>|props\./);
  });
});

