import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deriveMissedRunWindow, MISSED_RUN_FIXED_FIELDS, MissedRunEvaluation, missedRunAlarmDefinition } from './missed-run-window';
import { TaskRunEvents } from './task-run-events';
import { TaskMetrics } from '../agent/task-metrics';
import { AlarmFactory, countAlarmDefinition, refuseFixedFields } from '../shared/alarm-factory';
import { AlarmActionOptions, AlarmOverride } from '../shared/alarm-override';
import { memoryAlarmDefinition } from '../shared/memory-alarm';

/**
 * Per-alarm settings of a scheduled task's alarms (see {@link AlarmOverride}); each field's documentation gives the
 * alarm's defaults and the unit of its threshold.
 */
export interface ScheduledTaskAlarmOverrides {
  /**
   * The out-of-memory warning: the agent's `MemoryUtilization` Maximum ≥ threshold, percent of the limit (> 0 and
   * ≤ 100), in one 30 s period (high resolution); the app container against its own limit when it has one, else the
   * task. Missing data is not breaching.
   *
   * @default - threshold 90, period 30 s, 1 of 1
   */
  readonly memory?: AlarmOverride;

  /**
   * The failed-run alarm: `FailedRuns` Sum ≥ threshold (count of failed runs, default 1) in one 1-minute period.
   * Missing data is not breaching.
   *
   * @default - threshold 1, period 1 minute, 1 of 1
   */
  readonly failedRun?: AlarmOverride;

  /**
   * The long-run alarm: the agent's `RunDuration` Maximum above `maxRunDuration` in a 1-minute period, while the
   * run goes on. Its threshold and period come from `maxRunDuration` (not settable here).
   *
   * @default - 1 of 1
   */
  readonly longRun?: AlarmOverride;

  /**
   * The schedule-failed alarm: `NumberOfMessagesSent` Sum of the schedule's dead-letter queue ≥ threshold (count of
   * runs EventBridge Scheduler could not start, default 1) in one 5-minute period.
   *
   * @default - threshold 1, period 5 minutes, 1 of 1
   */
  readonly scheduleFailed?: AlarmOverride;

  /**
   * The missed-run alarm: no run ended within `missedRunWindow`. Its threshold, period and evaluation come from the
   * window (not settable here); `enabled`, `alarmActions` and `okActions` are.
   *
   * @default - enabled when a window is given or can be derived from the schedule
   */
  readonly missedRun?: AlarmOverride;
}

/**
 * Settings of the alarms of a scheduled task.
 */
export interface ScheduledTaskAlarmOptions {
  /**
   * Longest a run may take: the long-run alarm fires once a run goes past it. Must be at least 1 minute.
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
   * schedule's flexible time window plus, for reliable runs, the time retries may add, plus a 10-minute start margin, rounded up to whole minutes (≤ 1 day) or hours. When that exceeds 7 days, or the
   * schedule is a one-time `at()`, or a `cron()` with a year restriction or a feature the enumerator does not
   * support, no missed-run alarm is created and a synth warning says why.
   */
  readonly missedRunWindow?: Duration;

  /**
   * Per-alarm settings: switch an alarm off, change its threshold, periods or actions.
   *
   * @default - every alarm with its defaults and the construct's `alarmActions`/`okActions`
   */
  readonly alarmOverrides?: ScheduledTaskAlarmOverrides;
}

/**
 * Properties of {@link ScheduledTaskAlarms}.
 */
export interface ScheduledTaskAlarmsProps extends ScheduledTaskAlarmOptions, AlarmActionOptions {
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
   * How much later than one attempt a run may end because it is retried (reliable runs: the extra attempts, each up to
   * `runTimeout` or `maxRunDuration`, plus the backoff between them): the derived missed-run window grows by that much,
   * so a run a retry repaired does not also page as missed.
   *
   * @default - no retries
   */
  readonly retryAllowance?: Duration;

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
 * Every alarm is built by the library's one alarm factory: `alarmOverrides` switches each off or changes its
 * threshold, periods and actions; `alarms` lists the created ones.
 *
 * @throws if `schedule` is not a valid EventBridge Scheduler expression (the message names it and the fix),
 * `maxRunDuration` is under 1 minute, `missedRunWindow` is not a whole number of minutes (5 minutes to
 * 1 day) or hours (up to 7 days), or an override is invalid (the message names it)
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

