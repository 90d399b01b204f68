import { Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ScheduledTaskAlarmOptions, ScheduledTaskAlarms } from './scheduled-task-alarms';
import { TaskRunEvents } from './task-run-events';
import { AGENT_CONTAINER_NAME, MonitoringAgent, MonitoringAgentOptions } from '../agent/monitoring-agent';
import { TaskMetrics } from '../agent/task-metrics';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { validateFargateTaskSize } from '../shared/fargate-task-size';
import { TaskDashboard } from '../shared/task-dashboard';

/**
 * The application container of a {@link MonitoredScheduledTask}.
 */
export interface ScheduledTaskContainerOptions {
  /** Image of the batch job. */
  readonly image: ecs.ContainerImage;

  /**
   * Name of the container.
   *
   * @default 'app'
   */
  readonly containerName?: string;

  /**
   * Command run in the container (Docker CMD).
   *
   * @default - the image's CMD
   */
  readonly command?: string[];

  /**
   * Entry point (Docker ENTRYPOINT).
   *
   * @default - the image's ENTRYPOINT
   */
  readonly entryPoint?: string[];

  /**
   * Environment variables (plain text: use `secrets` for anything secret).
   *
   * @default - none
   */
  readonly environment?: { [key: string]: string };

  /**
   * Secrets from Secrets Manager or SSM Parameter Store, exposed as environment variables.
   *
   * @default - none
   */
  readonly secrets?: { [key: string]: ecs.Secret };

  /**
   * Log driver of the app container.
   *
   * @default - awslogs to the construct's log group, stream prefix 'app'
   */
  readonly logging?: ecs.LogDriver;

  /**
   * Hard memory limit of the app container, MiB. The out-of-memory warning then watches this container against it.
   * Must not exceed the task's memory.
   *
   * @default - no container limit: the app may use the task's memory, and the warning watches the task
   */
  readonly memoryLimitMiB?: number;

  /**
   * User (name or uid[:gid]) the app runs as. Compliance rules (Control Tower CT.ECS.PR.3) want a non-root user.
   *
   * @default - the image's USER
   */
  readonly user?: string;

  /**
   * Mount the app's root filesystem read-only (Control Tower CT.ECS.PR.6).
   *
   * @default false
   */
  readonly readonlyRootFilesystem?: boolean;

  /**
   * Time the app gets between SIGTERM and SIGKILL when the task is stopped. At most 120 seconds on Fargate.
   *
   * @default - the ECS default (30 seconds)
   */
  readonly stopTimeout?: Duration;
}

/**
 * Properties of {@link MonitoredScheduledTask}.
 */
export interface MonitoredScheduledTaskProps extends MonitoringAgentOptions, ScheduledTaskAlarmOptions {
  /**
   * Cluster to run the task in. Give `cluster` or `vpc`, not both.
   *
   * @default - a new cluster in `vpc`, or in a new VPC when `vpc` is not given either
   */
  readonly cluster?: ecs.ICluster;

  /**
   * VPC for a new cluster, used only when `cluster` is not given.
   *
   * @default - a new VPC (two AZs, with NAT gateways) when `cluster` is not given
   */
  readonly vpc?: ec2.IVpc;

  /**
   * When to run: an EventBridge Scheduler expression, which may carry a time zone, for example
   * `ScheduleExpression.cron({ minute: '0', hour: '2', timeZone: TimeZone.EUROPE_BERLIN })`.
   */
  readonly schedule: scheduler.ScheduleExpression;

  /**
   * Whether the schedule is enabled.
   *
   * @default true
   */
  readonly scheduleEnabled?: boolean;

  /** The application (batch job) container. */
  readonly container: ScheduledTaskContainerOptions;

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
   * Task definition family. Metrics carry it as the `TaskDefinitionFamily` dimension.
   *
   * @default - generated from the construct path
   */
  readonly family?: string;

  /**
   * Subnets to run the task in.
   *
   * @default - private subnets of the cluster's VPC
   */
  readonly subnetSelection?: ec2.SubnetSelection;

  /**
   * Security groups of the task.
   *
   * @default - a new security group with all outbound traffic allowed
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Give the task a public IP (only for public subnets).
   *
   * @default false
   */
  readonly assignPublicIp?: boolean;

