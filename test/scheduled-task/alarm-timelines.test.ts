import { Duration, TimeZone } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { MonitoredScheduledTask, MonitoredScheduledTaskProps } from '../../lib';
import { cronFireTimes } from '../../lib/scheduled-task/missed-run-window';
import { AlarmModel, EvaluatorOptions, firstIn, RawDatapoint, transitions } from '../support/cloudwatch-alarm-evaluator';
import { minimalProps, newStack } from '../support/stacks';

/*
 * Timelines fed to the alarms MonitoredScheduledTask really synthesizes, evaluated as CloudWatch documents it
 * (test/support/cloudwatch-alarm-evaluator.ts cites each rule). The evaluation range (how many periods CloudWatch
 * fetches beyond EvaluationPeriods) is not published: conclusions are checked for 0 to 5 extra periods, 2 being AWS's
 * example.
 */

const S = scheduler.ScheduleExpression;
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 2, 16); // Monday 2026-03-16 00:00 UTC, two weeks before Europe/Berlin springs forward
const EXTRA_PERIODS = [0, 1, 2, 3, 5];
/** For the long on-time timelines (with FILL the range cannot matter; these keep the run time down). */
const SOME_EXTRA_PERIODS = [0, 2, 5];

/** The task's alarms' Properties, by construct id (MissedRunAlarm, FailedRunAlarm, MemoryAlarm, ...). */
function synthAlarms(props: Partial<MonitoredScheduledTaskProps>): Record<string, any> {
  const stack = newStack();
  new MonitoredScheduledTask(stack, 'Job', minimalProps(props));
  const out: Record<string, any> = {};
  for (const [logicalId, resource] of Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))) {
    const id = /^JobAlarms([A-Za-z]+Alarm)[0-9A-F]{8}$/.exec(logicalId)?.[1];
    if (id) out[id] = (resource as any).Properties;
  }
  return out;
}

/** The missed-run window the template's alarm covers (period × evaluation periods), in ms. */
function windowOf(alarm: any): number {
  const period = alarm.Period ?? alarm.Metrics.find((m: any) => m.MetricStat).MetricStat.Period;
  return period * alarm.EvaluationPeriods * SEC;
}

/**
 * Today's (before issue #12) missed-run alarm for the same window: `Runs` Sum < 1 in every period, missing data
 * breaching, no metric math.
 */
function todaysMissedRunAlarm(alarm: any): any {
  const stat = alarm.Metrics.find((m: any) => m.MetricStat).MetricStat;
  return {
    Namespace: stat.Metric.Namespace,
    MetricName: 'Runs',
    Statistic: 'Sum',
    Period: stat.Period,
    Unit: 'Count',
    EvaluationPeriods: alarm.EvaluationPeriods,
    DatapointsToAlarm: alarm.EvaluationPeriods,
    Threshold: 1,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breaching',
  };
}

interface Run { readonly stoppedAt: number; readonly failed?: boolean; readonly publishDelay?: number }

/**
 * Runs, FailedRuns as the run-outcome handler publishes them: one datum per stop, `publishDelay` after the stop,
 * timestamped when it is published (the handler sets no Timestamp: see TaskRunEvents).
 */
function runMetrics(runs: Run[]): Record<string, RawDatapoint[]> {
  return datums(runs, (r) => r.stoppedAt + (r.publishDelay ?? 20 * SEC));
}

/** The same, but back-dated to the task's `stoppedAt`: what the handler does NOT do, and why (the tests below). */
function backdatedRunMetrics(runs: Run[]): Record<string, RawDatapoint[]> {
  return datums(runs, (r) => r.stoppedAt);
}

function datums(runs: Run[], timestampOf: (r: Run) => number): Record<string, RawDatapoint[]> {
  const at = (r: Run, value: number): RawDatapoint => ({ timestamp: timestampOf(r), value, publishedAt: r.stoppedAt + (r.publishDelay ?? 20 * SEC) });
  return { Runs: runs.map((r) => at(r, 1)), FailedRuns: runs.map((r) => at(r, r.failed ? 1 : 0)) };
}

