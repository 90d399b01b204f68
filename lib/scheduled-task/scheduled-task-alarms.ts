import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TaskRunEvents } from './task-run-events';
import { TaskMetrics } from '../agent/task-metrics';

/**
 * Thresholds of the alarms of a scheduled task.
 */
export interface ScheduledTaskAlarmOptions {
  /**
   * Memory use, percent of the limit, at which the out-of-memory warning fires. Must be > 0 and ≤ 100.
   *
   * @default 90
   */
  readonly memoryThresholdPercent?: number;

  /**
   * Longest a run may take. Must be at least 1 minute.
   *
   * @default Duration.hours(1)
   */
  readonly maxRunDuration?: Duration;

  /**
   * Time without any completed run after which the missed-run alarm fires. A whole number of minutes up to 1 day,
   * or a whole number of hours up to 7 days (the CloudWatch evaluation limits). Should exceed the schedule
   * interval plus the longest run.
   *
   * @default - for MonitoredScheduledTask: twice the interval of a `rate()` schedule (at least 5 minutes), else
   * 25 hours; for ScheduledTaskAlarms alone: 25 hours
   */
  readonly missedRunWindow?: Duration;
}

/**
 * Properties of {@link ScheduledTaskAlarms}.
 */
export interface ScheduledTaskAlarmsProps extends ScheduledTaskAlarmOptions {
  /** The agent's metrics for the task. */
  readonly taskMetrics: TaskMetrics;

  /** Run counts from ECS task state change events. */
  readonly runEvents: TaskRunEvents;

  /** Dead-letter queue of the schedule: a message there is a run EventBridge Scheduler could not start. */
  readonly deadLetterQueue: sqs.IQueue;

  /**
   * Container whose `MemoryUtilization` the out-of-memory warning watches (use the app container when it has its
   * own hard memory limit, since that is where it would be killed).
   *
   * @default - the task-level `MemoryUtilization`, against the task's memory
   */
  readonly memoryContainerName?: string;
}

/**
 * The alarms of a scheduled task: out of memory soon, failed run, run too long, run not started, run missed.
 *
 * The memory and duration alarms are high-resolution alarms (period 30 s) on the agent's 1–10 s metrics; missing
 * data is not breaching (between runs there is none). The failed-run, schedule-failed and missed-run alarms do not
 * depend on the agent, so they also fire for a task that never started.
 *
 * @throws if `memoryThresholdPercent` is not in (0, 100], `maxRunDuration` is under 1 minute, or
 * `missedRunWindow` is not a whole number of minutes (≤ 1 day) or hours (≤ 7 days)
 */
export class ScheduledTaskAlarms extends Construct {
  /** Memory near the limit, before the out-of-memory kill: `MemoryUtilization` Maximum ≥ threshold in a 30 s period. */
  public readonly memoryAlarm: cloudwatch.Alarm;

  /** A run failed: failed to start, a container exited non-zero, or was killed out of memory. */
  public readonly failedRunAlarm: cloudwatch.Alarm;

  /** A run is taking longer than `maxRunDuration` (fires while it still runs). */
  public readonly longRunAlarm: cloudwatch.Alarm;

  /** EventBridge Scheduler could not start a run after its retries (message in the dead-letter queue). */
  public readonly scheduleFailedAlarm: cloudwatch.Alarm;

  /** No run ended within `missedRunWindow`. */
  public readonly missedRunAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ScheduledTaskAlarmsProps) {
    super(scope, id);
    const threshold = props.memoryThresholdPercent ?? 90;
    if (!Token.isUnresolved(threshold) && !(threshold > 0 && threshold <= 100)) {
      throw new Error(`memoryThresholdPercent must be > 0 and ≤ 100 (percent of the memory limit), got ${threshold}`);
    }
    const maxRun = props.maxRunDuration ?? Duration.hours(1);
    if (!maxRun.isUnresolved() && maxRun.toSeconds() < 60) {
      throw new Error(`maxRunDuration must be at least 1 minute, got ${maxRun.toHumanString()}`);
    }
    const window = missedRunEvaluation(props.missedRunWindow ?? Duration.hours(25));

    const memoryMetric = props.taskMetrics.metricMemoryUtilization(props.memoryContainerName, {
      period: Duration.seconds(30),
    });
    this.memoryAlarm = memoryMetric.createAlarm(this, 'MemoryAlarm', {
      alarmDescription:
        `Memory use reached ${threshold}% of the ${props.memoryContainerName ? `container "${props.memoryContainerName}"` : 'task'}` +
        ' limit: the task is close to being killed out of memory (OutOfMemoryError). Check the dashboard, then raise memory or fix the leak.',
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.failedRunAlarm = props.runEvents.metricFailedRuns().createAlarm(this, 'FailedRunAlarm', {
      alarmDescription:
        'A run failed: the task failed to start, a container exited with a non-zero code, or was killed out of memory. ' +
        'The ECS console shows the stopped task with its stoppedReason; the agent log has its REPORT line.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.longRunAlarm = props.taskMetrics.metricRunDuration({ period: Duration.seconds(30) }).createAlarm(this, 'LongRunAlarm', {
      alarmDescription: `A run has lasted longer than ${maxRun.toHumanString()} and is still running.`,
      threshold: maxRun.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.scheduleFailedAlarm = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: Duration.minutes(1),
    }).createAlarm(this, 'ScheduleFailedAlarm', {
      alarmDescription:
        'EventBridge Scheduler could not start a run after its retries (for example no Fargate capacity, throttling, ' +
        'or missing permissions): the failed invocation is in the dead-letter queue. Read it, then purge the queue.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.missedRunAlarm = props.runEvents.metricRuns({ period: window.period }).createAlarm(this, 'MissedRunAlarm', {
      alarmDescription:
        `No run of this task ended in the last ${window.human}: the schedule may be disabled, failing to start tasks, ` +
        'or a run may be stuck. Right after the first deployment it stays in alarm until the first run ends.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: window.evaluationPeriods,
      datapointsToAlarm: window.evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }

  /** Every alarm of the task, for adding actions (`alarm.addAlarmAction(...)`) in one loop. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.memoryAlarm, this.failedRunAlarm, this.longRunAlarm, this.scheduleFailedAlarm, this.missedRunAlarm];
  }
}

/**
 * The window as a single period when it fits in one day, else as hourly periods that must all be empty
 * (CloudWatch: period × evaluation periods ≤ 1 day below 1-hour periods, ≤ 7 days from 1 hour).
 */
function missedRunEvaluation(window: Duration): { period: Duration; evaluationPeriods: number; human: string } {
  if (window.isUnresolved()) throw new Error('missedRunWindow must not be a token');
  const seconds = window.toSeconds();
  const human = window.toHumanString();
  if (seconds < 300 || seconds % 60 !== 0) {
    throw new Error(`missedRunWindow must be a whole number of minutes, at least 5, got ${human}`);
  }
  if (seconds <= 86_400) return { period: window, evaluationPeriods: 1, human };
  if (seconds % 3600 !== 0 || seconds > 7 * 86_400) {
    throw new Error(`missedRunWindow above 1 day must be a whole number of hours up to 7 days, got ${human}`);
  }
  return { period: Duration.hours(1), evaluationPeriods: seconds / 3600, human };
}
