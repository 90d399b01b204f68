import { createHash } from 'node:crypto';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ScheduledTaskAlarmOptions, ScheduledTaskAlarms } from './scheduled-task-alarms';
import { TaskRunEvents } from './task-run-events';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { AppContainerOptions } from '../shared/app-container-options';
import { useFargateCapacityProviders } from '../shared/default-cluster';
import { FleetMember, FleetMemberKind, IFleetDashboardMember } from '../shared/fleet-dashboard';
import { MonitoredFargateBase } from '../shared/monitored-fargate-base';
import { MonitoredFargateOptions } from '../shared/monitored-fargate-options';
import { TaskDashboard } from '../shared/task-dashboard';

/**
 * Properties of {@link MonitoredScheduledTask}.
 */
export interface MonitoredScheduledTaskProps extends MonitoredFargateOptions, ScheduledTaskAlarmOptions {

  /**
   * When to run: an EventBridge Scheduler expression, which may carry a time zone, for example
   * `ScheduleExpression.cron({ minute: '0', hour: '2', timeZone: TimeZone.EUROPE_BERLIN })`.
   */
  readonly schedule: scheduler.ScheduleExpression;

  /**
   * Whether the schedule is enabled. A disabled schedule starts no runs, so the missed-run alarm is not created.
   *
   * @default true
   */
  readonly scheduleEnabled?: boolean;

  /**
   * Flexible time window of the schedule: EventBridge Scheduler starts each run at some moment within this window
   * after the scheduled time (1 minute to 24 hours), which spreads load. The derived missed-run window allows for
   * it (a `missedRunWindow` you set must too).
   *
   * @default TimeWindow.off() (runs start at the scheduled time)
   */
  readonly timeWindow?: scheduler.TimeWindow;

  /** The application (batch job) container. */
  readonly container: AppContainerOptions;

  /**
   * Task CPU, in CPU units (1024 = 1 vCPU). With `memoryLimitMiB`, must be a valid Fargate task size.
   *
   * @default 256
   */
  readonly cpu?: number;

  /**
   * Task memory, MiB. With `cpu`, must be a valid Fargate task size.
   *
   * @default 512
   */
  readonly memoryLimitMiB?: number;

  /**
   * Capacity provider strategy of each run: a list of `{ capacityProvider, weight, base }` naming FARGATE and/or
   * FARGATE_SPOT, for example FARGATE_SPOT weight 3 and FARGATE weight 1 (about one run in four on regular Fargate).
   * At least one provider needs a weight above 0. When the cluster is defined in this app (the default cluster or
   * a `Cluster` of aws-ecs), both Fargate capacity providers are enabled on it; an imported cluster must have them.
   * A Spot interruption stops the task with 2 minutes' notice (stop code SpotInterruption; the agent is stopped
   * first, then the app gets SIGTERM; the run counts as interrupted). When Spot capacity is short, RunTask answers
   * with a `failures[]` entry; AWS does not document whether EventBridge Scheduler treats that answer as a target
   * error (retried, then dead-lettered): if it does not, no task event follows and only the missed-run alarm notices
   * the missing run (unverified; README, "Alarms").
   *
   * @default - no strategy: launch type FARGATE
   */
  readonly capacityProviderStrategies?: ecs.CapacityProviderStrategy[];

  /**
   * Copy the task definition's tags to each task it runs (the scheduler role is then allowed `ecs:TagResource` on
   * the cluster's tasks).
   *
   * @default false
   */
  readonly propagateTags?: boolean;

  /**
   * Tags EventBridge Scheduler puts on each task it runs, as key to value (the scheduler role is then allowed
   * `ecs:TagResource` on the cluster's tasks).
   *
   * @default - no tags on the tasks
   */
  readonly tags?: { [key: string]: string };

  /**
   * How many times EventBridge Scheduler retries a RunTask call that failed (0–185).
   *
   * @default 3
   */
  readonly retryAttempts?: number;

  /**
   * How long EventBridge Scheduler keeps retrying a run before it goes to the dead-letter queue (1 minute–24 hours).
   *
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;

  /**
   * Post one Slack message per run (success and failure to different channels), with the outcome, the reason, the
   * run time, the run's peak memory and CPU and a right-size line. See {@link SlackNotificationOptions}.
   *
   * @default - no Slack messages (runs are judged and counted all the same)
   */
  readonly slackNotifications?: SlackNotificationOptions;

  /**
   * The run-outcome handler that judges this task's runs. Create one yourself to choose its log settings and where
   * its own alarms go (`new RunOutcomeHandler(stack, 'RunOutcomes', { alarmActions, logRetention })`) and give it to
   * the tasks that should use it.
   *
   * @default - the stack's default handler, `RunOutcomeHandler.of(this)`, with default settings
   */
  readonly runOutcomeHandler?: RunOutcomeHandler;
}

