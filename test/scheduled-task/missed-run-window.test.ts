import { Duration, TimeZone } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { MonitoredScheduledTask, ScheduledTaskAlarms } from '../../lib';
import { cronFireTimes, deriveMissedRunWindow, longestCronGap } from '../../lib/scheduled-task/missed-run-window';
import { AlarmModel, firstIn } from '../support/cloudwatch-alarm-evaluator';
import { minimalProps, newStack } from '../support/stacks';

const S = scheduler.ScheduleExpression;
const HOUR = 3600;
const DAY = 86_400;
const iso = (t: number) => new Date(t).toISOString().replace(':00.000Z', 'Z');

describe('cron enumeration with EventBridge semantics', () => {
  test('day-of-week 1–7 is SUN–SAT: "2" is Monday, the same as MON', () => {
    const monday = cronFireTimes('0 9 ? * 2 *', 'UTC', 2026).slice(0, 2).map(iso);
    expect(monday).toEqual(['2026-01-05T09:00Z', '2026-01-12T09:00Z']); // 2026-01-05 is a Monday
    expect(cronFireTimes('0 9 ? * MON *', 'UTC', 2026)).toEqual(cronFireTimes('0 9 ? * 2 *', 'UTC', 2026));
  });

  test('L, W and # in the day fields', () => {
    expect(cronFireTimes('0 0 L * ? *', 'UTC', 2026).slice(0, 2).map(iso)).toEqual(['2026-01-31T00:00Z', '2026-02-28T00:00Z']);
    // 2026-02-15 is a Sunday: 15W runs Monday the 16th; 2026-08-01 is a Saturday: 1W runs Monday the 3rd
    expect(cronFireTimes('0 0 15W * ? *', 'UTC', 2026).map(iso)).toContain('2026-02-16T00:00Z');
    expect(cronFireTimes('0 0 1W * ? *', 'UTC', 2026).map(iso)).toContain('2026-08-03T00:00Z');
    expect(cronFireTimes('0 0 ? * 6#3 *', 'UTC', 2026).slice(0, 1).map(iso)).toEqual(['2026-01-16T00:00Z']); // third Friday
    expect(cronFireTimes('0 0 ? * 6L *', 'UTC', 2026).slice(0, 1).map(iso)).toEqual(['2026-01-30T00:00Z']); // last Friday
  });

  test('daylight saving time: a skipped local time does not run, a repeated one runs once', () => {
    // Europe/Berlin springs forward on 2026-03-29 02:00 → 03:00 and falls back on 2026-10-25 03:00 → 02:00.
    const march = cronFireTimes('30 2 * 3 ? *', 'Europe/Berlin', 2026).map(iso);
    expect(march).toContain('2026-03-28T01:30Z');
    expect(march).not.toContain('2026-03-29T00:30Z');
    expect(march).not.toContain('2026-03-29T01:30Z');
    expect(march).toContain('2026-03-30T00:30Z');
    const october = cronFireTimes('30 2 * 10 ? *', 'Europe/Berlin', 2026).map(iso);
    expect(october.filter((t) => t.startsWith('2026-10-25'))).toEqual(['2026-10-25T00:30Z']);
    expect(longestCronGap('30 2 * * ? *', 'Europe/Berlin')).toBe(DAY + 23 * HOUR);
    expect(longestCronGap('0 9 * * ? *', 'Europe/Berlin')).toBe(DAY + HOUR); // 25-hour day in autumn
  });

  test.each([
    ['a year restriction', '0 9 * * ? 2027', /year field "2027"/],
    ['both day fields', '0 9 1 * MON *', /one of day-of-month \("1"\) and day-of-week \("MON"\) must be "\?"/],
    ['a wrap-around range', '0 22-2 * * ? *', /wrap-around range .* not enumerated/],
    ['LW', '0 9 LW * ? *', /"LW" is not enumerated/],
    ['5 fields', '0 9 * * ?', /6 fields/],
  ])('refuses %s rather than guess', (_name, body, message) => {
    expect(() => cronFireTimes(body, 'UTC', 2026)).toThrow(message);
  });
});

