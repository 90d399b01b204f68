import { Annotations, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ScheduledTaskAlarmOptions, ScheduledTaskAlarms } from './scheduled-task-alarms';
import { TaskRunEvents } from './task-run-events';
import { AGENT_CONTAINER_NAME, MonitoringAgent } from '../agent/monitoring-agent';
import { TaskMetrics } from '../agent/task-metrics';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { addAlarmActions } from '../shared/alarm-actions';
import { addAppContainer, validateAppContainer } from '../shared/app-container';
import { defaultCluster, useFargateCapacityProviders } from '../shared/default-cluster';
import { validateFargateTaskSize } from '../shared/fargate-task-size';
import { FleetMember, FleetMemberKind, IFleetDashboardMember } from '../shared/fleet-dashboard';
import { MonitoredFargateOptions } from '../shared/monitored-fargate-options';
import { TaskDashboard } from '../shared/task-dashboard';
import { taskSecurityGroup } from '../shared/task-security-group';

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
   * When the task is stopped from outside (StopTask, Fargate Spot interruption), ECS stops the monitoring agent
   * first (shutdown reverses `dependsOn`): the app's SIGTERM comes up to 10 seconds later, and its `stopTimeout`
   * counts from then. A Spot interruption gives the whole task 2 minutes.
   *
   * @default - the ECS default (30 seconds)
   */
  readonly stopTimeout?: Duration;
}

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
   * Whether the schedule is enabled.
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
   * CPU architecture of the task: X86_64 or ARM64 (Graviton). The bundled agent image is built for the same
   * architecture; give an `agentImage` for that architecture too if you replace it.
   *
   * @default CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * Ephemeral storage of the task, GiB (21–200).
   *
   * @default - 20 GiB (the Fargate default)
   */
  readonly ephemeralStorageGiB?: number;

  /**
   * An existing IAM role for the task (the app's permissions). The agent's `cloudwatch:PutMetricData` statement is
   * added to it (through a new policy when the role is imported), unless `metricsPublisher` is Embedded Metric
   * Format. It must trust `ecs-tasks.amazonaws.com`.
   *
   * @default - a new role
   */
  readonly taskRole?: iam.IRole;

  /**
   * Capacity provider strategy of each run: a list of `{ capacityProvider, weight, base }` naming FARGATE and/or
   * FARGATE_SPOT, for example FARGATE_SPOT weight 3 and FARGATE weight 1 (about one run in four on regular Fargate).
   * At least one provider needs a weight above 0. When the cluster is defined in this app (the default cluster or
   * a `Cluster` of aws-ecs), both Fargate capacity providers are enabled on it; an imported cluster must have them.
   * A Spot interruption stops the task with 2 minutes' notice (stop code SpotInterruption; the agent is stopped
   * first, then the app gets SIGTERM, and its exit code decides whether the run counts as failed); when Spot
   * capacity is short, RunTask fails and EventBridge Scheduler retries (`retryAttempts`), then the run goes to the
   * dead-letter queue.
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
   * Allow ECS Exec (`aws ecs execute-command`) into the running task's containers: the runs start with execute
   * command enabled and the task role gets the four `ssmmessages` channel actions (which have no resource-level
   * permissions). The image needs a shell. ECS Exec does not work in containers with a read-only root filesystem
   * (aws/containers-roadmap#1359): sessions are possible in the app container only, and only with
   * `container.readonlyRootFilesystem` false (a synth warning says so otherwise); the agent's stays read-only.
   *
   * @default false
   */
  readonly enableExecuteCommand?: boolean;
  /**
   * Subnets to run the task in.
   *
   * @default - private subnets of the cluster's VPC
   */
  readonly subnetSelection?: ec2.SubnetSelection;

  /**
   * Security groups of the task.
   *
   * @default - a new security group of the task's own (also for an empty list), with no inbound rule and all
   * outbound traffic allowed (the VPC's default security group, which new CDK VPCs empty, would stop the task from
   * pulling its image)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Give the task a public IP (only for public subnets).
   *
   * @default false
   */
  readonly assignPublicIp?: boolean;

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
   * An existing log group for both containers (stream prefixes `app` and `agent`). Do not give `logRetention` or
   * `logEncryptionKey` with it: they are settings of the log group this construct would create.
   *
   * @default - a new log group (retained when the stack is deleted), see `logRetention` and `logEncryptionKey`
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Create the CloudWatch dashboard of the task (see TaskDashboard).
   *
   * @default true
   */
  readonly createDashboard?: boolean;

  /**
   * Name of the dashboard. Only with the dashboard created. 1–255 characters from A-Z a-z 0-9 - _ (unique in the
   * account and Region).
   *
   * @default - generated by CloudFormation
   */
  readonly dashboardName?: string;

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
 * {@link MonitoringAgent}); a log group for both (unless `logGroup` is given); a security group of the task's own
 * (unless `securityGroups` are given); an EventBridge Scheduler schedule that runs the task with a retry policy and
 * an encrypted SQS dead-letter queue; an EventBridge rule that sends each stopped task to the stack's
 * {@link RunOutcomeHandler} (run metrics, optional Slack message); the alarms of
 * {@link ScheduledTaskAlarms}; and a {@link TaskDashboard} (unless `createDashboard` is false). Without `cluster`, the
 * task runs in the stack's default cluster, shared as in aws-ecs-patterns.
 *
 * Shutdown order: when the task is stopped from outside (StopTask, Fargate Spot interruption), ECS stops the agent
 * before the app (shutdown reverses `dependsOn`); the agent exits within 10 seconds, so the app gets its SIGTERM at
 * most 10 seconds late. See {@link MonitoringAgent}.
 *
 * @throws if `schedule` or `container` is missing, both `cluster` and `vpc` are given, cpu/memory is not a valid
 * Fargate combination, the container's memory limit exceeds the task's, `container.stopTimeout` exceeds 120 s,
 * `logRetention` or `logEncryptionKey` is given with `logGroup`, `dashboardName` is given with `createDashboard`
 * false, `capacityProviderStrategies` names another provider than FARGATE or FARGATE_SPOT, `retryAttempts` is
 * outside 0–185 or `maxEventAge` outside 1 minute–1 day (checked by aws-scheduler-targets), or an alarm setting is
 * invalid
 */