/**
 * A Fargate task run on a schedule by EventBridge Scheduler, monitored from the inside by the cdk-fargate-monitor
 * agent, with the alarms and dashboard a batch owner needs.
 *
 * From {@link MonitoredFargateBase}: a `FargateTaskDefinition` with the app container (essential) and the agent
 * sidecar (see {@link MonitoringAgent}); a log group for both (unless `logGroup` is given); a security group of the
 * task's own (unless `securityGroups` are given); the stack's default cluster without `cluster`, shared as in
 * aws-ecs-patterns. Its own: an EventBridge Scheduler schedule that runs the task with a retry policy and an
 * encrypted SQS dead-letter queue; an EventBridge rule that sends each stopped task to a {@link RunOutcomeHandler}
 * (run metrics, optional Slack message); the alarms of {@link ScheduledTaskAlarms}; and a {@link TaskDashboard}
 * (unless `createDashboard` is false).
 *
 * Shutdown order: when the task is stopped from outside (StopTask, Fargate Spot interruption), ECS stops the agent
 * before the app (shutdown reverses `dependsOn`); the agent exits within 10 seconds, so the app gets its SIGTERM at
 * most 10 seconds late. See {@link MonitoringAgent}.
 *
 * @throws if `schedule` is missing, a shared prop is invalid (see {@link MonitoredFargateBase}),
 * `capacityProviderStrategies` names another provider than FARGATE or FARGATE_SPOT, `retryAttempts` is outside
 * 0–185 or `maxEventAge` outside 1 minute–1 day (checked by aws-scheduler-targets), or an alarm setting is invalid
 */
export class MonitoredScheduledTask extends MonitoredFargateBase implements IFleetDashboardMember {
  /** The EventBridge Scheduler schedule. */
  public readonly schedule: scheduler.Schedule;

  /** Dead-letter queue of the schedule: runs EventBridge Scheduler could not start. */
  public readonly deadLetterQueue: sqs.Queue;

  /** Run counts from ECS task state change events. */
  public readonly runEvents: TaskRunEvents;

  /** The alarms. */
  public readonly alarms: ScheduledTaskAlarms;

  /** The dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoredScheduledTaskProps) {
    if (!props.schedule) throw new Error('schedule is required: give an EventBridge Scheduler ScheduleExpression');
    super(scope, id, { ...props, cpu: props.cpu ?? 256, memoryLimitMiB: props.memoryLimitMiB ?? 512 });
    const c = props.container;
    useFargateCapacityProviders(this.cluster, props.capacityProviderStrategies, 'capacityProviderStrategies');
    if (props.enableExecuteCommand) {
      // What ECS Exec needs in the task role (as aws-ecs BaseService.enableExecuteCommand grants a service's).
      this.taskDefinition.addToTaskRolePolicy(new iam.PolicyStatement({
        sid: 'EcsExecSessionChannels',
        actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
        resources: ['*'],
      }));
      Validations.of(this.taskDefinition.taskRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'The ssmmessages channel actions of ECS Exec support no resource-level permissions (enableExecuteCommand).',
      });
    }

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule,
      enabled: props.scheduleEnabled ?? true,
      timeWindow: props.timeWindow,
      description: `Runs the monitored Fargate task ${this.node.path}`,
      target: new targets.EcsRunFargateTask(this.cluster, {
        taskDefinition: this.taskDefinition,
        vpcSubnets: props.taskSubnets,
        securityGroups: this.securityGroups,
        assignPublicIp: props.assignPublicIp,
        platformVersion: props.platformVersion,
        capacityProviderStrategies: props.capacityProviderStrategies,
        propagateTags: props.propagateTags,
        tags: props.tags ? Object.entries(props.tags).map(([key, value]) => ({ key, value })) : undefined,
        enableExecuteCommand: props.enableExecuteCommand,
        // aws-scheduler-targets validates both (0–185 attempts, 1 minute–1 day) and fails at synth.
        retryAttempts: props.retryAttempts ?? 3,
        maxEventAge: props.maxEventAge ?? Duration.hours(1),
        deadLetterQueue: this.deadLetterQueue,
      }),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the schedule; the scheduleFailedAlarm watches it.',
    });
    if (props.propagateTags || props.tags) this.acknowledgeTagResource();

    this.runEvents = new TaskRunEvents(this, 'RunEvents', {
      handler: props.runOutcomeHandler ?? RunOutcomeHandler.of(this),
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      appContainerName: this.appContainerName,
      namespace: this.namespace,
      logGroup: this.logGroup,
      appStreamPrefix: c.logging ? undefined : 'app',
      slackNotifications: props.slackNotifications,
    });

    const overrides = props.alarmOverrides ?? {};
    if (props.scheduleEnabled === false && overrides.missedRun?.enabled === true) {
      throw new Error('alarmOverrides.missedRun.enabled is true but scheduleEnabled is false: a disabled schedule starts no runs, so the missed-run alarm would stay in ALARM');
    }
    this.alarms = new ScheduledTaskAlarms(this, 'Alarms', {
      ...props,
      // A disabled schedule starts no runs: a missed-run alarm would sit in ALARM for good.
      alarmOverrides: props.scheduleEnabled === false ? { ...overrides, missedRun: { ...overrides.missedRun, enabled: false } } : overrides,
      taskMetrics: this.taskMetrics,
      runEvents: this.runEvents,
      deadLetterQueue: this.deadLetterQueue,
      memoryContainerName: c.memoryLimitMiB !== undefined ? this.appContainerName : undefined,
      scheduleTimeWindow: props.timeWindow,
    });

    if (props.createDashboard ?? true) {
      this.dashboard = new TaskDashboard(this, 'Dashboard', {
        taskMetrics: this.taskMetrics,
        containerNames: [this.appContainerName, AGENT_CONTAINER_NAME],
        runsMetric: this.runEvents.metricRuns(),
        failedRunsMetric: this.runEvents.metricFailedRuns(),
        alarms: this.alarms.alarms,
        dashboardName: props.dashboardName,
      }).dashboard;
    }
  }

  /** This task as a row of a {@link FleetDashboard}: its metrics, size, run counts and the run-outcome log group. */
  public get fleetMember(): FleetMember {
    return {
      kind: FleetMemberKind.SCHEDULED_TASK,
      name: this.taskDefinition.family,
      family: this.taskDefinition.family,
      taskMetrics: this.taskMetrics,
      clusterName: this.cluster.clusterName,
      cpu: this.taskDefinition.cpu,
      memoryLimitMiB: this.taskDefinition.memoryMiB,
      runs: this.runEvents.metricRuns(),
      failedRuns: this.runEvents.metricFailedRuns(),
      runOutcomeLogGroup: this.runEvents.handler.logGroup,
      alarms: this.alarms.alarms,
    };
  }

