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

/** Default time at the ceiling before it is told: the service at `maxCapacity` with its scale-out alarm in ALARM. */
export const DEFAULT_SCALED_TO_CEILING_DURATION = Duration.minutes(5);

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
  /** The scale-out alarm: its state changes (ALARM and back) tell the handler when the service may be at its ceiling. */
  readonly scaleOutAlarm: cloudwatch.Alarm;
  /** @default DEFAULT_SCALED_TO_CEILING_DURATION */
  readonly scaledToCeilingDuration?: Duration;
  /** @default - no TaskCrashes alarm (created when given and not `enabled: false`) */
  readonly taskCrashesAlarm?: AlarmOverride;
}

/**
 * The incidents of a service, told in Slack: one EventBridge rule on the default bus that sends the service's task
 * stops (`group: service:<name>`, `lastStatus` STOPPED, in its cluster), its "ECS Deployment State Change" and
 * "ECS Service Action" events (`resources` = the service ARN), and the state changes of its scale-out alarm to the
 * stack's {@link RunOutcomeHandler}, which judges them, keeps the crash windows and the ceiling watch in its table, and
 * posts. Per service: the rule and its Lambda permission; the `TaskCrashes` alarm only when asked for. Internal to
 * {@link FastScalingService}.
 */
export class ServiceIncidents extends Construct {
  /** The rule (one per service). */
  public readonly rule: events.Rule;

  /** The handler. */
  public readonly handler: RunOutcomeHandler;

  /** `TaskCrashes` Sum ≥ threshold in a period (only when `alarmOverrides.taskCrashes` asks for it). */
  public readonly taskCrashesAlarm?: cloudwatch.Alarm;

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
    const windowSeconds = checkedMinutes(props.incidentWindow ?? DEFAULT_INCIDENT_WINDOW, 'incidentWindow');
    const ceilingSeconds = checkedMinutes(props.scaledToCeilingDuration ?? DEFAULT_SCALED_TO_CEILING_DURATION, 'scaledToCeilingDuration');
    this.namespace = props.taskMetrics.namespace;
    this.dimensions = { ClusterName: props.cluster.clusterName, ServiceName: props.serviceName };
    this.handler = props.handler ?? RunOutcomeHandler.of(this);
    this.handler.grantService(this.namespace, props.logGroup, slack, props.service.serviceArn);

    // Opt-in: the Slack messages already tell a crash loop (the first crash at once, one summary per window), and a
    // service with Slack adds only its rule and permission. Asked for, it pages through the alarm actions.
    const crashOverride = props.taskCrashesAlarm;
    const factory = new AlarmFactory(props);
    this.taskCrashesAlarm = crashOverride === undefined ? undefined : factory.create(this, {
      id: 'TaskCrashesAlarm',
      overrideName: 'alarmOverrides.taskCrashes',
      // FILL: every period a real datapoint (0 without crashes). On the raw metric, once the newest period is empty
      // CloudWatch judges by the most recent real datapoint, an older period still holding the loop's crashes: after a
      // loop the alarm went OK, ALARM, OK again (test/service/alarm-timelines.test.ts, evaluator with sliding periods).
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(crashes, 0)',
        usingMetrics: { crashes: this.metricTaskCrashes({ period: Duration.minutes(5) }) },
        label: 'TaskCrashes (0 without crashes)',
        period: Duration.minutes(5),
      }),
      threshold: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      checkThreshold: (t) => (t >= 1 ? undefined : 'must be at least 1 (a count of crashed tasks)'),
      description: (t) => `${t} or more tasks of ${props.serviceName} crashed (out of memory, non-zero exit, failed health checks or failed ` +
        'to start) in 5 minutes: a crash loop. The Slack channel has the first crash and the summary; the dashboard has TaskCrashes by reason.',
    }, crashOverride);
    this.alarms = this.taskCrashesAlarm ? [this.taskCrashesAlarm] : [];

    const clusterArn = props.cluster.clusterArn;
    this.rule = new events.Rule(this, 'Events', {
      description: `Stopped tasks, deployments, service actions and scale-out alarm states of ${props.serviceName}: told in Slack by the cdk-fargate-monitor run-outcome handler`,
      eventPattern: { source: ['aws.ecs'] }, // replaced below: aws-cdk-lib's EventPattern has no `$or`
    });
    (this.rule.node.defaultChild as events.CfnRule).addPropertyOverride('EventPattern', serviceEventPattern(
      clusterArn, props.serviceName, props.service.serviceArn, props.scaleOutAlarm.alarmArn));
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
      ceilingSeconds,
      scaleOutThreshold: (props.scaleOutAlarm.node.defaultChild as cloudwatch.CfnAlarm).threshold,
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

/** Seconds of a duration from 1 minute to 1 day; throws naming `prop`. */
function checkedMinutes(d: Duration, prop: string): number {
  const seconds = d.toSeconds();
  if (!Token.isUnresolved(seconds) && !(seconds >= 60 && seconds <= 86_400)) {
    throw new Error(`${prop} must be from 1 minute to 1 day, got ${d.toHumanString()}`);
  }
  return seconds;
}

/**
 * The rule's pattern: the service's STOPPED tasks, its deployment and service-action events, and every state change
 * of its scale-out alarm (EventBridge `$or`, each branch with its own `detail-type`). The handler keeps the alarm's
 * state from these (newest state timestamp wins), so ALARM and its end both come.
 */
export function serviceEventPattern(clusterArn: string, serviceName: string, serviceArn: string, scaleOutAlarmArn: string): object {
  return {
    source: ['aws.ecs', 'aws.cloudwatch'],
    $or: [
      { 'detail-type': ['ECS Task State Change'], 'detail': { clusterArn: [clusterArn], group: [`service:${serviceName}`], lastStatus: ['STOPPED'] } },
      { 'detail-type': ['ECS Deployment State Change', 'ECS Service Action'], 'resources': [serviceArn] },
      { 'detail-type': ['CloudWatch Alarm State Change'], 'resources': [scaleOutAlarmArn] },
    ],
  };
}