export class MonitoredScheduledTask extends Construct implements IFleetDashboardMember {
  /** The cluster the task runs in. */
  public readonly cluster: ecs.ICluster;

  /** The task definition (app container and agent). */
  public readonly taskDefinition: ecs.FargateTaskDefinition;

  /** The application container. */
  public readonly appContainer: ecs.ContainerDefinition;

  /** The monitoring agent sidecar container. */
  public readonly agentContainer: ecs.ContainerDefinition;

  /** Log group of both containers. */
  public readonly logGroup: logs.ILogGroup;

  /** Security groups of the task: the given `securityGroups`, or the one created for it. */
  public readonly securityGroups: ec2.ISecurityGroup[];

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

  /** The dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoredScheduledTaskProps) {
    super(scope, id);
    if (!props.schedule) throw new Error('schedule is required: give an EventBridge Scheduler ScheduleExpression');
    if (!props.container || !props.container.image) throw new Error('container is required, with at least container.image');
    if (props.cluster && props.vpc) throw new Error('give either cluster or vpc, not both (vpc is only for the default cluster)');
    if (props.logGroup && (props.logRetention !== undefined || props.logEncryptionKey)) {
      throw new Error('logRetention and logEncryptionKey apply to the log group this construct creates: do not give them with logGroup (set them on that log group)');
    }
    if (props.createDashboard === false && props.dashboardName !== undefined) {
      throw new Error('dashboardName is given but createDashboard is false: give one or the other');
    }

    const cpu = props.cpu ?? 256;
    const memoryLimitMiB = props.memoryLimitMiB ?? 512;
    validateFargateTaskSize(cpu, memoryLimitMiB, 'cpu/memoryLimitMiB');
    const c = props.container;
    const containerName = validateAppContainer(c, memoryLimitMiB);

    this.cluster = props.cluster ?? defaultCluster(this, props.vpc);
    useFargateCapacityProviders(this.cluster, props.capacityProviderStrategies, 'capacityProviderStrategies');
    this.securityGroups = props.securityGroups && props.securityGroups.length > 0 ? props.securityGroups
      : [taskSecurityGroup(this, 'SecurityGroup', this.cluster.vpc, `Monitored scheduled task ${this.node.path}`.slice(0, 255))];

    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (props.procfsSampling && props.platformVersion && !Token.isUnresolved(props.platformVersion)
      && /^1\.[0-3]\./.test(props.platformVersion)) {
      throw new Error(`procfsSampling needs Fargate platform version 1.4.0 or later (pidMode task), got platformVersion ${props.platformVersion}`);
    }
    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      family: props.family,
      taskRole: props.taskRole,
      ephemeralStorageGiB: props.ephemeralStorageGiB,
      // pidMode task needs a Linux runtime platform; Fargate's default is Linux/X86_64, stated here explicitly.
      runtimePlatform: { operatingSystemFamily: ecs.OperatingSystemFamily.LINUX, cpuArchitecture },
      pidMode: props.procfsSampling ? ecs.PidMode.TASK : undefined,
    });
    if (props.enableExecuteCommand) {
      if (c.readonlyRootFilesystem) {
        Annotations.of(this).addWarningV2('cdk-fargate-monitor:execReadonlyRoot',
          'enableExecuteCommand is set but container.readonlyRootFilesystem is true: ECS Exec does not work in containers with a read-only root filesystem.');
      }
      // What ECS Exec needs in the task role (as aws-ecs BaseService.enableExecuteCommand grants).
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
    this.appContainer = addAppContainer(this.taskDefinition, c, this.logGroup);

    const agent = new MonitoringAgent(this, 'Agent', {
      taskDefinition: this.taskDefinition,
      cpuArchitecture,
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
      timeWindow: props.timeWindow,
      description: `Runs the monitored Fargate task ${this.node.path}`,
      target: new targets.EcsRunFargateTask(this.cluster, {
        taskDefinition: this.taskDefinition,
        vpcSubnets: props.subnetSelection,
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


    // The stack's run-outcome handler (created by the first task, with its log settings); it shares the alarm and OK actions.
    const handler = RunOutcomeHandler.of(this, {
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      logEncryptionKey: props.logEncryptionKey,
    });
    handler.addAlarmActions(...props.alarmActions ?? []);
    handler.addOkActions(...props.okActions ?? props.alarmActions ?? []);
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
      scheduleTimeWindow: props.timeWindow,
      enableMemoryAlarm: props.enableMemoryAlarm,
      enableFailedRunAlarm: props.enableFailedRunAlarm,
      enableLongRunAlarm: props.enableLongRunAlarm,
      enableScheduleFailedAlarm: props.enableScheduleFailedAlarm,
      enableMissedRunAlarm: props.enableMissedRunAlarm,
    });
    addAlarmActions(this.alarms.alarms, props);

    if (props.createDashboard ?? true) {
      this.dashboard = new TaskDashboard(this, 'Dashboard', {
        taskMetrics: this.taskMetrics,
        containerNames: [containerName, AGENT_CONTAINER_NAME],
        runEvents: this.runEvents,
        alarms: this.alarms.alarms,
        dashboardName: props.dashboardName,
      }).dashboard;
    }
  }

  /**
   * aws-scheduler-targets grants the (shared) scheduler role `ecs:TagResource` on `task/<cluster>/*` for tags;
   * a task id cannot be known in advance, so the wildcard is the narrowest scope. Acknowledged on that role for the
   * exact cdk-nag finding (its flattened resource string).
   */
  private acknowledgeTagResource(): void {
    const stack = Stack.of(this);
    const cfnSchedule = this.schedule.node.defaultChild as scheduler.CfnSchedule;
    const roleArn = JSON.stringify(stack.resolve((stack.resolve(cfnSchedule.target) as scheduler.CfnSchedule.TargetProperty).roleArn));
    const role = stack.node.children.find((c): c is iam.Role => c instanceof iam.Role && JSON.stringify(stack.resolve(c.roleArn)) === roleArn);
    if (!role) return;
    const arn = `arn:${stack.partition}:ecs:${this.cluster.env.region}:${this.taskDefinition.env.account}:task/${this.cluster.clusterName}/*`;
    // Validations.acknowledge refuses ids containing '::' beyond the prefix, and this finding's resource holds
    // <AWS::Partition>: record the acknowledgment in the same metadata entry acknowledge() writes, which cdk-nag reads.
    role.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, {
      [`AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(arn))}]`]:
        'ecs:TagResource on the tasks EventBridge Scheduler starts in this cluster (propagateTags/tags): task ids are not known in advance.',
    });
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

/** A resolved CloudFormation value as cdk-nag writes it in finding ids: `{Ref: X}` as `<X>`, joins concatenated. */
function flattenForNag(node: any): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && node['Fn::Join']) return (node['Fn::Join'][1] as any[]).map(flattenForNag).join(node['Fn::Join'][0]);
  if (node && node['Fn::GetAtt']) return `<${flattenForNag(node['Fn::GetAtt'][0])}.${flattenForNag(node['Fn::GetAtt'][1])}>`;
  if (node && node.Ref) return `<${flattenForNag(node.Ref)}>`;
  return JSON.stringify(node);
}
