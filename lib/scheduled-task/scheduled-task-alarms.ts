import { Annotations, Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deriveMissedRunWindow, MissedRunEvaluation, missedRunAlarmProps } from './missed-run-window';
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
   * Time without any ended run after which the missed-run alarm fires. A whole number of minutes (at least 5) up to
   * 1 day, or a whole number of hours up to 7 days (the CloudWatch evaluation limits). Should exceed the longest gap
   * between two scheduled runs plus the longest run.
   *
   * @default - derived from `schedule`: the longest gap between consecutive fire times (for `cron()`, enumerated
   * over two years in the schedule's time zone, daylight-saving changes included) plus `maxRunDuration` plus the
   * schedule's flexible time window plus a 10-minute start margin, rounded up to whole minutes (≤ 1 day) or hours. When that exceeds 7 days, or the
   * schedule is a one-time `at()`, or a `cron()` with a year restriction or a feature the enumerator does not
   * support, no missed-run alarm is created and a synth warning says why.
   */
  readonly missedRunWindow?: Duration;

  /**
   * Create the out-of-memory warning.
   *
   * @default true
   */
  readonly enableMemoryAlarm?: boolean;

  /**
   * Create the failed-run alarm.
   *
   * @default true
   */
  readonly enableFailedRunAlarm?: boolean;

  /**
   * Create the long-run alarm.
   *
   * @default true
   */
  readonly enableLongRunAlarm?: boolean;

  /**
   * Create the schedule-failed alarm (a new message in the schedule's dead-letter queue).
   *
   * @default true
   */
  readonly enableScheduleFailedAlarm?: boolean;

  /**
   * Create the missed-run alarm (when a window can be derived or is given; see `missedRunWindow`).
   *
   * @default true
   */
  readonly enableMissedRunAlarm?: boolean;
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
   * The schedule the task runs on, from which the missed-run window is derived.
   *
   * @default - none: without `missedRunWindow` either, no missed-run alarm is created (with a synth warning)
   */
  readonly schedule?: scheduler.ScheduleExpression;

  /**
   * The schedule's flexible time window: a run may start up to its `maxWindow` after the scheduled time, so the
   * derived missed-run window grows by that much.
   *
   * @default - no flexible time window
   */
  readonly scheduleTimeWindow?: scheduler.TimeWindow;

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
 * The memory alarm is a high-resolution alarm (period 30 s) on the agent's 1–10 s metrics; the long-run alarm uses
 * one-minute periods (its threshold is at least a minute, so high resolution buys nothing). Missing data is not
 * breaching (between runs there is none). The failed-run and missed-run alarms watch `FailedRuns` and `Runs`, which
 * the stack's run-outcome handler publishes for every stopped task (see {@link TaskRunEvents}): they do not depend
 * on the agent, so they also fire for a task that never started.
 *
 * The schedule-failed alarm fires on each new message in the schedule's dead-letter queue (`NumberOfMessagesSent`
 * Sum ≥ 1 in 5 minutes), so it returns to OK by itself. EventBridge Scheduler sends an invocation there when the
 * RunTask call fails after its retries or `maxEventAge` (throttling, missing permissions, an invalid target). A task
 * that was started but then failed to start is not a Scheduler error: the failed-run alarm reports it (stop code
 * TaskFailedToStart). AWS does not document whether a RunTask answer with a `failures[]` entry (no capacity) counts
 * as a target error; if not, only the missed-run alarm notices the missing run.
 *
 * Each alarm can be switched off (`enable...Alarm: false`); `alarms` lists the created ones.
 *
 * @throws if `memoryThresholdPercent` is not in (0, 100], `maxRunDuration` is under 1 minute, or
 * `missedRunWindow` is not a whole number of minutes (5 minutes to 1 day) or hours (up to 7 days)
 */
export class ScheduledTaskAlarms extends Construct {
  /** Memory near the limit, before the out-of-memory kill: `MemoryUtilization` Maximum ≥ threshold in a 30 s period. */
  public readonly memoryAlarm?: cloudwatch.Alarm;

  /** A run failed: failed to start, the app exited non-zero or without an exit code, or was killed out of memory. */
  public readonly failedRunAlarm?: cloudwatch.Alarm;

  /** A run is taking longer than `maxRunDuration` (fires while it still runs). */
  public readonly longRunAlarm?: cloudwatch.Alarm;

  /** EventBridge Scheduler could not start a run after its retries (new message in the dead-letter queue). */
  public readonly scheduleFailedAlarm?: cloudwatch.Alarm;

  /** No run ended within the missed-run window. */
  public readonly missedRunAlarm?: cloudwatch.Alarm;

  /** The missed-run window in use, if there is a missed-run alarm. */
  public readonly missedRunWindow?: Duration;