/** A run per fire time: starts a minute late (Fargate provisioning), lasts `duration`. */
const onTime = (fireTimes: number[], duration = 5 * MIN): Run[] => fireTimes.map((f) => ({ stoppedAt: f + MIN + duration }));

const every = (interval: number, from: number, to: number) =>
  Array.from({ length: Math.floor((to - from) / interval) + 1 }, (_, i) => from + i * interval);

interface Case {
  readonly name: string;
  readonly props: Partial<MonitoredScheduledTaskProps>;
  /** Fire times of the schedule from T0 (UTC ms). */
  readonly fireTimes: (until: number) => number[];
  /** The window the template must carry. */
  readonly window: number;
  /** How long to watch on-time runs. */
  readonly span: number;
}

const CASES: Case[] = [
  {
    name: 'every 15 minutes',
    props: { schedule: S.rate(Duration.minutes(15)) },
    fireTimes: (until) => every(15 * MIN, T0, until),
    window: 85 * MIN,
    span: 2 * DAY,
  },
  {
    name: 'hourly',
    props: { schedule: S.rate(Duration.hours(1)) },
    fireTimes: (until) => every(HOUR, T0, until),
    window: 130 * MIN,
    span: 3 * DAY,
  },
  {
    name: 'daily 02:00 UTC',
    props: { schedule: S.cron({ minute: '0', hour: '2' }) },
    fireTimes: (until) => cronFireTimes('0 2 * * ? *', 'UTC', 2026).filter((t) => t >= T0 && t <= until),
    window: 26 * HOUR,
    span: 8 * DAY,
  },
  {
    name: 'daily 02:30 Europe/Berlin (02:30 does not exist on 2026-03-29)',
    props: { schedule: S.cron({ minute: '30', hour: '2', timeZone: TimeZone.EUROPE_BERLIN }) },
    fireTimes: (until) => cronFireTimes('30 2 * * ? *', 'Europe/Berlin', 2026).filter((t) => t >= T0 && t <= until),
    window: 49 * HOUR,
    span: 16 * DAY,
  },
  {
    name: 'weekly, missedRunWindow 7 days (runs of constant length)',
    props: { schedule: S.cron({ minute: '0', hour: '2', weekDay: 'MON' }), missedRunWindow: Duration.days(7) },
    fireTimes: (until) => cronFireTimes('0 2 ? * MON *', 'UTC', 2026).filter((t) => t >= T0 && t <= until),
    window: 7 * DAY,
    span: 15 * DAY,
  },
];

