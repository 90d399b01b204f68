import { createHash } from 'node:crypto';
import { Duration, Stack, Tags, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ConcurrencyPolicy, OomRetryOptions, ReliableRunStateMachine, RunRetryOptions } from './reliable-run';
import { parseSchedule } from './schedule-expression';
import { addScheduleWarnings } from './schedule-warnings';
import { ScheduledTaskAlarmOptions, ScheduledTaskAlarms } from './scheduled-task-alarms';
import { TaskRunEvents } from './task-run-events';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { AppContainerOptions } from '../shared/app-container-options';
import { useFargateCapacityProviders } from '../shared/default-cluster';
import { FARGATE_SIZES } from '../shared/fargate-sizes';
import { FleetMember, FleetMemberKind, IFleetDashboardMember } from '../shared/fleet-dashboard';
import { MonitoredFargateBase } from '../shared/monitored-fargate-base';
import { MonitoredFargateOptions } from '../shared/monitored-fargate-options';
import { acknowledgeWildcardResources } from '../shared/nag';
import { TaskDashboard } from '../shared/task-dashboard';

/**
 * Properties of {@link MonitoredScheduledTask}.
 */
export interface MonitoredScheduledTaskProps extends MonitoredFargateOptions, ScheduledTaskAlarmOptions {

  /**
   * When to run: an EventBridge Scheduler expression, which may carry a time zone, for example
   * `ScheduleExpression.cron({ minute: '0', hour: '2', timeZone: TimeZone.EUROPE_BERLIN })`. Checked at synth as
   * EventBridge Scheduler checks it at deploy (cron's 6 fields and their ranges, `?` in exactly one day field, rate
   * units, the at() format, an IANA time zone name): an invalid one fails naming `schedule` and the fix (README,
   * "Schedules checked at synth").
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
   * the missing run (unverified; README, "Alarms"). With `runRetry`, the state machine sees the failure and retries,
   * on FARGATE when `runRetry.spotFallback` is on (its default with FARGATE_SPOT).
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
   * `ecs:TagResource` on the cluster's tasks). With reliable runs (`runRetry`, `runTimeout`, `concurrencyPolicy`,
   * `oomRetry`) they are put on the task definition instead and reach each task through RunTask's `PropagateTags`
   * `TASK_DEFINITION` (Step Functions does not document passing RunTask `Tags` through `ecs:runTask.sync`).
   *
   * @default - no tags on the tasks
   */
  readonly tags?: { [key: string]: string };

  /**
   * How many times EventBridge Scheduler retries its own call that failed (0–185): RunTask, or with reliable runs
   * StartExecution of the state machine. Not the run's retries: see `runRetry`.
   *
   * @default 3
   */
  readonly scheduleRetryAttempts?: number;

  /**
   * Retry a run that could not start (capacity, placement, throttling, TaskFailedToStart), with exponential backoff,
   * optionally one whose app failed, and fall back from FARGATE_SPOT to FARGATE. Runs go through the stack's
   * reliable-run state machine (see README, "Reliable runs").
   *
   * @default - no retries of the run (EventBridge Scheduler runs the task directly)
   */
  readonly runRetry?: RunRetryOptions;

  /**
   * Stop the task (StopTask with a reason) when an attempt runs longer than this, from RunTask to stop (provisioning
   * and image pull included); the run's outcome is "timed out", a failure. Not retried. At least `maxRunDuration` (the
   * long-run alarm fires first) and whole seconds, at most 365 days. Runs go through the stack's reliable-run state
   * machine.
   *
   * @default - no timeout: the long-run alarm fires past `maxRunDuration`, the task keeps running
   */
  readonly runTimeout?: Duration;

  /**
   * What a run does while the previous run of the task definition family still runs: ALLOW, FORBID (skip, counted
   * as `SkippedRuns`) or REPLACE (stop the previous run, then start). Runs go through the stack's reliable-run state
   * machine unless it is ALLOW.
   *
   * @default ConcurrencyPolicy.ALLOW
   */
  readonly concurrencyPolicy?: ConcurrencyPolicy;

  /**
   * After the app is killed out of memory, retry with the next valid Fargate memory size for the same CPU, up to
   * `maxMemoryMiB` (task-level RunTask `overrides.memory`, and the app container's when it has a hard limit). Runs go
   * through the stack's reliable-run state machine.
   *
   * @default - an OOM fails the run
   */
  readonly oomRetry?: OomRetryOptions;

