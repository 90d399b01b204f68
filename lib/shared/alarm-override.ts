import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/**
 * Changes to one alarm of a monitored construct: switch it off, move its threshold, change how many periods it
 * looks at, or send it somewhere else. Every field is optional; what is not given keeps the alarm's default, which
 * each alarm's documentation states.
 */
export interface AlarmOverride {
  /**
   * Create the alarm.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Threshold, in the alarm's own unit (the documentation of each alarm gives it: percent, count, seconds). Some
   * alarms take their threshold from another prop (the long-run alarm from `maxRunDuration`, the missed-run alarm
   * from `missedRunWindow`) and refuse this field.
   *
   * @default - the alarm's default threshold
   */
  readonly threshold?: number;

  /**
   * Period of the alarm's metric: 10 or 30 seconds (a high-resolution alarm, on high-resolution metrics only) or a
   * whole number of minutes. Period × `evaluationPeriods` must not exceed 1 day (7 days for periods of 1 hour or
   * more).
   *
   * @default - the alarm's default period
   */
  readonly period?: Duration;

  /**
   * Number of the most recent periods the alarm evaluates (N of "M out of N"), at least 1.
   *
   * @default - the alarm's default
   */
  readonly evaluationPeriods?: number;

  /**
   * Number of breaching periods among `evaluationPeriods` that put the alarm into ALARM (M of "M out of N"), from 1
   * to `evaluationPeriods`.
   *
   * @default - `evaluationPeriods` (all of them), unless the alarm's documentation says otherwise
   */
  readonly datapointsToAlarm?: number;

  /**
   * Actions when this alarm goes into ALARM, instead of the construct's `alarmActions`. An empty list: none.
   *
   * @default - the construct's `alarmActions`
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Actions when this alarm returns to OK, instead of the construct's `okActions`. An empty list: none.
   *
   * @default - the construct's `okActions` when given, else this alarm's ALARM actions
   */
  readonly okActions?: cloudwatch.IAlarmAction[];
}

/**
 * Where a group of alarms sends its state changes.
 */
export interface AlarmActionOptions {
  /**
   * Actions when an alarm goes into ALARM.
   *
   * @default - none
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Actions when an alarm returns to OK. An empty list: none.
   *
   * @default - the `alarmActions`
   */
  readonly okActions?: cloudwatch.IAlarmAction[];
}
