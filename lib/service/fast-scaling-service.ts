import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import {
  DEFAULT_FLUSH_INTERVAL, DEFAULT_HEALTH_CHECK, defaultFastFlushCpuThresholdPercent,
  DEFAULT_SCALE_IN_COOLDOWN, DEFAULT_SCALE_IN_EVALUATION_PERIODS, DEFAULT_SCALE_IN_PERIOD, DEFAULT_SCALE_IN_STEPS,
  DEFAULT_SCALE_OUT_COOLDOWN, DEFAULT_SCALE_OUT_EVALUATION_PERIODS, DEFAULT_SCALE_OUT_PERIOD, DEFAULT_SCALE_OUT_STEPS,
  scaleInIntervals, scaleOutIntervals, validateScaleInSteps, validateScaleOutSteps,
} from './scaling-steps';
import { ServiceAlarmOptions, ServiceAlarms } from './service-alarms';
import { ServiceDashboard } from './service-dashboard';
import { ServiceIncidents } from './service-incidents';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { validateAlarmPeriod, withPeriod } from '../shared/alarm-factory';
import { AppContainerOptions } from '../shared/app-container-options';
import { FleetMember, FleetMemberKind, IFleetDashboardMember } from '../shared/fleet-dashboard';
import { MonitoredFargateBase } from '../shared/monitored-fargate-base';
import { MonitoredFargateOptions } from '../shared/monitored-fargate-options';

/**
 * The application container of a {@link FastScalingService}: the options of every monitored app container plus
 * the port the load balancer sends traffic to.
 */
export interface ServiceContainerOptions extends AppContainerOptions {
  /**
   * Port the app listens on (HTTP); the load balancer's target group sends traffic and health checks there.
   *
   * @default 80
   */
  readonly containerPort?: number;
}

/**
 * How a step-scaling pair reacts: the adjustment types, alarm periods, evaluation periods and cooldowns of its
 * scale-out and scale-in policies. Shared by {@link FastScalingServiceProps} (its CPU scaling) and
 * {@link HighResolutionStepScalingOptions} (scaling on another metric).
 */
export interface StepScalingTimingOptions {
  /**
   * How `change` of `scaleOutSteps` is read.
   *
   * @default appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY (at least 1 task added)
   */
  readonly scaleOutAdjustmentType?: appscaling.AdjustmentType;

  /**
   * Period of the scale-out alarm: 10 or 30 seconds (high-resolution alarm) or whole minutes.
   *
   * @default Duration.seconds(10)
   */
  readonly scaleOutPeriod?: Duration;

  /**
   * Consecutive breaching periods before scaling out (period × this ≤ 1 day).
   *
   * @default 1 (one 10 s period averages about 10 one-second datapoints per task)
   */
  readonly scaleOutEvaluationPeriods?: number;

  /**
   * Scale-out cooldown. An alarm that stays in ALARM re-invokes its scaling action once a minute, so a cooldown from
   * 61 to 120 s acts as 120 s; during a cooldown only a larger step acts.
   *
   * @default Duration.seconds(45) (under a minute, so each minute's re-invocation acts: CPU cannot read above 100 %,
   * so a 4× burst looks like a 2× one until the first new tasks take load, and the second doubling comes a minute
   * after the first instead of two)
   */
  readonly scaleOutCooldown?: Duration;

  /**
   * How `change` of the scale-in steps is read.
   *
   * @default appscaling.AdjustmentType.CHANGE_IN_CAPACITY
   */
  readonly scaleInAdjustmentType?: appscaling.AdjustmentType;

  /**
   * Period of the scale-in alarm: 10 or 30 seconds or whole minutes.
   *
   * @default Duration.minutes(1)
   */
  readonly scaleInPeriod?: Duration;

  /**
   * Consecutive periods below the scale-in threshold before scaling in (period × this ≤ 1 day).
   *
   * @default 5 (five minutes)
   */
  readonly scaleInEvaluationPeriods?: number;

  /**
   * Scale-in cooldown.
   *
   * @default Duration.minutes(5)
   */
  readonly scaleInCooldown?: Duration;
}