describe.each(CASES)('missed-run alarm, $name', ({ props, fireTimes, window, span }) => {
  const alarm = synthAlarms(props).MissedRunAlarm;

  test('the template covers the window, in one resource', () => {
    expect(windowOf(alarm)).toBe(window);
    expect(Object.keys(synthAlarms(props)).filter((k) => k === 'MissedRunAlarm')).toHaveLength(1);
  });

  test.each(SOME_EXTRA_PERIODS)('runs on time: never ALARM once the first run has ended (%i extra periods)', (extraPeriods) => {
    const runs = onTime(fireTimes(T0 + span));
    const evals = new AlarmModel(alarm, { extraPeriods }).run(runMetrics(runs), runs[0].stoppedAt + MIN, T0 + span);
    expect(evals.filter((e) => e.state !== 'OK').map((e) => new Date(e.time).toISOString())).toEqual([]);
  });

  test.each(EXTRA_PERIODS)('runs stop: ALARM within a minute after a whole window without a run, not before (%i extra periods)', (extraPeriods) => {
    const runs = onTime(fireTimes(T0 + span));
    const last = runs[runs.length - 1].stoppedAt;
    const evals = new AlarmModel(alarm, { extraPeriods }).run(runMetrics(runs), last, last + window + 3 * HOUR);
    const alarmAt = firstIn(evals, 'ALARM')!.time;
    expect(alarmAt).toBeGreaterThan(last + window);
    expect(alarmAt).toBeLessThanOrEqual(last + window + MIN);
  });

  test('runs stop, periods aligned to whole periods instead (not what AWS documents): ALARM within one period after the window', () => {
    const runs = onTime(fireTimes(T0 + span));
    const last = runs[runs.length - 1].stoppedAt;
    const model = new AlarmModel(alarm, { windowAlignment: 'period' });
    const evals = model.run(runMetrics(runs), last, last + 2 * window + 3 * HOUR);
    const alarmAt = firstIn(evals, 'ALARM')!.time;
    expect(alarmAt).toBeGreaterThan(last + window - model.period * SEC);
    expect(alarmAt).toBeLessThanOrEqual(last + window + model.period * SEC);
  });

  test('a run after the alarm: back to OK at the first evaluation that sees it', () => {
    const runs = onTime(fireTimes(T0 + span));
    const last = runs[runs.length - 1].stoppedAt;
    const late: Run = { stoppedAt: last + window + 2 * HOUR };
    const evals = new AlarmModel(alarm).run(runMetrics([...runs, late]), last, late.stoppedAt + 10 * MIN);
    const published = late.stoppedAt + 20 * SEC;
    expect(transitions(evals).slice(-2)).toEqual([
      [expect.any(Number), 'ALARM'],
      [Math.ceil(published / MIN) * MIN, 'OK'],
    ]);
  });

  test('never any run (right after the first deployment): ALARM at once, whatever FILL makes of an empty metric', () => {
    for (const fillEmptySeries of [false, true]) {
      const evals = new AlarmModel(alarm, { fillEmptySeries }).run({}, T0, T0 + window + HOUR);
      expect(evals.every((e) => e.state === 'ALARM')).toBe(true);
    }
  });

  test('today\'s alarm (Runs, missing data breaching, no FILL) fires only after the whole evaluation range', () => {
    const runs = onTime(fireTimes(T0 + span));
    const last = runs[runs.length - 1].stoppedAt;
    const old = todaysMissedRunAlarm(alarm);
    const late: number[] = [];
    for (const extraPeriods of [1, 2, 3]) {
      const model = new AlarmModel(old, { extraPeriods });
      const evals = model.run(runMetrics(runs), last, last + window + (extraPeriods + 1) * model.period * SEC + HOUR);
      const alarmAt = firstIn(evals, 'ALARM')!.time;
      // The last run's datum is a real, non-breaching datapoint until it leaves the range: extraPeriods periods late.
      expect(alarmAt - (last + window)).toBeGreaterThanOrEqual(extraPeriods * model.period * SEC);
      late.push(alarmAt - (last + window));
    }
    expect(Math.min(...late)).toBeGreaterThan(MIN);
  });
});

test('detection delay after the last run, today\'s alarm vs the fixed one, with AWS\'s example range (2 extra periods)', () => {
  const rows: string[] = [];
  for (const { name, props, fireTimes, window, span } of CASES) {
    const alarm = synthAlarms(props).MissedRunAlarm;
    const runs = onTime(fireTimes(T0 + span));
    const last = runs[runs.length - 1].stoppedAt;
    const delay = (a: any) => {
      const model = new AlarmModel(a, { extraPeriods: 2 });
      const evals = model.run(runMetrics(runs), last, last + window + 3 * model.period * SEC + HOUR);
      return (firstIn(evals, 'ALARM')!.time - last) / MIN;
    };
    const [fixed, today] = [delay(alarm), delay(todaysMissedRunAlarm(alarm))];
    rows.push(`${name}: window ${window / MIN} min; fixed ${fixed} min; today ${today} min (${((today - window / MIN) / 60).toFixed(2)} h late)`);
    expect(fixed).toBe(window / MIN + 1);
    expect(today).toBeGreaterThan(window / MIN + 60);
  }
  // eslint-disable-next-line no-console
  console.log(rows.join('\n'));
});

