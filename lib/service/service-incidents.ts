import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';
import { TaskMetrics } from '../agent/task-metrics';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { slackWebhooks } from '../notifier/slack-webhooks';
import { AlarmFactory } from '../shared/alarm-factory';
import { AlarmActionOptions, AlarmOverride } from '../shared/alarm-override';

/** Default crash window: the first crash posts at once, later ones within it are summarised once. */
export const DEFAULT_INCIDENT_WINDOW = Duration.minutes(10);

/**
 * Properties of {@link ServiceIncidents}. Internal (not exported from the package).
 */
export interface ServiceIncidentsProps extends AlarmActionOptions {
  readonly cluster: ecs.ICluster;
  readonly service: ecs.FargateService;
  readonly serviceName: string;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly appContainerName: string;
  readonly taskMetrics: TaskMetrics;
  readonly logGroup: logs.ILogGroup;
  readonly slackNotifications: SlackNotificationOptions;
  /** @default - the stack's, `RunOutcomeHandler.of(this)` */
  readonly handler?: RunOutcomeHandler;
  /** @default DEFAULT_INCIDENT_WINDOW */
  readonly incidentWindow?: Duration;
  readonly maxCapacity: number;
  /** The scale-out alarm whose threshold the ceiling alarm uses. */
  readonly scaleOutAlarm: cloudwatch.Alarm;
  /** @default - defaults */
  readonly taskCrashesAlarm?: AlarmOverride;
  /** @default - defaults */
  readonly scaledToCeilingAlarm?: AlarmOverride;
}

/**
 * The incidents of a service, told in Slack: one EventBridge rule on the default bus that sends the service's task
 * stops (`group: service:<name>`, `lastStatus` STOPPED, in its cluster), its "ECS Deployment State Change" and
 * "ECS Service Action" events (`resources` = the service ARN), and the state changes of its ceiling alarm to the
 * stack's {@link RunOutcomeHandler}; the `TaskCrashes` alarm; and the ceiling alarm (the service at `maxCapacity`
 * while its CPU stays over the scale-out threshold). Internal to {@link FastScalingService}.
 */
export class ServiceIncidents extends Construct {
  /** The rule (one per service). */
  public readonly rule: events.Rule;

  /** The handler. */
  public readonly handler: RunOutcomeHandler;

  /** `TaskCrashes` Sum ≥ threshold in a period. */
  public readonly taskCrashesAlarm?: cloudwatch.Alarm;

  /** At `maxCapacity` with CPU over the scale-out threshold for the whole evaluation (default 5 × 1 minute). */
  public readonly scaledToCeilingAlarm?: cloudwatch.Alarm;

  /** The created alarms. */
  public readonly alarms: cloudwatch.Alarm[];

  private readonly namespace: string;
  private readonly dimensions: { [name: string]: string };