/**
 * Step scaling on one metric: a fast scale-out alarm and, optionally, a slow scale-in alarm.
 * Used by {@link FastScalingService.scaleOnHighResolutionMetric}.
 */
export interface HighResolutionStepScalingOptions extends StepScalingTimingOptions {
  /**
   * The metric. Its statistic is kept; its period is replaced by `scaleOutPeriod` (and `scaleInPeriod`) when it is
   * a `Metric` or `MathExpression` (other `IMetric` implementations are used as they are). Give a metric published
   * at high resolution (`StorageResolution: 1`), or a 10 s alarm on it sees no data (missing data never scales).
   */
  readonly metric: cloudwatch.IMetric;

  /**
   * Scale-out steps in ascending order: every step has `lower`; each step's `upper` equals the next step's `lower`;
   * only the last has no `upper`; `change` is positive. The first `lower` is the alarm threshold.
   */
  readonly scaleOutSteps: appscaling.ScalingInterval[];

  /**
   * Scale-in steps in descending order: every step has `upper`; each step's `lower` equals the next step's `upper`;
   * only the last has no `lower`; `change` is negative. The first `upper` is the alarm threshold.
   *
   * @default - no scale-in on this metric
   */
  readonly scaleInSteps?: appscaling.ScalingInterval[];

}

/**
 * The scaling policies and alarms made by one call of {@link FastScalingService.scaleOnHighResolutionMetric}.
 */
export interface HighResolutionStepScaling {
  /** The scale-out policy (its `upperAlarm` is the scale-out alarm). */
  readonly scaleOutPolicy: appscaling.StepScalingPolicy;

  /** The scale-out alarm. */
  readonly scaleOutAlarm: cloudwatch.Alarm;

  /** The scale-in policy, when scale-in steps were given. */
  readonly scaleInPolicy?: appscaling.StepScalingPolicy;

  /** The scale-in alarm, when scale-in steps were given. */
  readonly scaleInAlarm?: cloudwatch.Alarm;
}

/**
 * Properties of {@link FastScalingService}.
 */
export interface FastScalingServiceProps extends MonitoredFargateOptions, ServiceAlarmOptions, StepScalingTimingOptions {

  /** The application (web server) container. */
  readonly container: ServiceContainerOptions;

  /**
   * Task CPU, in CPU units (1024 = 1 vCPU). With `memoryLimitMiB`, must be a valid Fargate task size.
   *
   * @default 512
   */
  readonly cpu?: number;

  /**
   * Task memory, MiB. With `cpu`, must be a valid Fargate task size.
   *
   * @default 1024
   */
  readonly memoryLimitMiB?: number;

  /**
   * Name of the ECS service. The agent publishes the service's metrics under it (dimension `ServiceName`), so it
   * is fixed at synth. CloudFormation cannot replace a resource with a fixed name: a change that replaces the
   * service (its name, cluster, load balancer wiring or launch type) fails unless the name changes too.
   * 1–255 letters, digits, hyphens and underscores.
   *
   * @default - derived from the construct path (stable while the construct keeps its id and place in the tree)
   */
  readonly serviceName?: string;

  /**
   * Fewest tasks: Application Auto Scaling raises the service to this many when it registers the target, and never
   * scales in below it. (The template has no DesiredCount, so deployments leave the scaled count alone.)
   *
   * @default 2
   */
  readonly minCapacity?: number;

  /**
   * Most tasks. Must be at least `minCapacity`.
   *
   * @default 10
   */
  readonly maxCapacity?: number;

  /**
   * Scale-out steps on the agent's service-level `CPUUtilization` (Average, percent of the task's vCPU): ascending,
   * contiguous, within 0–100, only the last open-ended, positive changes. The first `lower` is the threshold.
   *
   * The step is chosen from the alarm's breaching datapoint (the 10 s period's average), not from the load after the
   * step: a step early in a period reads anywhere between the threshold and 100 %.
   *
   * @default - [{ lower: 70, upper: 75, change: 50 }, { lower: 75, upper: 90, change: 100 }, { lower: 90, change: 200 }]
   * with PERCENT_CHANGE_IN_CAPACITY: +50 % of the tasks from 70 % CPU (a slow climb), double from 75 % (a burst),
   * triple from 90 % (saturated tasks: CPU cannot show how far demand exceeds them)
   */
  readonly scaleOutSteps?: appscaling.ScalingInterval[];

