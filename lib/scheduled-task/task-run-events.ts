import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/**
 * Properties of {@link TaskRunEvents}.
 */
export interface TaskRunEventsProps {
  /** Cluster the tasks run in. */
  readonly cluster: ecs.ICluster;

  /** Task definition whose runs are counted (matched on the task group `family:<family>`). */
  readonly taskDefinition: ecs.TaskDefinition;
}

/**
 * Counts the runs of a task definition family from ECS task state change events, with no Lambda and no log group.
 *
 * Two EventBridge rules on the default bus, without targets: `stoppedRule` matches every task of the family that
 * reached `lastStatus` STOPPED in the cluster; `failedRule` matches the stops that failed: `stopCode`
 * TaskFailedToStart, any container with a non-zero `exitCode`, or any container whose `reason` starts with
 * `OutOfMemoryError` (any case). EventBridge counts each rule's matches in `AWS/Events` `TriggeredRules`
 * (dimension `RuleName`, one-minute data), which is what {@link metricRuns} and {@link metricFailedRuns} return.
 *
 * Delivery is at least once, so a stop is rarely counted twice; alarms use "at least one", which duplicates
 * cannot change.
 */
export class TaskRunEvents extends Construct {
  /** Matches every stop of a task of the family in the cluster. */
  public readonly stoppedRule: events.Rule;

  /** Matches the stops that failed (failed to start, non-zero exit, out of memory). */
  public readonly failedRule: events.Rule;

  constructor(scope: Construct, id: string, props: TaskRunEventsProps) {
    super(scope, id);
    const stopped = {
      clusterArn: [props.cluster.clusterArn],
      group: [`family:${props.taskDefinition.family}`],
      lastStatus: ['STOPPED'],
    };
    this.stoppedRule = new events.Rule(this, 'Stopped', {
      description: `Every stopped task of family ${props.taskDefinition.family} (counted by AWS/Events TriggeredRules)`,
      eventPattern: { source: ['aws.ecs'], detailType: ['ECS Task State Change'], detail: stopped },
    });
    this.failedRule = new events.Rule(this, 'Failed', {
      description: `Failed tasks of family ${props.taskDefinition.family}: failed to start, non-zero exit, or out of memory`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          ...stopped,
          $or: [
            { stopCode: ['TaskFailedToStart'] },
            { containers: { exitCode: [{ 'anything-but': 0 }] } },
            { containers: { reason: [{ prefix: { 'equals-ignore-case': 'OutOfMemoryError' } }] } },
          ],
        },
      },
    });
  }

  /**
   * Number of runs that ended (any outcome): `AWS/Events` `TriggeredRules` of `stoppedRule`, unit Count.
   *
   * @default statistic Sum, period 1 minute
   */
  public metricRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return triggeredRules(this.stoppedRule, props);
  }

  /**
   * Number of runs that failed: `AWS/Events` `TriggeredRules` of `failedRule`, unit Count.
   *
   * @default statistic Sum, period 1 minute
   */
  public metricFailedRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return triggeredRules(this.failedRule, props);
  }
}

function triggeredRules(rule: events.Rule, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName: 'TriggeredRules',
    statistic: 'Sum',
    period: Duration.minutes(1),
    ...props,
    dimensionsMap: { RuleName: rule.ruleName, ...props?.dimensionsMap },
  });
}