  /**
   * Fargate platform version.
   *
   * @default ecs.FargatePlatformVersion.LATEST
   */
  readonly platformVersion?: ecs.FargatePlatformVersion;

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
   * Retention of the log group both containers log to.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * KMS key to encrypt the log group with (its key policy must allow the CloudWatch Logs service principal).
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Actions of every alarm when it goes into ALARM (and back to OK), for example an SNS topic action.
   *
   * @default - no actions: the alarms show on the dashboard and in the console only
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Post one Slack message per run (success and failure to different channels), with the outcome, the reason, the
   * run time, the run's peak memory and CPU and a right-size line. See {@link SlackNotificationOptions}.
   *
   * @default - no Slack messages (runs are judged and counted all the same)
   */
  readonly slackNotifications?: SlackNotificationOptions;
}

/**
 * A Fargate task run on a schedule by EventBridge Scheduler, monitored from the inside by the cdk-fargate-monitor
 * agent, with the alarms and dashboard a batch owner needs.
 *
 * Creates a `FargateTaskDefinition` with the app container (essential) and the agent sidecar (see
 * {@link MonitoringAgent}); a log group for both; an EventBridge Scheduler schedule that runs the task with a retry
 * policy and an encrypted SQS dead-letter queue; an EventBridge rule that sends each stopped task to the stack's
 * {@link RunOutcomeHandler} (run metrics, optional Slack message); the alarms of
 * {@link ScheduledTaskAlarms}; and a {@link TaskDashboard}.
 *
 * @throws if `schedule` or `container` is missing, both `cluster` and `vpc` are given, cpu/memory is not a valid
 * Fargate combination, the container's memory limit exceeds the task's, `container.stopTimeout` exceeds 120 s,
 * `retryAttempts` is outside 0–185 or `maxEventAge` outside 1 minute–1 day (checked by aws-scheduler-targets), or an
 * alarm setting is invalid
 */
export class MonitoredScheduledTask extends Construct {
  /** The cluster the task runs in. */
  public readonly cluster: ecs.ICluster;

  /** The task definition (app container and agent). */
  public readonly taskDefinition: ecs.FargateTaskDefinition;

  /** The application container. */
  public readonly appContainer: ecs.ContainerDefinition;

  /** The monitoring agent sidecar container. */
  public readonly agentContainer: ecs.ContainerDefinition;

  /** Log group of both containers. */
  public readonly logGroup: logs.LogGroup;

  /** The EventBridge Scheduler schedule. */
  public readonly schedule: scheduler.Schedule;

  /** Dead-letter queue of the schedule: runs EventBridge Scheduler could not start. */
  public readonly deadLetterQueue: sqs.Queue;

  /** Run counts from ECS task state change events. */
  public readonly runEvents: TaskRunEvents;

  /** Metric factory for the agent's metrics of this task. */
  public readonly taskMetrics: TaskMetrics;

  /** The alarms. */
  public readonly alarms: ScheduledTaskAlarms;