  /**
   * Scale-in steps on the agent's service-level `CPUUtilization`: descending, contiguous, within 0–100, only the
   * last open-ended, negative changes. The first `upper` is the threshold.
   *
   * @default - [{ upper: 30, change: -1 }] with CHANGE_IN_CAPACITY: one task fewer below 30 % CPU
   */
  readonly scaleInSteps?: appscaling.ScalingInterval[];

  /**
   * Also add ECS's native 20-second target tracking on CPU (`ECSServiceAverageCPUUtilizationHighResolution`) as a
   * safety net, with this target (percent, > 0 and ≤ 100). Turns on 20 s `CPUUtilization` for the service
   * (`MonitoringConfiguration`, billed like detailed monitoring). The safety net scales out even when the agent's
   * metrics stop; its own scale-in is disabled (the step policy scales in).
   *
   * @default - none
   */
  readonly nativeTargetTrackingCpuPercent?: number;

  /**
   * How often the agent sends its metrics while the task's CPU is below the lowest scale-out threshold: 10 s means
   * 6 PutMetricData calls per task per minute (259,200 per task-month, about $2.59 per task-month at $0.01 per 1,000
   * requests, $259 per month for 100 tasks; us-east-1 list price, unverified). At or above the threshold the agent
   * flushes every second, and at once when a sample first crosses it, so the scale-out alarm sees a burst within
   * about a second of the sample. A longer interval biases the scale-out alarm: the samples below the threshold that
   * follow one above it wait for this flush, and a 10 s alarm evaluated before it sees mostly the high ones (30 s: false
   * scale-outs at 50–60 % CPU in a third to a half of 10-minute runs in the benchmark's model, 2–7 % at 10 s).
   *
   * @default Duration.seconds(10)
   */
  readonly flushInterval?: Duration;

  /**
   * Whether the load balancer is internet-facing.
   *
   * @default true
   */
  readonly publicLoadBalancer?: boolean;

  /**
   * Certificate for an HTTPS listener on 443 (HTTP on 80 then redirects to it).
   *
   * @default - an HTTP listener on port 80
   */
  readonly certificate?: acm.ICertificate;

  /**
   * Path of the target group's health check.
   *
   * @default '/'
   */
  readonly healthCheckPath?: string;

  /**
   * Tell the service's incidents in Slack (README, "A service's incidents in Slack"): a crashed task (out of memory
   * with the agent's peak, non-zero exit, failed health checks, failed to start; never a scale-in, deployment or user
   * stop) at once, then one summary per `incidentWindow` while the crashes go on; a failed deployment and a circuit
   * breaker's rollback; service actions that block capacity (at most once per window); the service held at its
   * ceiling (`scaledToCeilingDuration`). Completed deployments go to the success channel when `notifySuccess` (default
   * true). Adds one EventBridge rule and its Lambda permission, and the `TaskCrashes` metric (its alarm only when
   * `alarmOverrides.taskCrashes` is given); the stack's run-outcome handler serves it (with, once per handler, a
   * one-minute rule and its permission that post ended windows' summaries and look at services at their ceiling).
   *
   * @default - no Slack messages and no TaskCrashes metric
   */
  readonly slackNotifications?: SlackNotificationOptions;

  /**
   * The crash window: the first crash posts at once, further crashes within this time are counted and posted once as
   * a summary; each service action is posted at most once per window. 1 minute to 1 day.
   *
   * @default Duration.minutes(10)
   */
  readonly incidentWindow?: Duration;