  /** Every created alarm, for adding actions (`alarm.addAlarmAction(...)`) in one loop. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ScheduledTaskAlarmsProps) {
    super(scope, id);
    const threshold = props.memoryThresholdPercent ?? 90;
    if (!Token.isUnresolved(threshold) && !(threshold > 0 && threshold <= 100)) {
      throw new Error(`memoryThresholdPercent must be > 0 and ≤ 100 (percent of the memory limit), got ${threshold}`);
    }
    const maxRun = props.maxRunDuration ?? Duration.hours(1);
    if (maxRun.isUnresolved()) throw new Error('maxRunDuration must not be a token');
    if (maxRun.toSeconds() < 60) {
      throw new Error(`maxRunDuration must be at least 1 minute, got ${maxRun.toHumanString()}`);
    }
    const given = props.missedRunWindow !== undefined ? missedRunEvaluation(props.missedRunWindow) : undefined;
    const alarms: cloudwatch.Alarm[] = [];

    if (props.enableMemoryAlarm ?? true) {
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
      alarms.push(this.memoryAlarm);
    }

    if (props.enableFailedRunAlarm ?? true) {
      this.failedRunAlarm = props.runEvents.metricFailedRuns().createAlarm(this, 'FailedRunAlarm', {
        alarmDescription:
          'A run failed: the task failed to start, the app container exited with a non-zero code or none, or was killed out of ' +
          'memory (FailedRuns, published by the run-outcome handler). The ECS console shows the stopped task with its stoppedReason; ' +
          'the agent log has its REPORT line.',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarms.push(this.failedRunAlarm);
    }

    if (props.enableLongRunAlarm ?? true) {
      this.longRunAlarm = props.taskMetrics.metricRunDuration({ period: Duration.minutes(1) }).createAlarm(this, 'LongRunAlarm', {
        alarmDescription: `A run has lasted longer than ${maxRun.toHumanString()} and is still running.`,
        threshold: maxRun.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarms.push(this.longRunAlarm);
    }

    if (props.enableScheduleFailedAlarm ?? true) {
      this.scheduleFailedAlarm = props.deadLetterQueue.metricNumberOfMessagesSent({
        statistic: 'Sum',
        period: Duration.minutes(5),
      }).createAlarm(this, 'ScheduleFailedAlarm', {
        alarmDescription:
          'EventBridge Scheduler could not start a run after its retries (throttling, missing permissions, an invalid target): ' +
          'the failed invocation is in the dead-letter queue, with the error in its message attributes. ' +
          'A task that was started but failed to start is reported by the failed-run alarm instead.',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarms.push(this.scheduleFailedAlarm);
    }

    if (props.enableMissedRunAlarm ?? true) {
      let evaluation: MissedRunEvaluation | undefined = given;
      let derivedFrom = 'missedRunWindow';
      if (!evaluation) {
        if (!props.schedule) {
          Annotations.of(this).addWarningV2('cdk-fargate-monitor:noMissedRunWindow',
            'No missed-run alarm: give schedule or missedRunWindow to ScheduledTaskAlarms.');
        } else {
          const derived = deriveMissedRunWindow(props.schedule, maxRun, props.scheduleTimeWindow?.maxWindow);
          if ('reason' in derived) {
            Annotations.of(this).addWarningV2('cdk-fargate-monitor:noMissedRunWindow',
              `No missed-run alarm: ${derived.reason}. Set missedRunWindow (≤ 7 days) to have one, or enableMissedRunAlarm: false to silence this warning.`);
          } else {
            evaluation = derived.evaluation;
            derivedFrom = derived.derivedFrom;
          }
        }
      }
      if (evaluation) {
        this.missedRunWindow = evaluation.window;
        this.missedRunAlarm = new cloudwatch.Alarm(this, 'MissedRunAlarm', missedRunAlarmProps(props.runEvents.metricRuns(), evaluation, derivedFrom));
        alarms.push(this.missedRunAlarm);
      }
    }
    this.alarms = alarms;
  }
}

/**
 * A given window as a single period when it fits in one day, else as hourly periods that must all be empty
 * (CloudWatch: period × evaluation periods ≤ 1 day below 1-hour periods, ≤ 7 days from 1 hour).
 */
function missedRunEvaluation(window: Duration): MissedRunEvaluation {
  if (window.isUnresolved()) throw new Error('missedRunWindow must not be a token');
  const seconds = window.toSeconds();
  const human = window.toHumanString();
  if (seconds < 300 || seconds % 60 !== 0) {
    throw new Error(`missedRunWindow must be a whole number of minutes, at least 5, got ${human}`);
  }
  if (seconds <= 86_400) return { window, period: window, evaluationPeriods: 1 };
  if (seconds % 3600 !== 0 || seconds > 7 * 86_400) {
    throw new Error(`missedRunWindow above 1 day must be a whole number of hours up to 7 days, got ${human}`);
  }
  return { window, period: Duration.hours(1), evaluationPeriods: seconds / 3600 };
}