  /** The dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoredScheduledTaskProps) {
    super(scope, id);
    if (!props.schedule) throw new Error('schedule is required: give an EventBridge Scheduler ScheduleExpression');
    if (!props.container || !props.container.image) throw new Error('container is required, with at least container.image');
    if (props.cluster && props.vpc) throw new Error('give either cluster or vpc, not both (vpc is only for a new cluster)');

    const cpu = props.cpu ?? 256;
    const memoryLimitMiB = props.memoryLimitMiB ?? 512;
    validateFargateTaskSize(cpu, memoryLimitMiB, 'cpu/memoryLimitMiB');
    const c = props.container;
    if (c.memoryLimitMiB !== undefined && !Token.isUnresolved(c.memoryLimitMiB) && !Token.isUnresolved(memoryLimitMiB)
      && (c.memoryLimitMiB < 6 || c.memoryLimitMiB > memoryLimitMiB)) {
      throw new Error(`container.memoryLimitMiB must be between 6 and the task's memoryLimitMiB (${memoryLimitMiB}), got ${c.memoryLimitMiB}`);
    }
    if (c.stopTimeout && !c.stopTimeout.isUnresolved() && c.stopTimeout.toSeconds() > 120) {
      throw new Error(`container.stopTimeout must be at most 120 seconds on Fargate, got ${c.stopTimeout.toHumanString()}`);
    }
    const containerName = c.containerName ?? 'app';
    if (containerName === AGENT_CONTAINER_NAME) {
      throw new Error(`container.containerName "${containerName}" is reserved for the monitoring agent`);
    }

    this.cluster = props.cluster ?? new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (props.procfsSampling && props.platformVersion && !Token.isUnresolved(props.platformVersion)
      && /^1\.[0-3]\./.test(props.platformVersion)) {
      throw new Error(`procfsSampling needs Fargate platform version 1.4.0 or later (pidMode task), got platformVersion ${props.platformVersion}`);
    }
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      family: props.family,
      ...(props.procfsSampling ? {
        pidMode: ecs.PidMode.TASK,
        runtimePlatform: { operatingSystemFamily: ecs.OperatingSystemFamily.LINUX, cpuArchitecture: ecs.CpuArchitecture.X86_64 },
      } : {}),
    });
    this.appContainer = this.taskDefinition.addContainer('App', {
      containerName,
      image: c.image,
      command: c.command,
      entryPoint: c.entryPoint,
      environment: c.environment,
      secrets: c.secrets,
      memoryLimitMiB: c.memoryLimitMiB,
      stopTimeout: c.stopTimeout,
      user: c.user,
      readonlyRootFilesystem: c.readonlyRootFilesystem,
      essential: true,
      logging: c.logging ?? ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'app' }),
    });

    const agent = new MonitoringAgent(this, 'Agent', {
      taskDefinition: this.taskDefinition,
      appContainer: this.appContainer,
      logGroup: this.logGroup,
      namespace: props.namespace,
      agentImage: props.agentImage,
      agentMemoryLimitMiB: props.agentMemoryLimitMiB,
      metricsPublisher: props.metricsPublisher,
      procfsSampling: props.procfsSampling,
    });
    this.agentContainer = agent.container;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule,
      enabled: props.scheduleEnabled ?? true,
      description: `Runs the monitored Fargate task ${this.node.path}`,
      target: new targets.EcsRunFargateTask(this.cluster, {
        taskDefinition: this.taskDefinition,
        vpcSubnets: props.subnetSelection,
        securityGroups: props.securityGroups,
        assignPublicIp: props.assignPublicIp,
        platformVersion: props.platformVersion,
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

    const executionRole = this.taskDefinition.obtainExecutionRole();
    Validations.of(executionRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, granted by ECS to pull the agent image, supports no resource-level permissions.',
    });

    // The stack's run-outcome handler (created by the first task, with its log settings); it shares the alarm actions.
    const handler = RunOutcomeHandler.of(this, {
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logEncryptionKey: props.logEncryptionKey,
    });
    handler.addAlarmActions(...props.alarmActions ?? []);
    this.runEvents = new TaskRunEvents(this, 'RunEvents', {
      handler,
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      appContainerName: containerName,
      namespace: agent.namespace,
      logGroup: this.logGroup,
      appStreamPrefix: c.logging ? undefined : 'app',
      slackNotifications: props.slackNotifications,
    });
    this.taskMetrics = new TaskMetrics({
      namespace: agent.namespace,
      clusterName: this.cluster.clusterName,
      taskDefinitionFamily: this.taskDefinition.family,
    });

    this.alarms = new ScheduledTaskAlarms(this, 'Alarms', {
      taskMetrics: this.taskMetrics,
      runEvents: this.runEvents,
      deadLetterQueue: this.deadLetterQueue,
      memoryContainerName: c.memoryLimitMiB !== undefined ? containerName : undefined,
      memoryThresholdPercent: props.memoryThresholdPercent,
      maxRunDuration: props.maxRunDuration,
      missedRunWindow: props.missedRunWindow,
      schedule: props.schedule,
      enableMemoryAlarm: props.enableMemoryAlarm,
      enableFailedRunAlarm: props.enableFailedRunAlarm,
      enableLongRunAlarm: props.enableLongRunAlarm,
      enableScheduleFailedAlarm: props.enableScheduleFailedAlarm,
      enableMissedRunAlarm: props.enableMissedRunAlarm,
    });
    for (const alarm of this.alarms.alarms) {
      alarm.addAlarmAction(...props.alarmActions ?? []);
      alarm.addOkAction(...props.alarmActions ?? []);
    }

    this.dashboard = new TaskDashboard(this, 'Dashboard', {
      taskMetrics: this.taskMetrics,
      containerNames: [containerName, AGENT_CONTAINER_NAME],
      runEvents: this.runEvents,
      alarms: this.alarms.alarms,
    }).dashboard;
  }

  /**
   * `CPUUtilization` of the task (or of one container), percent of the task's vCPU. See {@link TaskMetrics}.
   *
   * @param containerName the container, or undefined for the whole task
   */
  public metricCpuUtilization(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricCpuUtilization(containerName, props);
  }

  /**
   * `MemoryUtilized` of the task (or of one container), MiB. See {@link TaskMetrics}.
   *
   * @param containerName the container, or undefined for the whole task
   */
  public metricMemoryUtilized(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricMemoryUtilized(containerName, props);
  }

  /**
   * `MemoryUtilization` of the task (or of one container), percent of the limit. See {@link TaskMetrics}.
   *
   * @param containerName the container, or undefined for the whole task
   */
  public metricMemoryUtilization(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricMemoryUtilization(containerName, props);
  }
}