  /**
   * With `slackNotifications`: how long the service must run at `maxCapacity` (its desired count, ECS DescribeServices)
   * while its scale-out alarm stays in ALARM before the failure channel is told, once per ALARM episode: the load is
   * bigger than the service may grow. The handler follows the alarm's state changes and looks at the desired count on
   * each ALARM and once a minute, so the message comes this long to a minute later. 1 minute to 1 day.
   *
   * @default Duration.minutes(5)
   */
  readonly scaledToCeilingDuration?: Duration;

  /**
   * The run-outcome handler that serves `slackNotifications`.
   *
   * @default - the stack's default handler, `RunOutcomeHandler.of(this)`
   */
  readonly runOutcomeHandler?: RunOutcomeHandler;
}

/**
 * An ALB-fronted Fargate service that scales out within seconds of a load step, on 1-second CPU from the
 * cdk-fargate-monitor agent.
 *
 * ECS target tracking sees one-minute (or, since 2026, 20-second) CPU and needs three datapoints: minutes pass
 * before a scale-out. Here the agent sidecar reads every process's CPU from `/proc` each second (`pidMode: task`),
 * sends it every 10 s (every second while the CPU is at or above the scale-out threshold), and CloudWatch averages
 * all tasks' datapoints into one service metric (`ClusterName`, `ServiceName`); a 10-second high-resolution alarm on
 * it drives an Application Auto Scaling step policy with large steps and a cooldown under a minute. A slower alarm
 * (5 × 1 minute) scales in one task at a time. The service is an `ApplicationLoadBalancedFargateService`
 * (aws-ecs-patterns) whose target group checks health every 5 s: a new task is healthy after its first passed check.
 *
 * From {@link MonitoredFargateBase}: the task definition with the app container and the agent, the log group, the
 * tasks' security group (the load balancer is allowed in on the container port), the stack's default cluster
 * without `cluster`. Unlike elsewhere in this library, `procfsSampling` defaults to true here: without it the agent
 * has only the metadata endpoint's 10-second CPU, one datapoint per task per 10 s alarm period.
 *
 * Cost of the speed: 6 PutMetricData calls per task per minute while idle, 60 during a burst (see `flushInterval`),
 * and two alarms, one of them high resolution ($0.30 per month).
 *
 * @throws if a shared prop is invalid (see {@link MonitoredFargateBase}), `minCapacity` > `maxCapacity`, steps
 * overlap, leave gaps, run the wrong way or lie outside 0–100, a period is not one an alarm can have,
 * `nativeTargetTrackingCpuPercent` is outside (0, 100], or an alarm setting is invalid
 */
export class FastScalingService extends MonitoredFargateBase implements IFleetDashboardMember {
  /** The ECS service. */
  public readonly service: ecs.FargateService;

  /** The Application Load Balancer. */
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;

  /** The load balancer's target group (the tasks). */
  public readonly targetGroup: elbv2.ApplicationTargetGroup;

  /** The service's task count as an Application Auto Scaling target; add your own policies to it. */
  public readonly scalableTaskCount: ecs.ScalableTaskCount;

  /** Name of the ECS service (also the `ServiceName` dimension of the agent's metrics). */
  public readonly serviceName: string;

  /** The CPU step scaling (policies and alarms). */
  public readonly cpuScaling: HighResolutionStepScaling;

  /** The service's alarms (memory, 5xx, response time). */
  public readonly alarms: ServiceAlarms;

  /** The dashboard, unless `createDashboard` is false. */
  public readonly dashboard?: cloudwatch.Dashboard;

  /** The ALB-fronted service pattern this construct composes. */
  public readonly pattern: ecsPatterns.ApplicationLoadBalancedFargateService;

  /**
   * With `slackNotifications`: the EventBridge rule sending the service's stopped tasks, deployment and service-action
   * events and its scale-out alarm's state changes to the run-outcome handler.
   */
  public readonly incidentRule?: events.IRule;

  /**
   * With `slackNotifications` and `alarmOverrides.taskCrashes`: `TaskCrashes` Sum ≥ threshold (default 3) in 5
   * minutes, a crash loop.
   */
  public readonly taskCrashesAlarm?: cloudwatch.Alarm;

