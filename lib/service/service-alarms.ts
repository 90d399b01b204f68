import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct } from 'constructs';
import { TaskMetrics } from '../agent/task-metrics';

/**
 * Thresholds of the alarms of a service.
 */
export interface ServiceAlarmOptions {
  /**
   * Memory use of the busiest task, percent of the task's memory, at which the out-of-memory warning fires.
   * Must be > 0 and ≤ 100.
   *
   * @default 90
   */
  readonly memoryThresholdPercent?: number;

  /**
   * Share of requests answered with a 5xx (by the targets or by the load balancer itself), percent, over one
   * minute, at which the error alarm fires (2 of 3 minutes). Must be > 0 and ≤ 100.
   *
   * @default 5
   */
  readonly http5xxThresholdPercent?: number;

  /**
   * p99 target response time at which the latency alarm fires (3 of 3 minutes). At least 1 millisecond.
   *
   * @default Duration.seconds(2)
   */
  readonly responseTimeThreshold?: Duration;
}

/**
 * Properties of {@link ServiceAlarms}.
 */
export interface ServiceAlarmsProps extends ServiceAlarmOptions {
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
 * Missing data is not breaching (no requests is no error).
 *
 * @throws if `memoryThresholdPercent` or `http5xxThresholdPercent` is not in (0, 100], or `responseTimeThreshold`
 * is under 1 millisecond
 */
export class ServiceAlarms extends Construct {
  /** A task's memory near its limit: `MemoryUtilization` Maximum ≥ threshold in a 30 s period. */
  public readonly memoryAlarm: cloudwatch.Alarm;

  /** 5xx answers (targets' and the load balancer's own) ≥ threshold percent of requests in 2 of 3 minutes. */
  public readonly http5xxAlarm: cloudwatch.Alarm;

  /** p99 target response time ≥ threshold for 3 minutes. */
  public readonly responseTimeAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    const memory = props.memoryThresholdPercent ?? 90;
    if (!Token.isUnresolved(memory) && !(memory > 0 && memory <= 100)) {
      throw new Error(`memoryThresholdPercent must be > 0 and ≤ 100 (percent of the memory limit), got ${memory}`);
    }
    const errors = props.http5xxThresholdPercent ?? 5;
    if (!Token.isUnresolved(errors) && !(errors > 0 && errors <= 100)) {
      throw new Error(`http5xxThresholdPercent must be > 0 and ≤ 100 (percent of requests), got ${errors}`);
    }
    const latency = props.responseTimeThreshold ?? Duration.seconds(2);
    if (!latency.isUnresolved() && latency.toMilliseconds() < 1) {
      throw new Error(`responseTimeThreshold must be at least 1 millisecond, got ${latency.toHumanString()}`);
    }

    this.memoryAlarm = props.taskMetrics.metricMemoryUtilization(undefined, { period: Duration.seconds(30) }).createAlarm(this, 'MemoryAlarm', {
      alarmDescription: `A task of the service reached ${memory}% of its memory: it is close to being killed out of memory. ` +
        'Check the dashboard, then raise memory or fix the leak.',
      threshold: memory,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const minute = { period: Duration.minutes(1), statistic: 'Sum' };
    const share = new cloudwatch.MathExpression({
      expression: '100 * (FILL(t5xx, 0) + FILL(elb5xx, 0)) / MAX([requests, 1])',
      usingMetrics: {
        t5xx: props.targetGroup.metrics.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, minute),
        elb5xx: props.loadBalancer.metrics.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, minute),
        requests: props.loadBalancer.metrics.requestCount(minute),
      },
      label: '5xx, % of requests',
      period: Duration.minutes(1),
    });
    this.http5xxAlarm = share.createAlarm(this, 'Http5xxAlarm', {
      alarmDescription: `${errors}% or more of the requests got a 5xx answer (from the tasks or from the load balancer) in 2 of the last 3 minutes.`,
      threshold: errors,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.responseTimeAlarm = props.targetGroup.metrics.targetResponseTime({ period: Duration.minutes(1), statistic: 'p99' })
      .createAlarm(this, 'ResponseTimeAlarm', {
        alarmDescription: `p99 response time of the tasks has been ${latency.toHumanString()} or more for 3 minutes.`,
        threshold: latency.toMilliseconds() / 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }

  /** Every alarm, for adding actions in one loop. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.memoryAlarm, this.http5xxAlarm, this.responseTimeAlarm];
  }
}