describe('failed-run alarm', () => {
  const alarm = synthAlarms({}).FailedRunAlarm;
  const stop = T0 + 10 * HOUR + 30 * SEC;

  test.each(EXTRA_PERIODS)('a FailedRuns datum of 1: ALARM at the first evaluation after it is published, then OK again (%i extra periods)', (extraPeriods) => {
    const runs: Run[] = [{ stoppedAt: stop - HOUR }, { stoppedAt: stop, failed: true, publishDelay: 10 * SEC }, { stoppedAt: stop + HOUR }];
    const evals = new AlarmModel(alarm, { extraPeriods }).run(runMetrics(runs), T0, stop + 2 * HOUR);
    const t = transitions(evals).filter(([time]) => time > T0);
    expect(t[0]).toEqual([T0 + 10 * HOUR + MIN, 'ALARM']);
    // It stays in ALARM while the datum is in the evaluation range ("CloudWatch alarms might repeatedly re-evaluate the
    // last set of data points"), then returns to OK.
    expect(t[1]).toEqual([T0 + 10 * HOUR + (2 + extraPeriods) * MIN, 'OK']);
    expect(t).toHaveLength(2);
  });

  test.each([0, 1, 2, 5])('stamped at publish time, as the handler does, a failure alarms at the first evaluation after its publication, however late (%i extra periods)',
    (extraPeriods) => {
      for (const publishDelay of [5 * SEC, 45 * SEC, 3 * MIN, 2 * HOUR]) {
        const evals = new AlarmModel(alarm, { extraPeriods }).run(runMetrics([{ stoppedAt: stop, failed: true, publishDelay }]), T0, stop + 3 * HOUR);
        expect({ publishDelay, alarmAt: firstIn(evals, 'ALARM')?.time }).toEqual({ publishDelay, alarmAt: Math.ceil((stop + publishDelay) / MIN) * MIN });
      }
    });

  test.each([1, 2, 3, 5])('back-dated to stoppedAt (not what the handler does), a datum published up to a minute late is still seen (%i extra periods)', (extraPeriods) => {
    for (const publishDelay of [5 * SEC, 29 * SEC, 30 * SEC, 45 * SEC, 60 * SEC]) {
      const backdated = backdatedRunMetrics([{ stoppedAt: stop, failed: true, publishDelay }]);
      const evals = new AlarmModel(alarm, { extraPeriods }).run(backdated, T0, stop + HOUR);
      expect({ publishDelay, alarmAt: firstIn(evals, 'ALARM')?.time }).toEqual({ publishDelay, alarmAt: Math.ceil((stop + publishDelay) / MIN) * MIN });
    }
  });

  test('back-dated and later than that, it is seen only through the unpublished evaluation range: with none, a datum 31 s late is lost (why the handler stamps at publish time)', () => {
    const seen = (extraPeriods: number, publishDelay: number) => firstIn(new AlarmModel(alarm, { extraPeriods })
      .run(backdatedRunMetrics([{ stoppedAt: stop, failed: true, publishDelay }]), T0, stop + HOUR), 'ALARM') !== undefined;
    expect(seen(0, 29 * SEC)).toBe(true); // published 10:00:59, evaluated at 10:01:00 over [10:00, 10:01)
    expect(seen(0, 31 * SEC)).toBe(false); // published 10:01:01: the minute it belongs to has slid out
    expect(seen(2, 150 * SEC)).toBe(true); // AWS's example range: up to 2.5 minutes here
    expect(seen(2, 151 * SEC)).toBe(false);
  });
});