  private readonly incidents?: ServiceIncidents;

  constructor(scope: Construct, id: string, props: FastScalingServiceProps) {
    const containerPort = props.container?.containerPort ?? 80;
    super(scope, id, {
      ...props,
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      procfsSampling: props.procfsSampling ?? true,
      portMappings: [{ containerPort, protocol: ecs.Protocol.TCP }],
      ecsService: true,
      serviceName: props.serviceName,
      flushInterval: props.flushInterval ?? DEFAULT_FLUSH_INTERVAL,
      // Every second (the agent's default fast interval) from the lowest scale-out threshold on: the scale-out alarm
      // sees a burst within about a second.
      fastFlushCpuThresholdPercent: defaultFastFlushCpuThresholdPercent(props.scaleOutSteps ?? DEFAULT_SCALE_OUT_STEPS),
    });
    this.serviceName = this._serviceName!;
    if (!Token.isUnresolved(containerPort) && (!Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535)) {
      throw new Error(`container.containerPort must be a port number from 1 to 65535, got ${containerPort}`);
    }
    const minCapacity = props.minCapacity ?? 2;
    const maxCapacity = props.maxCapacity ?? 10;
    for (const [name, v] of [['minCapacity', minCapacity], ['maxCapacity', maxCapacity]] as const) {
      if (!Token.isUnresolved(v) && (!Number.isInteger(v) || v < 0)) throw new Error(`${name} must be a whole number of tasks (0 or more), got ${v}`);
    }
    if (!Token.isUnresolved(minCapacity) && !Token.isUnresolved(maxCapacity) && minCapacity > maxCapacity) {
      throw new Error(`minCapacity (${minCapacity}) must not be greater than maxCapacity (${maxCapacity})`);
    }
    if (!Token.isUnresolved(maxCapacity) && maxCapacity < 1) throw new Error(`maxCapacity must be at least 1, got ${maxCapacity}`);
    const nativeTarget = props.nativeTargetTrackingCpuPercent;
    if (nativeTarget !== undefined && !Token.isUnresolved(nativeTarget) && !(nativeTarget > 0 && nativeTarget <= 100)) {
      throw new Error(`nativeTargetTrackingCpuPercent must be > 0 and ≤ 100 (percent CPU), got ${nativeTarget}`);
    }

    this.pattern = new ecsPatterns.ApplicationLoadBalancedFargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      serviceName: this.serviceName,
      publicLoadBalancer: props.publicLoadBalancer ?? true,
      certificate: props.certificate,
      protocol: props.certificate ? elbv2.ApplicationProtocol.HTTPS : elbv2.ApplicationProtocol.HTTP,
      redirectHTTP: props.certificate ? true : undefined,
      sslPolicy: props.certificate ? elbv2.SslPolicy.RECOMMENDED_TLS : undefined,
      taskSubnets: props.taskSubnets,
      securityGroups: this.securityGroups,
      assignPublicIp: props.assignPublicIp,
      enableExecuteCommand: props.enableExecuteCommand,
      platformVersion: props.platformVersion,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      healthCheckGracePeriod: Duration.seconds(30),
    });
    this.service = this.pattern.service;
    // No DesiredCount in the template, so a deployment never resets the count auto scaling has set; ECS starts the
    // service with 1 task and Application Auto Scaling raises it to minCapacity when it registers the target.
    (this.service.node.defaultChild as ecs.CfnService).addPropertyDeletionOverride('DesiredCount');
    this.loadBalancer = this.pattern.loadBalancer;
    this.targetGroup = this.pattern.targetGroup;
    // A new target is healthy after one passed check: within one 5 s interval of registration (DEFAULT_HEALTH_CHECK).
    this.targetGroup.configureHealthCheck({ path: props.healthCheckPath ?? '/', ...DEFAULT_HEALTH_CHECK });
    this.targetGroup.setAttribute('deregistration_delay.timeout_seconds', '30');
    // Malformed HTTP headers are dropped at the load balancer, not passed to the app (Control Tower CT.ELB.PR.2).
    this.loadBalancer.setAttribute('routing.http.drop_invalid_header_fields.enabled', 'true');
    // The service depends on the listener (so the target group is attached to the load balancer before ECS
    // registers tasks); aws-ecs-patterns puts the target group into that same DependsOn, which the service already
    // references, and cfn-lint warns of the redundancy (W3005). Harmless: silenced for this resource only.
    (this.service.node.defaultChild as ecs.CfnService).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });

    this.scalableTaskCount = this.service.autoScaleTaskCount({ minCapacity, maxCapacity });
    this.cpuScaling = this.stepScaling('Cpu', {
      ...props, // the StepScalingTimingOptions
      metric: this.taskMetrics.metricCpuUtilization(undefined, { statistic: 'Average' }),
      scaleOutSteps: props.scaleOutSteps ?? DEFAULT_SCALE_OUT_STEPS,
      scaleInSteps: props.scaleInSteps ?? DEFAULT_SCALE_IN_STEPS,
    }, true);

    if (nativeTarget !== undefined) this.addNativeTargetTracking(nativeTarget);

    this.alarms = new ServiceAlarms(this, 'Alarms', {
      taskMetrics: this.taskMetrics,
      loadBalancer: this.loadBalancer,
      targetGroup: this.targetGroup,
      alarmOverrides: props.alarmOverrides,
      alarmActions: props.alarmActions,
      okActions: props.okActions,
    });

    if (props.createDashboard ?? true) {
      this.dashboard = new ServiceDashboard(this, 'Dashboard', {
        taskMetrics: this.taskMetrics,
        containerNames: [this.appContainerName, AGENT_CONTAINER_NAME],
        clusterName: this.cluster.clusterName,
        serviceName: this.serviceName,
        loadBalancer: this.loadBalancer,
        targetGroup: this.targetGroup,
        alarms: this.alarms.alarms,
        scalingAlarms: [this.cpuScaling.scaleOutAlarm, ...this.cpuScaling.scaleInAlarm ? [this.cpuScaling.scaleInAlarm] : []],
        dashboardName: props.dashboardName,
      }).dashboard;
    }

    if (props.slackNotifications) {
      const incidents = new ServiceIncidents(this, 'Incidents', {
        cluster: this.cluster,
        service: this.service,
        serviceName: this.serviceName,
        taskDefinition: this.taskDefinition,
        appContainerName: this.appContainerName,
        taskMetrics: this.taskMetrics,
        logGroup: this.logGroup,
        slackNotifications: props.slackNotifications,
        handler: props.runOutcomeHandler,
        incidentWindow: props.incidentWindow,
        maxCapacity,
        scaleOutAlarm: this.cpuScaling.scaleOutAlarm,
        scaledToCeilingDuration: props.scaledToCeilingDuration,
        taskCrashesAlarm: props.alarmOverrides?.taskCrashes,
        alarmActions: props.alarmActions,
        okActions: props.okActions,
      });
      this.dashboard?.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Task crashes by reason (count per minute; run-outcome handler)',
          left: ['OutOfMemory', 'ExitCode', 'HealthCheck', 'FailedToStart'].map((r) => this.metricTaskCrashes(r)),
          leftYAxis: { min: 0, showUnits: false },
          stacked: true,
          width: 12,
        }),
        ...incidents.alarms.length ? [new cloudwatch.AlarmStatusWidget({ title: 'Incidents', alarms: incidents.alarms, width: 12 })] : [],
      );
      this.incidentRule = incidents.rule;
      this.incidents = incidents;
      this.taskCrashesAlarm = incidents.taskCrashesAlarm;
    }

    this.acknowledgeNagFindings(props.publicLoadBalancer ?? true);
  }

  /**
   * Crashed tasks of this service, `TaskCrashes` (unit Count), published by the run-outcome handler when
   * `slackNotifications` is set (without it, the metric has no data): one per task stopped out of memory, by a
   * non-zero exit, by failed health checks or failing to start, never by a scale-in, a deployment or a user. Dimensions
   * `ClusterName`, `ServiceName`, and with `reason` also `Reason` (`OutOfMemory`, `ExitCode`, `HealthCheck`,
   * `FailedToStart`).
   *
   * @param reason one reason only; default: all crashes
   * @default statistic Sum, period 1 minute
   */
  public metricTaskCrashes(reason?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.taskMetrics.namespace,
      metricName: 'TaskCrashes',
      statistic: 'Sum',
      period: Duration.minutes(1),
      unit: cloudwatch.Unit.COUNT,
      label: reason,
      ...props,
      dimensionsMap: {
        ClusterName: this.cluster.clusterName, ServiceName: this.serviceName, ...reason ? { Reason: reason } : {}, ...props?.dimensionsMap,
      },
    });
  }

  /**
   * Step scaling on another high-resolution metric (for example requests per target from the app, or a queue's
   * depth): a scale-out alarm at `scaleOutPeriod` (10 s by default) and, with `scaleInSteps`, a slower scale-in
   * alarm. Missing data never scales (treated as not breaching). Steps are checked as for the CPU steps, without
   * the 0–100 range.
   *
   * @param id construct id of the policies (unique within this construct)
   * @throws if the steps overlap, leave gaps or run the wrong way, or a period is not one an alarm can have
   */
  public scaleOnHighResolutionMetric(id: string, options: HighResolutionStepScalingOptions): HighResolutionStepScaling {
    return this.stepScaling(id, options, false);
  }

  /** This service as a row of a {@link FleetDashboard}: its metrics, size, scaling alarms and alarms. */
  public get fleetMember(): FleetMember {
    return {
      kind: FleetMemberKind.SERVICE,
      name: this.serviceName,
      serviceName: this.serviceName,
      taskMetrics: this.taskMetrics,
      clusterName: this.cluster.clusterName,
      cpu: this.taskDefinition.cpu,
      memoryLimitMiB: this.taskDefinition.memoryMiB,
      scalingAlarms: [this.cpuScaling.scaleOutAlarm, ...this.cpuScaling.scaleInAlarm ? [this.cpuScaling.scaleInAlarm] : []],
      alarms: [...this.alarms.alarms, ...this.incidents?.alarms ?? []],
      // With slackNotifications: the crashes graph in the service's row, and the handler's own alarms (a broken handler
      // tells nothing) at the top of the alarm widget.
      taskCrashes: this.incidents ? this.metricTaskCrashes() : undefined,
      monitoringAlarms: this.incidents?.handler.alarms,
    };
  }

  private stepScaling(id: string, o: HighResolutionStepScalingOptions, percent: boolean): HighResolutionStepScaling {
    const names = { out: 'scaleOutSteps', in: 'scaleInSteps', outPeriod: 'scaleOutPeriod', inPeriod: 'scaleInPeriod' };
    if (!o.metric) throw new Error('metric is required');
    validateScaleOutSteps(o.scaleOutSteps, names.out, percent);
    const outPeriod = o.scaleOutPeriod ?? DEFAULT_SCALE_OUT_PERIOD;
    const outEvaluations = o.scaleOutEvaluationPeriods ?? DEFAULT_SCALE_OUT_EVALUATION_PERIODS;
    validateAlarmPeriod(outPeriod, outEvaluations, names.outPeriod, names.outPeriod.replace('Period', 'EvaluationPeriods'));
    const outType = o.scaleOutAdjustmentType ?? appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY;
    const scaleOutPolicy = new appscaling.StepScalingPolicy(this, `${id}ScaleOut`, {
      scalingTarget: this.scalableTaskCount,
      metric: withPeriod(o.metric, outPeriod),
      scalingSteps: scaleOutIntervals(o.scaleOutSteps),
      adjustmentType: outType,
      minAdjustmentMagnitude: outType === appscaling.AdjustmentType.PERCENT_CHANGE_IN_CAPACITY ? 1 : undefined,
      cooldown: o.scaleOutCooldown ?? DEFAULT_SCALE_OUT_COOLDOWN,
      evaluationPeriods: outEvaluations,
      datapointsToAlarm: outEvaluations,
    });
    const scaleOutAlarm = scaleOutPolicy.upperAlarm!;
    scalingAlarmSettings(scaleOutAlarm, `Scale-out alarm of ${this.serviceName}: starts the step scaling policy ${id}ScaleOut. For the autoscaler, not for people.`);

    let scaleInPolicy: appscaling.StepScalingPolicy | undefined;
    if (o.scaleInSteps) {
      validateScaleInSteps(o.scaleInSteps, names.in, percent);
      const inPeriod = o.scaleInPeriod ?? DEFAULT_SCALE_IN_PERIOD;
      const inEvaluations = o.scaleInEvaluationPeriods ?? DEFAULT_SCALE_IN_EVALUATION_PERIODS;
      validateAlarmPeriod(inPeriod, inEvaluations, names.inPeriod, names.inPeriod.replace('Period', 'EvaluationPeriods'));
      const threshold = o.scaleInSteps[0].upper!;
      const outThreshold = o.scaleOutSteps[0].lower!;
      if (threshold >= outThreshold) {
        throw new Error(`${names.in} must start below ${names.out}: the scale-in threshold (${threshold}) must be less than the scale-out threshold (${outThreshold}), or the two fight`);
      }
      scaleInPolicy = new appscaling.StepScalingPolicy(this, `${id}ScaleIn`, {
        scalingTarget: this.scalableTaskCount,
        metric: withPeriod(o.metric, inPeriod),
        scalingSteps: scaleInIntervals(o.scaleInSteps),
        adjustmentType: o.scaleInAdjustmentType ?? appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown: o.scaleInCooldown ?? DEFAULT_SCALE_IN_COOLDOWN,
        evaluationPeriods: inEvaluations,
        datapointsToAlarm: inEvaluations,
      });
      scalingAlarmSettings(scaleInPolicy.lowerAlarm!, `Scale-in alarm of ${this.serviceName}: starts the step scaling policy ${id}ScaleIn. For the autoscaler, not for people.`);
    }
    return { scaleOutPolicy, scaleOutAlarm, scaleInPolicy, scaleInAlarm: scaleInPolicy?.lowerAlarm };
  }

  /**
   * ECS's native 20 s CPU target tracking. aws-cdk-lib 2.258.0 has neither the predefined metric type nor the
   * service's `MonitoringConfiguration`, so both are set through the CloudFormation properties.
   */
  private addNativeTargetTracking(targetPercent: number): void {
    const policy = new appscaling.TargetTrackingScalingPolicy(this, 'NativeCpuTargetTracking', {
      scalingTarget: this.scalableTaskCount,
      // Replaced below by the high-resolution type, which aws-cdk-lib's PredefinedMetric enum lacks.
      predefinedMetric: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
      targetValue: targetPercent,
      disableScaleIn: true,
    });
    const cfnPolicy = policy.node.defaultChild as appscaling.CfnScalingPolicy;
    cfnPolicy.addPropertyOverride('TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType',
      'ECSServiceAverageCPUUtilizationHighResolution');
    (this.service.node.defaultChild as ecs.CfnService).addPropertyOverride('MonitoringConfiguration', {
      MetricConfigurations: [{ MetricNames: ['CPUUtilization'], ResolutionSeconds: 20 }],
    });
  }

  private acknowledgeNagFindings(publicLoadBalancer: boolean): void {
    if (publicLoadBalancer) {
      Validations.of(this.loadBalancer).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: 'An internet-facing load balancer of a web service accepts its listener port from anywhere; the tasks accept only the load balancer.',
      });
    }
  }
}

/**
 * `StepScalingPolicy` leaves its alarms' treatMissingData unset ("missing": INSUFFICIENT_DATA while the agent sends
 * nothing) and describes them generically: no data never scales, and the description says what the alarm is for.
 */
function scalingAlarmSettings(alarm: cloudwatch.Alarm, description: string): void {
  const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm;
  cfn.treatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING;
  cfn.alarmDescription = description;
}