  /**
   * The reliable-run state machine this task's runs go through (with `runRetry`, `runTimeout`, `concurrencyPolicy`
   * or `oomRetry`). Create one to choose its log settings and where its executions-failed alarm goes.
   *
   * @default - the stack's default one, `ReliableRunStateMachine.of(this)`, with default settings
   */
  readonly reliableRunStateMachine?: ReliableRunStateMachine;

  /**
   * How long EventBridge Scheduler keeps retrying a run before it goes to the dead-letter queue (1 minute–24 hours).
   *
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;

  /**
   * Post one Slack message per run (to one channel with `webhook`, or success and failure to different channels),
   * with the outcome, the reason, the run time, the run's peak memory and CPU and a right-size line. See
   * {@link SlackNotificationOptions}.
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
 * @throws if `schedule` is missing or invalid, a shared prop is invalid (see {@link MonitoredFargateBase}),
 * `capacityProviderStrategies` names another provider than FARGATE or FARGATE_SPOT, `retryAttempts` is outside
 * 0–185 or `maxEventAge` outside 1 minute–1 day (checked by aws-scheduler-targets), or an alarm setting is invalid
 */
export class MonitoredScheduledTask extends MonitoredFargateBase implements IFleetDashboardMember {
  /** The EventBridge Scheduler schedule. */
  public readonly schedule!: scheduler.Schedule;

  /** Dead-letter queue of the schedule: runs EventBridge Scheduler could not start. */
  public readonly deadLetterQueue: sqs.Queue;

  /** Run counts from ECS task state change events. */
  public readonly runEvents: TaskRunEvents;

  /** The alarms. */
  public readonly alarms: ScheduledTaskAlarms;

  /**
   * The stack's reliable-run state machine, when this task uses `runRetry`, `runTimeout`, `concurrencyPolicy` (other
   * than ALLOW) or `oomRetry`; else undefined (EventBridge Scheduler runs the task directly).
   */
  public readonly reliableRuns?: ReliableRunStateMachine;