describe('missed-run window = longest gap + maxRunDuration + 10 min, in what CloudWatch can evaluate', () => {
  const run = Duration.hours(1);
  const window = (schedule: scheduler.ScheduleExpression, maxRun = run) => {
    const r = deriveMissedRunWindow(schedule, maxRun);
    if ('reason' in r) return r.reason;
    return `${r.evaluation.evaluationPeriods} × ${r.evaluation.period.toSeconds()} s`;
  };

  test.each<[string, scheduler.ScheduleExpression, Duration, string | RegExp]>([
    ['rate(15 minutes), 5 min runs', S.rate(Duration.minutes(15)), Duration.minutes(5), `1 × ${30 * 60} s`],
    ['rate(6 hours)', S.rate(Duration.hours(6)), run, `1 × ${(7 * 60 + 10) * 60} s`],
    ['rate(10 days)', S.rate(Duration.days(10)), run, /exceeds the 7 days/],
    ['cron every 15 minutes, 5 min runs', S.expression('cron(0/15 * * * ? *)'), Duration.minutes(5), `1 × ${30 * 60} s`],
    ['daily cron', S.cron({ minute: '0', hour: '2' }), run, `26 × ${HOUR} s`],
    ['daily cron in Europe/Berlin (DST skips 02:30 once a year)', S.cron({ minute: '30', hour: '2', timeZone: TimeZone.EUROPE_BERLIN }), run, `49 × ${HOUR} s`],
    ['weekdays only (Friday → Monday)', S.cron({ minute: '0', hour: '2', weekDay: 'MON-FRI' }), run, `74 × ${HOUR} s`],
    ['weekdays only, numeric 2-6', S.expression('cron(0 2 ? * 2-6 *)'), run, `74 × ${HOUR} s`],
    ['weekly', S.cron({ minute: '0', hour: '2', weekDay: 'MON' }), run, /longest gap between runs 7 d.*exceeds the 7 days/],
    ['twice a week', S.expression('cron(0 2 ? * MON,THU *)'), run, `${4 * 24 + 2} × ${HOUR} s`],
    ['one-time at()', S.at(new Date(Date.UTC(2027, 0, 1))), run, /one-time schedule/],
  ])('%s', (_name, schedule, maxRun, expected) => {
    const got = window(schedule, maxRun);
    if (typeof expected === 'string') expect(got).toBe(expected);
    else expect(got).toMatch(expected);
  });
});

describe('MonitoredScheduledTask without a possible window: no missed-run alarm, a synth warning', () => {
  function synth(schedule: scheduler.ScheduleExpression, extra = {}) {
    const stack = newStack();
    new MonitoredScheduledTask(stack, 'Job', minimalProps({ schedule, ...extra }));
    const alarms = Object.keys(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).filter((k) => k.includes('MissedRun'));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('missed-run'));
    return { alarms, warnings: warnings.map((w) => String(w.entry.data)) };
  }

  test.each([
    ['weekly cron', S.cron({ minute: '0', hour: '2', weekDay: 'MON' }), /exceeds the 7 days/],
    ['year restriction', S.expression('cron(0 2 * * ? 2027)'), /year field/],
  ])('%s', (_name, schedule, reason) => {
    const { alarms, warnings } = synth(schedule);
    expect(alarms).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(reason);
    expect(warnings[0]).toMatch(/Set missedRunWindow/);
  });

  test('a one-time at() schedule has no run to miss: no missed-run alarm, an info line instead of a warning', () => {
    const stack = newStack();
    new MonitoredScheduledTask(stack, 'Job', minimalProps({ schedule: S.at(new Date(Date.UTC(2027, 0, 1))) }));
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('one-time schedule: there is no next run to miss'))).toHaveLength(1);
    expect(Object.keys(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm')).filter((k) => k.includes('MissedRun'))).toEqual([]);
  });

  test('an explicit missedRunWindow still gives a weekly job its alarm; alarmOverrides.missedRun.enabled false silences it all', () => {
    const weekly = S.cron({ minute: '0', hour: '2', weekDay: 'MON' });
    expect(synth(weekly, { missedRunWindow: Duration.days(7) })).toEqual({ alarms: [expect.stringContaining('MissedRunAlarm')], warnings: [] });
    expect(synth(weekly, { alarmOverrides: { missedRun: { enabled: false } } })).toEqual({ alarms: [], warnings: [] });
  });

  test('every alarm can be switched off; `alarms` lists the created ones', () => {
    const stack = newStack();
    const task = new MonitoredScheduledTask(stack, 'Job', minimalProps({
      alarmOverrides: { memory: { enabled: false }, longRun: { enabled: false }, scheduleFailed: { enabled: false } },
    }));
    expect(task.alarms.memoryAlarm).toBeUndefined();
    expect(task.alarms.alarms.map((a) => a.node.id)).toEqual(['FailedRunAlarm', 'MissedRunAlarm']);
  });
});