  /**
   * `RunDuration` of the runs, seconds since the app container started (the agent's; Maximum per period gives the
   * longest). See {@link TaskMetrics}.
   */
  public metricRunDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricRunDuration(props);
  }

  /**
   * aws-scheduler-targets grants the scheduler role it shares between the schedules of one cluster
   * `ecs:TagResource` on `task/<cluster>/*` for tags; a task id cannot be known in advance, so the wildcard is the
   * narrowest scope. Acknowledged on that role for the exact cdk-nag finding (its flattened resource string). The
   * role is the stack's child with aws-scheduler-targets' own id for the cluster's ARN
   * (`SchedulerRoleForTarget-` + the first 6 hex digits of the ARN's MD5, as its `createOrGetScheduleTargetRole`).
   */
  private acknowledgeTagResource(): void {
    const stack = Stack.of(this);
    const clusterArn = Token.isUnresolved(this.cluster.clusterArn) ? JSON.stringify(stack.resolve(this.cluster.clusterArn)) : this.cluster.clusterArn;
    const role = stack.node.tryFindChild(`SchedulerRoleForTarget-${createHash('md5').update(clusterArn).digest('hex').slice(0, 6)}`);
    if (!role) throw new Error('cdk-fargate-monitor: the scheduler role of aws-scheduler-targets was not found under its id (has aws-cdk-lib changed it?)');
    const arn = `arn:${stack.partition}:ecs:${this.cluster.env.region}:${this.taskDefinition.env.account}:task/${this.cluster.clusterName}/*`;
    // Validations.acknowledge refuses ids containing '::' beyond the prefix, and this finding's resource holds
    // <AWS::Partition>: record the acknowledgment in the same metadata entry acknowledge() writes, which cdk-nag reads.
    role.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, {
      [`AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(arn))}]`]:
        'ecs:TagResource on the tasks EventBridge Scheduler starts in this cluster (propagateTags/tags): task ids are not known in advance.',
    });
  }
}

/** A resolved CloudFormation value as cdk-nag writes it in finding ids: `{Ref: X}` as `<X>`, joins concatenated. */
function flattenForNag(node: any): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && node['Fn::Join']) return (node['Fn::Join'][1] as any[]).map(flattenForNag).join(node['Fn::Join'][0]);
  if (node && node['Fn::GetAtt']) return `<${flattenForNag(node['Fn::GetAtt'][0])}.${flattenForNag(node['Fn::GetAtt'][1])}>`;
  if (node && node.Ref) return `<${flattenForNag(node.Ref)}>`;
  return JSON.stringify(node);
}
