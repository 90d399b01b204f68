import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { ParsedCron, parseCron, parseSchedule } from './schedule-expression';
import { AlarmDefinition, OverridableField } from '../shared/alarm-factory';

/**
 * How a missed-run alarm evaluates: `evaluationPeriods` consecutive periods of `period` without a run.
 * Internal (not part of the jsii API).
 */
export interface MissedRunEvaluation {
  /** The window the alarm covers (period × evaluationPeriods). */
  readonly window: Duration;
  readonly period: Duration;
  readonly evaluationPeriods: number;
}

/** Outcome of deriving a window: an evaluation, or the reason there can be none. */
export type MissedRunWindowResult = { evaluation: MissedRunEvaluation; derivedFrom: string } | { reason: string; oneTime?: boolean };

/** Margin for start latency (Fargate provisioning and image pull), event delivery and our handler. */
export const START_MARGIN_SECONDS = 10 * 60;

const DAY = 86_400;
const WEEK = 7 * DAY;

/**
 * The CloudWatch evaluation for a window: one period when it fits in a day (whole minutes), else hourly periods
 * (CloudWatch: period × evaluation periods ≤ 1 day below 1-hour periods, ≤ 7 days from 1 hour). Rounds up.
 * Returns a reason when the window exceeds 7 days.
 */
export function evaluationFor(seconds: number): MissedRunEvaluation | string {
  if (seconds <= DAY) {
    const minutes = Math.max(5, Math.ceil(seconds / 60));
    return { window: Duration.minutes(minutes), period: Duration.minutes(minutes), evaluationPeriods: 1 };
  }
  const hours = Math.ceil(seconds / 3600);
  if (hours * 3600 > WEEK) {
    return `the window (${formatSeconds(seconds)}) exceeds the 7 days a CloudWatch alarm can evaluate`;
  }
  return { window: Duration.hours(hours), period: Duration.hours(1), evaluationPeriods: hours };
}

/**
 * The missed-run alarm for an evaluation, as the alarm factory builds it (construct id `MissedRunAlarm`).
 *
 * It reads `Runs` through the metric math expression `FILL(runs, 0)`, summed over `evaluation.period`, and fires when
 * all `evaluation.evaluationPeriods` datapoints are below 1: so when no run ended in the last `evaluation.window`.
 *
 * Why FILL: CloudWatch fetches more datapoints than Evaluation Periods (the *evaluation range*, length not published)
 * and, while that range holds a real datapoint, evaluates with it and uses missing data only "as few times as
 * possible" (User Guide, "How alarm state is evaluated when data is missing": with missing data breaching, `0 - - - -`
 * stays OK). An alarm on `Runs` alone with missing data breaching therefore fired only once the last run's datum had
 * left the whole range: two extra periods in AWS's example, so a 1 h 25 min window alarmed after about 4 h 15 min, a
 * window just under a day after about 3 days, an hourly window 2 hours late. FILL "fills the missing values of a time
 * series", the most recent period included (User Guide, "Metric math syntax and functions", FILL: "FILL replaces that
 * missing data point with the requested value"): every empty period is a real 0, which breaches `< 1`.
 *
 * When `Runs` has no datapoint at all in the range (right after the first deployment, or long after the last run),
 * AWS does not document whether FILL returns zeros or nothing; missing data is treated as breaching so that both mean
 * ALARM ("- - - - -" with BREACHING is ALARM in the same table).
 *
 * Evaluation: every minute, over periods that end at the evaluation instant (User Guide, "Evaluating an alarm": "at
 * the end of minute 6, the alarm is evaluated based on the data from minutes 2 to 6"), so the alarm fires within a
 * minute after a whole window without a run ends, plus the run-outcome handler's publishing delay; even if periods were
 * aligned to whole periods (not what AWS documents), within one period after the window. It returns to OK at the
 * first evaluation that sees a new run.
 *
 * The period is set on both the expression and `runs` itself (`runs.with({ period })`): CDK otherwise overrides the
 * metric's own period with the expression's and warns at every synth.
 *
 * @param runs the task's `Runs` metric (statistic Sum; its period is replaced by `evaluation.period`)
 * @param evaluation the window as CloudWatch evaluates it (from {@link evaluationFor} or a validated `missedRunWindow`)
 * @param derivedFrom where the window comes from, for the description
 */
