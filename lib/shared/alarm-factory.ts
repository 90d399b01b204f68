import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmActionOptions, AlarmOverride } from './alarm-override';

/** The fields of an {@link AlarmOverride} an alarm may refuse, with why. */
export type OverridableField = 'threshold' | 'period' | 'evaluationPeriods' | 'datapointsToAlarm';

/**
 * One alarm as the library defines it: its metric, default threshold and evaluation, its description, and what the
 * user may not override. Internal.
 */
export interface AlarmDefinition {
  /** Construct id of the alarm (kept stable: it makes the CloudFormation logical id). */
  readonly id: string;
  /** Prop path of this alarm's override, for error messages, e.g. `alarmOverrides.memory`. */
  readonly overrideName: string;
  /** The metric (or metric math); its period is replaced by the override's `period` when given. */
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm?: number;
  readonly treatMissingData: cloudwatch.TreatMissingData;
  /** The description for the threshold in force (what happened and what to do next). */
  readonly description: (threshold: number) => string;
  /** Checks the threshold in force; returns the problem (the message names the prop). */
  readonly checkThreshold?: (threshold: number) => string | undefined;
  /** Override fields this alarm refuses, each with the reason (and the prop to use instead). */
  readonly fixed?: Partial<Record<OverridableField, string>>;
}

/**
 * Builds every alarm of the library the same way (cdk-monitoring-constructs' AlarmFactory is the model): the
 * definition's defaults, the user's {@link AlarmOverride} on top (checked, with errors naming the prop), and the
 * ALARM and OK actions (the override's, else the group's; OK actions default to the ALARM actions).
 * Internal: not exported from the package.
 */
export class AlarmFactory {
  constructor(private readonly actions: AlarmActionOptions = {}) {}

  /**
   * The alarm, created in `scope`, or undefined when the override switches it off.
   *
   * @throws if the override sets a field the alarm refuses, or a value CloudWatch would reject
   */
  public create(scope: Construct, def: AlarmDefinition, override: AlarmOverride = {}): cloudwatch.Alarm | undefined {
    const name = def.overrideName;
    refuseFixedFields(name, def.fixed, override);
    if (override.enabled === false) return undefined;

    const threshold = override.threshold ?? def.threshold;
    if (!Token.isUnresolved(threshold)) {
      if (!Number.isFinite(threshold)) throw new Error(`${name}.threshold must be a finite number, got ${threshold}`);
      const problem = def.checkThreshold?.(threshold);
      if (problem) throw new Error(`${override.threshold !== undefined ? `${name}.threshold` : name} ${problem}, got ${threshold}`);
    }
    const evaluationPeriods = override.evaluationPeriods ?? def.evaluationPeriods;
    const datapointsToAlarm = override.datapointsToAlarm ?? (override.evaluationPeriods !== undefined ? undefined : def.datapointsToAlarm);
    if (!Token.isUnresolved(evaluationPeriods) && (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1)) {
      throw new Error(`${name}.evaluationPeriods must be a whole number of at least 1, got ${evaluationPeriods}`);
    }
    if (datapointsToAlarm !== undefined && !Token.isUnresolved(datapointsToAlarm)
      && (!Number.isInteger(datapointsToAlarm) || datapointsToAlarm < 1 || datapointsToAlarm > evaluationPeriods)) {
      throw new Error(`${name}.datapointsToAlarm must be a whole number from 1 to evaluationPeriods (${evaluationPeriods}), got ${datapointsToAlarm}`);
    }
    let metric = def.metric;
    if (override.period) {
      validateAlarmPeriod(override.period, evaluationPeriods, `${name}.period`, `${name}.evaluationPeriods`);
      metric = withPeriod(metric, override.period);
    }

    const alarm = new cloudwatch.Alarm(scope, def.id, {
      metric,
      threshold,
      comparisonOperator: def.comparisonOperator,
      evaluationPeriods,
      datapointsToAlarm,
      treatMissingData: def.treatMissingData,
      alarmDescription: def.description(threshold),
    });
    const alarmActions = override.alarmActions ?? this.actions.alarmActions ?? [];
    alarm.addAlarmAction(...alarmActions);
    alarm.addOkAction(...override.okActions ?? this.actions.okActions ?? alarmActions);
    return alarm;
  }
}

/**
 * An alarm on a count of events (failed runs, dead-letter messages, errors): Sum ≥ threshold (default 1, at least 1)
 * in one period; no data means nothing happened (missing data not breaching). Internal.
 *
 * @param description what happened and what to do next, for the threshold in force
 */
export function countAlarmDefinition(id: string, overrideName: string, metric: cloudwatch.IMetric,
  description: (threshold: number) => string): AlarmDefinition {
  return {
    id,
    overrideName,
    metric,
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    checkThreshold: (t) => (t >= 1 ? undefined : 'must be at least 1 (a count)'),
    description,
  };
}

/**
 * Throws when `override` sets a field the alarm takes from elsewhere (`fixed`: field → why, naming the prop to use).
 * Internal.
 */
export function refuseFixedFields(overrideName: string, fixed: Partial<Record<OverridableField, string>> | undefined,
  override: AlarmOverride = {}): void {
  for (const [field, reason] of Object.entries(fixed ?? {})) {
    if (override[field as OverridableField] !== undefined) throw new Error(`${overrideName}.${field} cannot be set: ${reason}`);
  }
}

/**
 * Checks an alarm period and its evaluation periods: 10 or 30 seconds or whole minutes (CDK's `Metric` cannot carry
 * 20 s); period × evaluation periods ≤ 1 day for periods under 1 hour, ≤ 7 days from 1 hour (PutMetricAlarm).
 *
 * @throws naming `prop` and `evaluationProp`
 */
export function validateAlarmPeriod(period: Duration, evaluationPeriods: number, prop: string, evaluationProp: string): void {
  if (period.isUnresolved()) throw new Error(`${prop} must not be a token`);
  const s = period.toSeconds({ integral: false });
  if (!(s === 10 || s === 30 || (s >= 60 && s % 60 === 0))) {
    throw new Error(`${prop} must be 10 seconds, 30 seconds or a whole number of minutes (the alarm periods CloudWatch accepts), got ${period.toHumanString()}`);
  }
  if (Token.isUnresolved(evaluationPeriods)) return;
  if (!Number.isInteger(evaluationPeriods) || evaluationPeriods < 1) {
    throw new Error(`${evaluationProp} must be a whole number of at least 1, got ${evaluationPeriods}`);
  }
  const limit = s >= 3600 ? 7 * 86_400 : 86_400;
  if (s * evaluationPeriods > limit) {
    throw new Error(`${prop} × ${evaluationProp} must be at most ${s >= 3600 ? '7 days' : '1 day'} (CloudWatch's limit), got ${s} s × ${evaluationPeriods}`);
  }
}

/** The metric with another period (statistic, dimensions and label kept); other IMetric implementations as they are. */
export function withPeriod(metric: cloudwatch.IMetric, period: Duration): cloudwatch.IMetric {
  if (metric instanceof cloudwatch.Metric || metric instanceof cloudwatch.MathExpression) return metric.with({ period });
  return metric;
}