  /** Every created alarm. */
  public readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ScheduledTaskAlarmsProps) {
    super(scope, id);
    const maxRun = props.maxRunDuration ?? Duration.hours(1);
    if (maxRun.isUnresolved()) throw new Error('maxRunDuration must not be a token');
    if (maxRun.toSeconds() < 60) {
      throw new Error(`maxRunDuration must be at least 1 minute, got ${maxRun.toHumanString()}`);
    }
    const given = props.missedRunWindow !== undefined ? missedRunEvaluation(props.missedRunWindow) : undefined;
    const o = props.alarmOverrides ?? {};
    const factory = new AlarmFactory(props);

    const container = props.memoryContainerName;
    this.memoryAlarm = factory.create(this, memoryAlarmDefinition(props.taskMetrics, container, 'alarmOverrides.memory', (t) =>
      `Memory use reached ${t}% of the ${container ? `container "${container}"` : 'task'}` +
      ' limit: the task is close to being killed out of memory (OutOfMemoryError). Check the dashboard, then raise memory or fix the leak.'), o.memory);

    this.failedRunAlarm = factory.create(this, countAlarmDefinition('FailedRunAlarm', 'alarmOverrides.failedRun', props.runEvents.metricFailedRuns(),
      (t) => `${t === 1 ? 'A run' : `${t} or more runs`} failed: the task failed to start, the app container exited with a non-zero code or none, or was killed out of ` +
        'memory (FailedRuns, published by the run-outcome handler). The ECS console shows the stopped task with its stoppedReason; ' +
        'the agent log has its REPORT line.'), o.failedRun);

    this.longRunAlarm = factory.create(this, {
      id: 'LongRunAlarm',
      overrideName: 'alarmOverrides.longRun',
      metric: props.taskMetrics.metricRunDuration({ period: Duration.minutes(1) }),
      threshold: maxRun.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description: () => `A run has lasted longer than ${maxRun.toHumanString()} and is still running.`,
      fixed: {
        threshold: 'the long-run alarm fires past maxRunDuration; set maxRunDuration',
        period: 'the long-run alarm uses 1-minute periods (its threshold, maxRunDuration, is whole minutes or more)',
      },
    }, o.longRun);

    this.scheduleFailedAlarm = factory.create(this, countAlarmDefinition('ScheduleFailedAlarm', 'alarmOverrides.scheduleFailed',
      props.deadLetterQueue.metricNumberOfMessagesSent({ statistic: 'Sum', period: Duration.minutes(5) }),
      () => 'EventBridge Scheduler could not start a run after its retries (throttling, missing permissions, an invalid target): ' +
        'the failed invocation is in the dead-letter queue, with the error in its message attributes. ' +
        'A task that was started but failed to start is reported by the failed-run alarm instead.'), o.scheduleFailed);

    refuseFixedFields('alarmOverrides.missedRun', MISSED_RUN_FIXED_FIELDS, o.missedRun);
    if (o.missedRun?.enabled !== false) {
      let evaluation: MissedRunEvaluation | undefined = given;
      let derivedFrom = 'missedRunWindow';
      if (!evaluation) {
        if (!props.schedule) {
          Annotations.of(this).addWarningV2('cdk-fargate-monitor:noMissedRunWindow',
            'No missed-run alarm: give schedule or missedRunWindow to ScheduledTaskAlarms.');
        } else {
          const derived = deriveMissedRunWindow(props.schedule, maxRun, props.scheduleTimeWindow?.maxWindow, props.retryAllowance);
          if ('reason' in derived && derived.oneTime) {
            // A one-time job has nothing to miss: not a gap in its monitoring, so no warning (the failed-run alarm stays).
            Annotations.of(this).addInfoV2('cdk-fargate-monitor:noMissedRunWindow', `No missed-run alarm: ${derived.reason}.`);
          } else if ('reason' in derived) {
            Annotations.of(this).addWarningV2('cdk-fargate-monitor:noMissedRunWindow',
              `No missed-run alarm: ${derived.reason}. Set missedRunWindow (≤ 7 days) to have one, or alarmOverrides.missedRun.enabled false to silence this warning.`);
          } else {
            evaluation = derived.evaluation;
            derivedFrom = derived.derivedFrom;
          }
        }
      }
      if (evaluation) {
        this.missedRunWindow = evaluation.window;
        this.missedRunAlarm = factory.create(this, missedRunAlarmDefinition(props.runEvents.metricRuns(), evaluation, derivedFrom), o.missedRun);
      }
    }
    this.alarms = [this.memoryAlarm, this.failedRunAlarm, this.longRunAlarm, this.scheduleFailedAlarm, this.missedRunAlarm]
      .filter((a): a is cloudwatch.Alarm => a !== undefined);
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