test('ScheduledTaskAlarms on its own: without schedule or missedRunWindow, no missed-run alarm and a warning', () => {
  const stack = newStack();
  const task = new MonitoredScheduledTask(stack, 'Job', minimalProps());
  const alone = new ScheduledTaskAlarms(stack, 'Alone', {
    taskMetrics: task.taskMetrics, runEvents: task.runEvents, deadLetterQueue: task.deadLetterQueue,
  });
  expect(alone.missedRunAlarm).toBeUndefined();
  expect(alone.alarms.map((a) => a.node.id)).toEqual(['MemoryAlarm', 'FailedRunAlarm', 'LongRunAlarm', 'ScheduleFailedAlarm']);
  const warnings = Annotations.fromStack(stack).findWarning('/TestStack/Alone', Match.stringLikeRegexp('give schedule or missedRunWindow'));
  expect(warnings).toHaveLength(1);
  const given = new ScheduledTaskAlarms(stack, 'Given', {
    taskMetrics: task.taskMetrics, runEvents: task.runEvents, deadLetterQueue: task.deadLetterQueue, missedRunWindow: Duration.hours(30),
  });
  expect(given.missedRunWindow?.toHours()).toBe(30);
});

test('a flexible time window widens the derived missed-run window by its maxWindow', () => {
  const daily = S.cron({ minute: '0', hour: '2' });
  const plain = deriveMissedRunWindow(daily, Duration.hours(1));
  const flexible = deriveMissedRunWindow(daily, Duration.hours(1), Duration.hours(3));
  if ('reason' in plain || 'reason' in flexible) throw new Error('expected windows');
  // 24 h gap + 1 h run + 10 min margin → 26 hourly periods; with a 3 h flexible window → 29.
  expect(plain.evaluation.evaluationPeriods).toBe(26);
  expect(flexible.evaluation.evaluationPeriods).toBe(29);

  const stack = newStack();
  new MonitoredScheduledTask(stack, 'Job', minimalProps({ schedule: daily, timeWindow: scheduler.TimeWindow.flexible(Duration.hours(3)) }));
  Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
    Metrics: Match.arrayWith([Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Runs' }), Period: 3600 }) })]),
    ComparisonOperator: 'LessThanThreshold',
    EvaluationPeriods: 29,
  });
});

describe('missed-run alarm of a given missedRunWindow, evaluated over a timeline (test/support/cloudwatch-alarm-evaluator.ts)', () => {
  test.each([
    ['5 minutes (the shortest)', Duration.minutes(5), 300, 1],
    ['1 day (the longest single period)', Duration.days(1), 86_400, 1],
    ['25 hours', Duration.hours(25), 3600, 25],
    ['7 days (the longest)', Duration.days(7), 3600, 168],
  ])('%s: FILL(runs, 0) in %i s periods × %i; ALARM within a minute after a whole window without a run', (_name, missedRunWindow, period, periods) => {
    const stack = newStack();
    const task = new MonitoredScheduledTask(stack, 'Job', minimalProps({ missedRunWindow }));
    expect(task.alarms.missedRunWindow?.toSeconds()).toBe(missedRunWindow.toSeconds());
    const [props] = Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))
      .filter(([id]) => id.includes('MissedRun')).map(([, r]) => (r as any).Properties);
    expect(props.Metrics[1].MetricStat.Period).toBe(period);
    expect(props.EvaluationPeriods).toBe(periods);
    const lastRun = Date.UTC(2026, 0, 5, 3, 7);
    const runs = { Runs: [lastRun - 2 * 60_000, lastRun].map((timestamp) => ({ timestamp, value: 1, publishedAt: timestamp + 20_000 })) };
    for (const extraPeriods of [0, 2, 5]) {
      const evals = new AlarmModel(props, { extraPeriods }).run(runs, lastRun + 60_000, lastRun + missedRunWindow.toMilliseconds() + 3_600_000);
      expect(firstIn(evals, 'ALARM')!.time).toBe(lastRun + missedRunWindow.toMilliseconds() + 60_000);
    }
  });
});