export function missedRunAlarmDefinition(runs: cloudwatch.Metric, evaluation: MissedRunEvaluation, derivedFrom: string): AlarmDefinition {
  const human = evaluation.window.toHumanString();
  return {
    id: 'MissedRunAlarm',
    overrideName: 'alarmOverrides.missedRun',
    metric: new cloudwatch.MathExpression({
      expression: 'FILL(runs, 0)',
      usingMetrics: { runs: runs.with({ period: evaluation.period }) },
      period: evaluation.period,
      label: 'Runs (periods without a run as 0)',
    }),
    description: () =>
      `No run of this task ended in the last ${human} (window from ${derivedFrom}): the schedule may be disabled, failing ` +
      'to start tasks, or a run may be stuck. It fires within a minute after a whole window without a run (Runs is read ' +
      'through FILL(runs, 0), so an empty period counts as 0 runs) and returns to OK when a run ends. Right after the first ' +
      'deployment it is in alarm until the first run ends.',
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: evaluation.evaluationPeriods,
    datapointsToAlarm: evaluation.evaluationPeriods,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    fixed: MISSED_RUN_FIXED_FIELDS,
  };
}

/** What an override of the missed-run alarm may not set: the window decides them. */
export const MISSED_RUN_FIXED_FIELDS: Partial<Record<OverridableField, string>> = {
  threshold: 'the missed-run alarm fires when no run ended within missedRunWindow; set missedRunWindow',
  period: 'the missed-run alarm\'s period follows from missedRunWindow; set missedRunWindow',
  evaluationPeriods: 'the missed-run alarm\'s evaluation follows from missedRunWindow; set missedRunWindow',
  datapointsToAlarm: 'the missed-run alarm\'s evaluation follows from missedRunWindow; set missedRunWindow',
};

/** The shortest and longest gaps between runs of a schedule, or why they cannot be known. */
export type ScheduleGaps = { kind: 'rate' | 'cron'; shortest: number; longest: number; timeZone: string } | { reason: string; oneTime?: boolean };

const gapCache = new Map<string, ScheduleGaps>();

/**
 * The shortest and longest gap, in seconds, between consecutive runs of a recurring schedule (for `cron()`, enumerated
 * over two years in the schedule's time zone, daylight-saving changes included; cached per expression and zone).
 *
 * @throws ScheduleExpressionError when the expression is invalid (see {@link parseSchedule})
 */
export function scheduleGaps(schedule: scheduler.ScheduleExpression): ScheduleGaps {
  const expr = schedule.expressionString;
  const parsed = parseSchedule(schedule);
  if (!parsed) return { reason: 'the schedule expression is a token, unknown until deployment' };
  if (parsed.kind === 'at') return { reason: `${expr} is a one-time schedule: there is no next run to miss`, oneTime: true };
  const timeZone = schedule.timeZone?.timezoneName ?? 'UTC';
  if (parsed.kind === 'rate') return { kind: 'rate', shortest: parsed.seconds, longest: parsed.seconds, timeZone };
  const key = `${expr} ${timeZone}`;
  let gaps = gapCache.get(key);
  if (!gaps) {
    try {
      const times = cronFireTimes(parsed.cron, timeZone);
      gaps = { kind: 'cron', shortest: shortestGapOf(times), longest: longestGapOf(times), timeZone };
    } catch (e) {
      gaps = { reason: `${expr}: ${(e as Error).message}` };
    }
    gapCache.set(key, gaps);
  }
  return gaps;
}

/**
 * Derives the missed-run window of a schedule: the longest gap between consecutive fire times (in the schedule's
 * time zone, with EventBridge Scheduler's daylight-saving rules), plus `maxRunDuration`, plus the schedule's flexible
 * time window (a run may start that much later), plus `retryAllowance` (retries make a run end later), plus a start
 * margin of {@link START_MARGIN_SECONDS}, rounded up to what CloudWatch can evaluate.
 *
 * No window for a one-time `at()` schedule, a `cron()` with a year restriction (it ends), a cron feature this
 * enumerator does not support, or a window beyond 7 days: the result then carries the reason.
 */
export function deriveMissedRunWindow(schedule: scheduler.ScheduleExpression, maxRunDuration: Duration,
  flexibleWindow?: Duration, retryAllowance?: Duration): MissedRunWindowResult {
  const expr = schedule.expressionString;
  const flexible = flexibleWindow?.toSeconds() ?? 0;
  const retries = retryAllowance?.toSeconds() ?? 0;
  const extra = maxRunDuration.toSeconds() + flexible + retries + START_MARGIN_SECONDS;
  const gaps = scheduleGaps(schedule);
  if ('reason' in gaps) return gaps;
  const gap = gaps.longest;
  const derivedFrom = gaps.kind === 'rate' ? `${expr}: interval ${formatSeconds(gap)}`
    : `${expr} in ${gaps.timeZone}: longest gap between runs ${formatSeconds(gap)}`;
  const evaluation = evaluationFor(gap + extra);
  const plus = `plus maxRunDuration${flexible > 0 ? `, the ${formatSeconds(flexible)} flexible time window` : ''}` +
    `${retries > 0 ? `, ${formatSeconds(retries)} for retries` : ''} and a ${START_MARGIN_SECONDS / 60}-minute start margin`;
  if (typeof evaluation === 'string') return { reason: `${derivedFrom}, ${plus}: ${evaluation}` };
  return { evaluation, derivedFrom };
}