  constructor(scope: Construct, id: string, props: ServiceIncidentsProps) {
    super(scope, id);
    const slack = props.slackNotifications;
    const webhooks = slackWebhooks(slack);
    const headroom = slack.rightSizeHeadroomPercent ?? 20;
    if (!Token.isUnresolved(headroom) && !(headroom >= 0 && headroom <= 200)) {
      throw new Error(`slackNotifications.rightSizeHeadroomPercent must be between 0 and 200 (percent), got ${headroom}`);
    }
    const window = props.incidentWindow ?? DEFAULT_INCIDENT_WINDOW;
    const windowSeconds = window.toSeconds();
    if (!Token.isUnresolved(windowSeconds) && !(windowSeconds >= 60 && windowSeconds <= 86_400)) {
      throw new Error(`incidentWindow must be from 1 minute to 1 day, got ${window.toHumanString()}`);
    }
    this.namespace = props.taskMetrics.namespace;
    this.dimensions = { ClusterName: props.cluster.clusterName, ServiceName: props.serviceName };
    this.handler = props.handler ?? RunOutcomeHandler.of(this);
    this.handler.grantService(this.namespace, props.logGroup, slack);

    const factory = new AlarmFactory(props);
    this.taskCrashesAlarm = factory.create(this, {
      id: 'TaskCrashesAlarm',
      overrideName: 'alarmOverrides.taskCrashes',
      metric: this.metricTaskCrashes({ period: Duration.minutes(5) }),
      threshold: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      checkThreshold: (t) => (t >= 1 ? undefined : 'must be at least 1 (a count of crashed tasks)'),
      description: (t) => `${t} or more tasks of ${props.serviceName} crashed (out of memory, non-zero exit, failed health checks or failed ` +
        'to start) in 5 minutes: a crash loop. The Slack channel has the first crash and the summary; the dashboard has TaskCrashes by reason.',
    }, props.taskCrashesAlarm);

    // The ceiling: every minute of the evaluation the service's desired count (Container Insights) was at maxCapacity
    // and the agent's CPU (the scale-out alarm's metric, at 1 minute) at or over the scale-out threshold. One standard
    // alarm: a CloudWatch alarm cannot say "another alarm stayed in ALARM for N minutes" without one.
    const threshold = (props.scaleOutAlarm.node.defaultChild as cloudwatch.CfnAlarm).threshold;
    const minute = Duration.minutes(1);
    this.scaledToCeilingAlarm = factory.create(this, {
      id: 'ScaledToCeilingAlarm',
      overrideName: 'alarmOverrides.scaledToCeiling',
      metric: new cloudwatch.MathExpression({
        expression: `IF(FILL(desired, 0) >= ${props.maxCapacity} AND FILL(cpu, 0) >= ${threshold}, 1, 0)`,
        usingMetrics: {
          desired: new cloudwatch.Metric({
            namespace: 'ECS/ContainerInsights', metricName: 'DesiredTaskCount', dimensionsMap: this.dimensions, statistic: 'Maximum', period: minute,
          }),
          cpu: props.taskMetrics.metricCpuUtilization(undefined, { statistic: 'Average', period: minute }),
        },
        label: 'at maxCapacity and over the scale-out threshold',
        period: minute,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      fixed: { threshold: 'the expression is 1 or 0; set the time with evaluationPeriods and period' },
      description: () => `${props.serviceName} has run at maxCapacity (${props.maxCapacity} tasks) with CPU at or over the scale-out threshold ` +
        `(${threshold} %) for the whole evaluation: the load is bigger than the service may grow. Raise maxCapacity or make each task do more.`,
    }, props.scaledToCeilingAlarm);
    this.alarms = [this.taskCrashesAlarm, this.scaledToCeilingAlarm].filter((a): a is cloudwatch.Alarm => a !== undefined);

    const clusterArn = props.cluster.clusterArn;
    this.rule = new events.Rule(this, 'Events', {
      description: `Stopped tasks, deployments, service actions and the ceiling alarm of ${props.serviceName}: told in Slack by the cdk-fargate-monitor run-outcome handler`,
      eventPattern: { source: ['aws.ecs'] }, // replaced below: aws-cdk-lib's EventPattern has no `$or`
    });
    (this.rule.node.defaultChild as events.CfnRule).addPropertyOverride('EventPattern', serviceEventPattern(
      clusterArn, props.serviceName, props.service.serviceArn, this.scaledToCeilingAlarm?.alarmArn));
    const config = {
      appContainer: props.appContainerName,
      namespace: this.namespace,
      clusterName: props.cluster.clusterName,
      family: props.taskDefinition.family,
      serviceName: props.serviceName,
      logGroupName: props.logGroup.logGroupName,
      agentStreamPrefix: `agent/${AGENT_CONTAINER_NAME}`,
      cpu: props.taskDefinition.cpu,
      memoryMiB: props.taskDefinition.memoryMiB,
      headroomPercent: headroom,
      successWebhookSecretArn: webhooks.success.secretArn,
      failureWebhookSecretArn: webhooks.failure.secretArn,
      notifySuccess: slack.notifySuccess ?? true,
      windowSeconds,
      maxCapacity: props.maxCapacity,
    };
    this.rule.addTarget(new targets.LambdaFunction(this.handler.function, {
      event: events.RuleTargetInput.fromObject({
        serviceEvent: {
          id: events.EventField.eventId,
          detailType: events.EventField.detailType,
          source: events.EventField.source,
          time: events.EventField.time,
          resources: events.EventField.fromPath('$.resources'),
          detail: events.EventField.fromPath('$.detail'),
        },
        serviceConfig: config,
      }),
    }));
  }

  /** All of the service's `TaskCrashes` (FastScalingService.metricTaskCrashes documents it). */
  private metricTaskCrashes(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName: 'TaskCrashes',
      statistic: 'Sum',
      period: Duration.minutes(1),
      unit: cloudwatch.Unit.COUNT,
      ...props,
      dimensionsMap: this.dimensions,
    });
  }
}

/**
 * The rule's pattern: the service's STOPPED tasks, its deployment and service-action events, and its ceiling
 * alarm's state changes (EventBridge `$or`, each branch with its own `detail-type`).
 */
export function serviceEventPattern(clusterArn: string, serviceName: string, serviceArn: string, ceilingAlarmArn?: string): object {
  return {
    source: ['aws.ecs', ...ceilingAlarmArn ? ['aws.cloudwatch'] : []],
    $or: [
      { 'detail-type': ['ECS Task State Change'], 'detail': { clusterArn: [clusterArn], group: [`service:${serviceName}`], lastStatus: ['STOPPED'] } },
      { 'detail-type': ['ECS Deployment State Change', 'ECS Service Action'], 'resources': [serviceArn] },
      ...ceilingAlarmArn ? [{ 'detail-type': ['CloudWatch Alarm State Change'], 'resources': [ceilingAlarmArn] }] : [],
    ],
  };
}
