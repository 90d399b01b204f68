import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { TaskMetrics } from '../agent/task-metrics';
import { AlarmFactory } from '../shared/alarm-factory';
import { AlarmActionOptions, AlarmOverride } from '../shared/alarm-override';
import { memoryAlarmDefinition } from '../shared/memory-alarm';

/**
 * Per-alarm settings of a service's alarms for people (see {@link AlarmOverride}); each field's documentation gives
 * the alarm's defaults and the unit of its threshold. The scaling alarms are set by the scaling props.
 */
export interface ServiceAlarmOverrides {
  /**
   * The out-of-memory warning: the busiest task's `MemoryUtilization` Maximum (agent) ≥ threshold, percent of the
   * task's memory (> 0 and ≤ 100), in one 30 s period (high resolution). Missing data is not breaching.
   *
   * @default - threshold 90, period 30 s, 1 of 1
   */
  readonly memory?: AlarmOverride;

  /**
   * The error alarm: 5xx answers (by the targets or by the load balancer itself) ≥ threshold, percent of the
   * requests (> 0 and ≤ 100), per 1-minute period, in 2 of 3 periods. No requests is no error (missing data not
   * breaching).
   *
   * @default - threshold 5, period 1 minute, 2 of 3
   */
  readonly http5xx?: AlarmOverride;

  /**
   * The latency alarm: p99 target response time ≥ threshold, seconds (at least 0.001), in 3 of 3 one-minute
   * periods.
   *
   * @default - threshold 2, period 1 minute, 3 of 3
   */
  readonly responseTime?: AlarmOverride;

  /**
   * The crash-loop alarm, for paging (only with `slackNotifications`, whose handler publishes the metric): `TaskCrashes`
   * Sum ≥ threshold (count of crashed tasks, at least 1) in one 5-minute period, read through `FILL(…, 0)` (a period
   * without crashes is 0, so the alarm returns to OK once when a crash loop stops).
   * Created only when this override is given and does not say `enabled: false` (`{}` or `{ enabled: true }` for the
   * defaults): the Slack messages already tell a crash loop (the first crash at once, one summary per window), and
   * without it a service with Slack adds only its EventBridge rule and that rule's Lambda permission.
   *
   * @default - no alarm; when given: threshold 3, period 5 minutes, 1 of 1
   */
  readonly taskCrashes?: AlarmOverride;
}

/**
 * Settings of the alarms of a service.
 */
export interface ServiceAlarmOptions {
  /**
   * Per-alarm settings: switch an alarm off, change its threshold, periods or actions.
   *
   * @default - every alarm with its defaults and the construct's `alarmActions`/`okActions`
   */
  readonly alarmOverrides?: ServiceAlarmOverrides;
}

/**
 * Properties of {@link ServiceAlarms}.
 */
export interface ServiceAlarmsProps extends ServiceAlarmOptions, AlarmActionOptions {
  /** The agent's service-level metrics. */
  readonly taskMetrics: TaskMetrics;

  /** The service's load balancer. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;

  /** The service's target group. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
}

/**
 * The alarms of a load-balanced service, for people (the scaling alarms are separate):
 * memory near the limit (agent, 30 s high-resolution alarm), 5xx share, and p99 response time (ALB, 1 minute).
 * Missing data is not breaching (no requests is no error). Built by the library's one alarm factory:
 * `alarmOverrides` switches each off or changes its threshold, periods and actions.
 *
 * @throws if an override is invalid (the message names it)
 */
export class ServiceAlarms extends Construct {
  /** A task's memory near its limit: `MemoryUtilization` Maximum ≥ threshold in a 30 s period. */
  public readonly memoryAlarm?: cloudwatch.Alarm;

  /** 5xx answers (targets' and the load balancer's own) ≥ threshold percent of requests in 2 of 3 minutes. */
  public readonly http5xxAlarm?: cloudwatch.Alarm;

  /** p99 target response time ≥ threshold for 3 minutes. */
  public readonly responseTimeAlarm?: cloudwatch.Alarm;

  /** Every created alarm. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const o = props.alarmOverrides ?? {};
    const factory = new AlarmFactory(props);

    this.memoryAlarm = factory.create(this, memoryAlarmDefinition(props.taskMetrics, undefined, 'alarmOverrides.memory', (t) =>
      `A task of the service reached ${t}% of its memory: it is close to being killed out of memory. ` +
      'Check the dashboard, then raise memory or fix the leak.'), o.memory);

    const minute = { period: Duration.minutes(1), statistic: 'Sum' };
    this.http5xxAlarm = factory.create(this, {
      id: 'Http5xxAlarm',
      overrideName: 'alarmOverrides.http5xx',
      metric: new cloudwatch.MathExpression({
        expression: '100 * (FILL(t5xx, 0) + FILL(elb5xx, 0)) / MAX([requests, 1])',
        usingMetrics: {
          t5xx: props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, minute),
          elb5xx: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, minute),
          requests: props.loadBalancer.metrics.requestCount(minute),
        },
        label: '5xx, % of requests',
        period: Duration.minutes(1),
      }),
      threshold: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      checkThreshold: (t) => (t > 0 && t <= 100 ? undefined : 'must be > 0 and ≤ 100 (percent of requests)'),
      description: (t) => `${t}% or more of the requests got a 5xx answer (from the tasks or from the load balancer) in 2 of the last 3 minutes.`,
    }, o.http5xx);

    this.responseTimeAlarm = factory.create(this, {
      id: 'ResponseTimeAlarm',
      overrideName: 'alarmOverrides.responseTime',
      metric: props.targetGroup.metrics.targetResponseTime({ period: Duration.minutes(1), statistic: 'p99' }),
      threshold: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      checkThreshold: (t) => (t >= 0.001 ? undefined : 'must be at least 0.001 (seconds)'),
      description: (t) => `p99 response time of the tasks has been ${Duration.millis(Math.round(t * 1000)).toHumanString()} or more for 3 minutes.`,
    }, o.responseTime);

    this.alarms = [this.memoryAlarm, this.http5xxAlarm, this.responseTimeAlarm].filter((a): a is cloudwatch.Alarm => a !== undefined);
  }
}