export function formatSeconds(s: number): string {
  const d = Math.floor(s / DAY);
  const h = Math.floor((s % DAY) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [d ? `${d} d` : '', h ? `${h} h` : '', m ? `${m} min` : ''].filter(Boolean).join(' ') || `${s} s`;
}

// ---------------------------------------------------------------------------------------------------------------
// Enumerating the fire times of a cron expression parsed by schedule-expression.ts (one parser for the synth check and
// this window).

/** UTC offset (ms), at the instant `utcMs`, of the time zone `fmt` formats in. */
function offsetAt(utcMs: number, fmt: Intl.DateTimeFormat): number {
  const p: Record<string, number> = {};
  for (const part of fmt.formatToParts(new Date(utcMs))) if (part.type !== 'literal') p[part.type] = Number(part.value);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour === 24 ? 0 : p.hour, p.minute, p.second);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

/**
 * UTC instant of a local wall time in the time zone of `fmt`, or undefined when that time does not exist (spring forward: EventBridge
 * Scheduler skips it). An ambiguous time (fall back) maps to its first occurrence (Scheduler runs it once).
 */
function localToUtc(fmt: Intl.DateTimeFormat, y: number, mo: number, d: number, h: number, mi: number): number | undefined {
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const candidates = new Set<number>();
  for (const probe of [wall - 14 * 3600_000, wall + 14 * 3600_000, wall]) {
    const t = wall - offsetAt(probe, fmt);
    if (t + offsetAt(t, fmt) === wall) candidates.add(t);
  }
  if (candidates.size === 0) return undefined;
  return Math.min(...candidates);
}

/**
 * Longest gap, in seconds, between consecutive fire times of an EventBridge cron expression (the part inside
 * `cron(...)`), enumerated over two full years from January 1 of the current year in time zone `zone`.
 *
 * @throws for a year restriction or a feature the enumerator does not support
 */
export function longestCronGap(body: string, zone: string): number {
  return longestGapOf(cronFireTimes(body, zone));
}

export function shortestGapOf(times: number[]): number {
  if (times.length < 2) throw new Error('the schedule fires fewer than twice in two years');
  let gap = Infinity;
  for (let i = 1; i < times.length; i++) gap = Math.min(gap, times[i] - times[i - 1]);
  return gap / 1000;
}

export function longestGapOf(times: number[]): number {
  if (times.length < 2) throw new Error('the schedule fires fewer than twice in two years');
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap / 1000;
}

/**
 * Fire times (UTC ms, ascending) of an EventBridge cron expression over two years from January 1 of `startYear`.
 *
 * @throws ScheduleExpressionError for an invalid expression; Error when it cannot be enumerated (a year restriction,
 * a wrap-around range, `LW`)
 */
export function cronFireTimes(body: string | ParsedCron, zone: string, startYear = new Date().getUTCFullYear()): number[] {
  const cron = typeof body === 'string' ? parseCron(body) : body;
  if (cron.notEnumerable) throw new Error(cron.notEnumerable);
  const { minutes, hours, months, dayOfMonth: dom, dayOfWeek: dow } = cron;
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  } catch {
    throw new Error(`unknown time zone "${zone}"`);
  }
  const times: number[] = [];
  for (let year = startYear; year < startYear + 2; year++) {
    for (let month = 1; month <= 12; month++) {
      if (!months.has(month)) continue;
      const dim = new Date(Date.UTC(year, month, 0)).getUTCDate();
      for (let day = 1; day <= dim; day++) {
        const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
        if (!dom(day, weekday, dim) || !dow(day, weekday, dim)) continue;
        // One offset for the whole local day unless it changes within the day (DST): then convert each time.
        const noon = Date.UTC(year, month - 1, day, 12);
        const offset = offsetAt(noon - offsetAt(noon, fmt), fmt);
        const uniform = offsetAt(Date.UTC(year, month - 1, day, 0) - offset, fmt) === offset
          && offsetAt(Date.UTC(year, month - 1, day, 23, 59) - offset, fmt) === offset;
        for (const h of hours) {
          for (const mi of minutes) {
            const t = uniform ? Date.UTC(year, month - 1, day, h, mi) - offset : localToUtc(fmt, year, month, day, h, mi);
            if (t !== undefined) times.push(t);
          }
        }
      }
    }
  }
  times.sort((a, b) => a - b);
  return times.filter((t, i) => i === 0 || t !== times[i - 1]);
}