describe('memory alarm (30-second periods, Maximum, missing data not breaching)', () => {
  const alarm = synthAlarms({}).MemoryAlarm;
  const start = T0 + 3 * HOUR;

  test('the template: MemoryUtilization Maximum ≥ 90 in 30 s, evaluated every 10 s', () => {
    expect(alarm).toMatchObject({ MetricName: 'MemoryUtilization', Statistic: 'Maximum', Period: 30, Threshold: 90, TreatMissingData: 'notBreaching' });
    expect(new AlarmModel(alarm).cadence).toBe(10);
  });

  test.each([[1, 'one-second /proc samples'], [10, 'ten-second metadata samples']])(
    'crossing the threshold with %i s datapoints (%s): ALARM at the next 10 s evaluation after the datapoint is published, OK again after it falls',
    (everySeconds) => {
      const step = everySeconds * SEC;
      const crossing = start + 5 * MIN + 3 * SEC; // 95 % from here, for one minute
      const fall = crossing + MIN;
      const data: RawDatapoint[] = every(step, start, start + 15 * MIN).map((t) => ({
        timestamp: t, value: t >= crossing && t < fall ? 95 : 60, publishedAt: t + 2 * SEC,
      }));
      for (const extraPeriods of EXTRA_PERIODS) {
        const evals = new AlarmModel(alarm, { extraPeriods }).run({ MemoryUtilization: data }, start, start + 15 * MIN);
        const firstHigh = data.find((d) => d.value === 95)!;
        const t = transitions(evals);
        expect(t[0]).toEqual([start, 'OK']);
        expect(t[1]).toEqual([Math.ceil(firstHigh.publishedAt! / (10 * SEC)) * 10 * SEC, 'ALARM']);
        // Data keeps coming, so the newest 30 s window is real and decides: OK once it holds no high sample.
        const lastHigh = [...data].reverse().find((d) => d.value === 95)!;
        expect(t[2][1]).toBe('OK');
        expect(t[2][0]).toBeGreaterThan(lastHigh.timestamp + 30 * SEC - 10 * SEC);
        expect(t[2][0]).toBeLessThanOrEqual(lastHigh.timestamp + 30 * SEC + 10 * SEC);
        expect(t).toHaveLength(3);
      }
    });

  test('sparse data: gaps (between runs, an agent restart) are OK, never INSUFFICIENT_DATA; one high 10 s sample alarms', () => {
    const data: RawDatapoint[] = [
      ...every(10 * SEC, start, start + 2 * MIN).map((t) => ({ timestamp: t, value: 40 })),
      // two minutes without data, then one high sample
      { timestamp: start + 4 * MIN + 5 * SEC, value: 97, publishedAt: start + 4 * MIN + 7 * SEC },
    ];
    for (const extraPeriods of EXTRA_PERIODS) {
      const evals = new AlarmModel(alarm, { extraPeriods }).run({ MemoryUtilization: data }, start - 5 * MIN, start + 10 * MIN);
      expect(evals.some((e) => e.state === 'INSUFFICIENT_DATA')).toBe(false);
      expect(transitions(evals)).toEqual([
        [start - 5 * MIN, 'OK'],
        [start + 4 * MIN + 10 * SEC, 'ALARM'],
        [start + 4 * MIN + 40 * SEC + extraPeriods * 30 * SEC, 'OK'],
      ]);
    }
  });
});

test('options carry through: an evaluator option changes the outcome (guards against a model that ignores them)', () => {
  const options: EvaluatorOptions[] = [{ extraPeriods: 0 }, { extraPeriods: 4 }];
  const alarm = todaysMissedRunAlarm(synthAlarms({ schedule: S.rate(Duration.minutes(15)) }).MissedRunAlarm);
  const runs = onTime(every(15 * MIN, T0, T0 + DAY));
  const last = runs[runs.length - 1].stoppedAt;
  const at = options.map((o) => firstIn(new AlarmModel(alarm, o).run(runMetrics(runs), last, last + DAY), 'ALARM')!.time - last);
  expect(at).toEqual([85 * MIN + MIN, 5 * 85 * MIN + MIN]);
});