  /** The dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoredScheduledTaskProps) {
    if (!props.schedule) throw new Error('schedule is required: give an EventBridge Scheduler ScheduleExpression');
    parseSchedule(props.schedule); // what EventBridge Scheduler would reject at deploy fails here, naming `schedule`
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

    const reliable = isReliable(props);
    const options = reliable ? reliableRunOptions(props, this.appContainerName, this.taskDefinition.cpu, this.taskDefinition.memoryMiB) : undefined;
    if (!reliable && props.reliableRunStateMachine) {
      throw new Error('reliableRunStateMachine is given but none of runRetry, runTimeout, oomRetry or a concurrencyPolicy other than ALLOW is: the runs would not use it');
    }
    const makeSchedule = (target: scheduler.IScheduleTarget) => new scheduler.Schedule(this, 'Schedule', {
      schedule: props.schedule,
      enabled: props.scheduleEnabled ?? true,
      timeWindow: props.timeWindow,
      description: `Runs the monitored Fargate task ${this.node.path}`,
      target,
    });
    if (!reliable) {
      this.schedule = makeSchedule(new targets.EcsRunFargateTask(this.cluster, {
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
        retryAttempts: props.scheduleRetryAttempts ?? 3,
        maxEventAge: props.maxEventAge ?? Duration.hours(1),
        deadLetterQueue: this.deadLetterQueue,
      }));
    }
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the schedule; the scheduleFailedAlarm watches it.',
    });
    if (!reliable && (props.propagateTags || props.tags)) this.acknowledgeTagResource();

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

    if (options) {
      this.reliableRuns = props.reliableRunStateMachine ?? ReliableRunStateMachine.of(this);
      this.reliableRuns.grantTask(this.cluster, this.taskDefinition, this.runEvents.handler.function, !!(props.propagateTags || props.tags));
      for (const [key, value] of Object.entries(props.tags ?? {})) Tags.of(this.taskDefinition).add(key, value);
      const strategies = props.capacityProviderStrategies;
      const subnets = props.taskSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
      const publicIp = props.assignPublicIp !== undefined ? props.assignPublicIp : subnets.subnetType === ec2.SubnetType.PUBLIC;
      const timeZone = props.schedule.timeZone?.timezoneName;
      this.schedule = makeSchedule(new targets.StepFunctionsStartExecution(this.reliableRuns.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({
          run: {
            cluster: this.cluster.clusterArn,
            family: this.taskDefinition.family,
            taskDefinition: this.taskDefinition.taskDefinitionArn,
            network: {
              AwsvpcConfiguration: {
                Subnets: this.cluster.vpc.selectSubnets(subnets).subnetIds,
                SecurityGroups: this.securityGroups.map((g) => g.securityGroupId),
                AssignPublicIp: publicIp ? 'ENABLED' : 'DISABLED',
              },
            },
            capacityProviderStrategy: (strategies ?? []).map((st) => ({ CapacityProvider: st.capacityProvider, Weight: st.weight, Base: st.base })),
            platformVersion: props.platformVersion ?? 'LATEST',
            enableExecuteCommand: props.enableExecuteCommand ?? false,
            // The tags are on the task definition (below): PropagateTags, in the ECS integration's documented
            // parameters, brings them to the task, where Tags through `.sync` would rest on undocumented behaviour.
            propagateTags: props.propagateTags || props.tags ? 'TASK_DEFINITION' : 'NONE',
            timeoutSeconds: props.runTimeout ? props.runTimeout.toSeconds() : NO_TIMEOUT_SECONDS,
            concurrencyPolicy: props.concurrencyPolicy ?? ConcurrencyPolicy.ALLOW,
            handler: this.runEvents.handler.function.functionArn,
            options,
          },
          config: { ...this.runEvents._runOutcomeConfig, ...timeZone ? { timeZone } : {} },
        }),
        retryAttempts: props.scheduleRetryAttempts ?? 3,
        maxEventAge: props.maxEventAge ?? Duration.hours(1),
        deadLetterQueue: this.deadLetterQueue,
      }));
    }

    addScheduleWarnings(this, props, this.runEvents.handler, this.reliableRuns);

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
      retryAllowance: options ? retryAllowance(options, props.maxRunDuration ?? Duration.hours(1)) : undefined,
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
      if (reliable) {
        const five = { period: Duration.minutes(5) };
        this.dashboard.addWidgets(new cloudwatch.GraphWidget({
          title: 'Reliable runs (count per 5 min)',
          left: [
            this.runEvents.metricAttempts({ ...five, label: 'attempts' }),
            this.runEvents.metricSkippedRuns({ ...five, label: 'skipped', color: cloudwatch.Color.ORANGE }),
            this.runEvents.metricTimedOutRuns({ ...five, label: 'timed out', color: cloudwatch.Color.RED }),
          ],
          leftYAxis: { min: 0, showUnits: false },
          width: 24,
        }));
      }
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
      missedRunAlarm: this.alarms.missedRunAlarm,
      monitoringAlarms: [...this.runEvents.handler.alarms,
        ...this.reliableRuns?.executionsFailedAlarm ? [this.reliableRuns.executionsFailedAlarm] : []],
      logGroup: this.logGroup,
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
    acknowledgeWildcardResources(role, [[arn,
      'ecs:TagResource on the tasks EventBridge Scheduler starts in this cluster (propagateTags/tags): task ids are not known in advance.']]);
  }
}

/**
 * How much later than one attempt a reliable run may end: its extra attempts (the retries, the Spot fallback, one per
 * bigger OOM size), each up to `runTimeout` (else `maxRunDuration`), plus the backoff waits between the retries.
 */
function retryAllowance(o: ReturnType<typeof reliableRunOptions>, maxRunDuration: Duration): Duration {
  const perAttempt = o.timeoutSeconds ?? maxRunDuration.toSeconds();
  let waits = 0;
  for (let i = 0; i < o.retryAttempts; i++) waits += Math.min(o.backoffSeconds * o.backoffRate ** i, o.maxBackoffSeconds);
  const extraAttempts = o.retryAttempts + (o.spotFallback ? 1 : 0) + o.oomMemorySizes.length;
  return Duration.seconds(Math.ceil(extraAttempts * perAttempt + waits));
}

/** TimeoutSeconds of an attempt without `runTimeout`: 365 days, the longest a Standard execution may run. */
const NO_TIMEOUT_SECONDS = 365 * 86_400;

/** Whether the task's runs go through the reliable-run state machine. */
function isReliable(props: MonitoredScheduledTaskProps): boolean {
  return props.runRetry !== undefined || props.runTimeout !== undefined || props.oomRetry !== undefined
    || (props.concurrencyPolicy !== undefined && props.concurrencyPolicy !== ConcurrencyPolicy.ALLOW);
}

const wholeSeconds = (d: Duration, name: string): number => {
  if (d.isUnresolved()) throw new Error(`${name} must not be a token`);
  const s = d.toSeconds({ integral: false });
  if (!Number.isInteger(s)) throw new Error(`${name} must be a whole number of seconds, got ${d.toHumanString()}`);
  return s;
};

/**
 * The reliable-run options of a task (the execution input's `run.options`), checked; each message names the prop.
 * Internal.
 */
function reliableRunOptions(props: MonitoredScheduledTaskProps, appContainer: string, cpu: number, memory: number) {
  const r = props.runRetry ?? {};
  const attempts = r.retries ?? (props.runRetry ? 2 : 0);
  if (!Number.isInteger(attempts) || attempts < 0 || attempts > 10) throw new Error(`runRetry.retries must be a whole number from 0 to 10, got ${attempts}`);
  const backoff = wholeSeconds(r.backoff ?? Duration.seconds(30), 'runRetry.backoff');
  const maxBackoff = wholeSeconds(r.maxBackoff ?? Duration.minutes(10), 'runRetry.maxBackoff');
  if (backoff < 1) throw new Error(`runRetry.backoff must be at least 1 second, got ${backoff} s`);
  if (maxBackoff < backoff) throw new Error(`runRetry.maxBackoff (${maxBackoff} s) must be at least runRetry.backoff (${backoff} s)`);
  const rate = r.backoffRate ?? 2;
  if (!(rate >= 1 && rate <= 10)) throw new Error(`runRetry.backoffRate must be from 1 to 10, got ${rate}`);
  const strategies = props.capacityProviderStrategies ?? [];
  const usesSpot = strategies.some((st) => st.capacityProvider === 'FARGATE_SPOT' && (st.weight ?? 0) + (st.base ?? 0) > 0);
  if (r.spotFallback === true && !usesSpot) {
    throw new Error('runRetry.spotFallback is true but capacityProviderStrategies does not use FARGATE_SPOT: there is nothing to fall back from');
  }
  let timeoutSeconds: number | undefined;
  if (props.runTimeout !== undefined) {
    timeoutSeconds = wholeSeconds(props.runTimeout, 'runTimeout');
    const maxRun = props.maxRunDuration ?? Duration.hours(1);
    if (timeoutSeconds < 60 || timeoutSeconds > NO_TIMEOUT_SECONDS) {
      throw new Error(`runTimeout must be from 1 minute to 365 days, got ${props.runTimeout.toHumanString()}`);
    }
    if (!maxRun.isUnresolved() && timeoutSeconds < maxRun.toSeconds()) {
      throw new Error(`runTimeout (${props.runTimeout.toHumanString()}) is shorter than maxRunDuration (${maxRun.toHumanString()}): ` +
        'the run would be stopped before the long-run alarm could warn; make runTimeout at least maxRunDuration, or lower maxRunDuration');
    }
  }
  let oomMemorySizes: number[] = [];
  if (props.oomRetry) {
    const max = props.oomRetry.maxMemoryMiB;
    const row = FARGATE_SIZES.find(([c]) => c === cpu);
    if (!row || !row[1].includes(max)) {
      const accepted = row ? row[1].filter((m) => m > memory) : [];
      throw new Error(`oomRetry.maxMemoryMiB ${max} is not a valid Fargate memory size for cpu ${cpu} above memoryLimitMiB (${memory}); ` +
        `use one of ${accepted.length ? accepted.join(', ') : '(none: the task already has the largest size for this cpu)'}`);
    }
    if (max <= memory) {
      const accepted = row[1].filter((m) => m > memory);
      throw new Error(`oomRetry.maxMemoryMiB (${max}) must be above memoryLimitMiB (${memory}); ` +
        `use one of ${accepted.length ? accepted.join(', ') : '(none: the task already has the largest size for this cpu)'}`);
    }
    oomMemorySizes = row[1].filter((m) => m > memory && m <= max);
  }
  const appLimit = props.container.memoryLimitMiB;
  return {
    appContainer,
    cpu,
    memoryMiB: memory,
    retryAttempts: attempts,
    retryOnAppFailure: r.onAppFailure ?? false,
    backoffSeconds: backoff,
    backoffRate: rate,
    maxBackoffSeconds: maxBackoff,
    usesStrategy: strategies.length > 0,
    usesSpot,
    spotFallback: usesSpot && (r.spotFallback ?? true),
    oomMemorySizes,
    ...appLimit !== undefined ? { appMemoryReserveMiB: memory - appLimit } : {},
    ...timeoutSeconds !== undefined ? { timeoutSeconds } : {},
  };
}
