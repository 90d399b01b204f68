import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { FastScalingService } from '../../lib';
import { AlarmModel, RawDatapoint, transitions } from '../support/cloudwatch-alarm-evaluator';
import { newStack } from '../support/stacks';

/*
 * The service's alarms for people (memory, 5xx share, p99 response time), as synthesized, fed minute-by-minute ALB
 * data and evaluated as CloudWatch documents it (test/support/cloudwatch-alarm-evaluator.ts); below, with
 * `slackNotifications`, the TaskCrashes alarm fed the run-outcome handler's crash datums.
 */

const SEC = 1000;
const MIN = 60 * SEC;
const T0 = Date.UTC(2026, 5, 1, 12);

function serviceAlarms(): Record<string, any> {
  const stack = newStack();
  new FastScalingService(stack, 'Web', { container: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27') } });
  const out: Record<string, any> = {};
  for (const [logicalId, r] of Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))) {
    const id = /^WebAlarms([A-Za-z0-9]+Alarm)[0-9A-F]{8}$/.exec(logicalId)?.[1];
    if (id) out[id] = (r as any).Properties;
  }
  return out;
}

const alarms = serviceAlarms();
/** One datum per minute (as ALB publishes), 10 s into the minute, published 30 s later. */
const perMinute = (values: (number | undefined)[]): RawDatapoint[] => values.flatMap((value, i) => (value === undefined ? []
  : [{ timestamp: T0 + i * MIN + 10 * SEC, value, publishedAt: T0 + i * MIN + 40 * SEC }]));

test('the template holds the three alarms', () => {
  expect(Object.keys(alarms).sort()).toEqual(['Http5xxAlarm', 'MemoryAlarm', 'ResponseTimeAlarm']);
});

describe('5xx share: 100 × (target 5xx + ELB 5xx) / max(requests, 1) ≥ 5 % in 2 of 3 minutes', () => {
  const keyed = (requests: (number | undefined)[], t5xx: (number | undefined)[], elb5xx: (number | undefined)[]) => ({
    RequestCount: perMinute(requests), HTTPCode_Target_5XX_Count: perMinute(t5xx), HTTPCode_ELB_5XX_Count: perMinute(elb5xx),
  });

  test.each([0, 2, 5])('one bad minute does not alarm, two of three do, and it clears (%i extra periods)', (extraPeriods) => {
    const model = new AlarmModel(alarms.Http5xxAlarm, { extraPeriods });
    const requests = Array(20).fill(100);
    const t5xx: (number | undefined)[] = Array(20).fill(undefined);
    t5xx[3] = 10; // 10 % in minute 3 alone
    t5xx[8] = 6; // 6 % and 7 % in minutes 8 and 10: 2 of 3 at 11:00, 1 of 3 at 12:00
    t5xx[10] = 7;
    const evals = model.run(keyed(requests, t5xx, []), T0 + MIN, T0 + 20 * MIN);
    expect(transitions(evals).map(([t, s]) => [(t - T0) / MIN, s])).toEqual([[1, 'OK'], [11, 'ALARM'], [12, 'OK']]);
  });

  test('the load balancer\'s own 5xx count too, and a quiet service (no requests, no errors) stays OK', () => {
    const model = new AlarmModel(alarms.Http5xxAlarm);
    const quiet = model.run(keyed([], [], []), T0, T0 + 10 * MIN);
    expect(quiet.every((e) => e.state === 'OK')).toBe(true);
    const elb = model.run(keyed([50, 50, 50], [], [undefined, 5, 5]), T0 + MIN, T0 + 5 * MIN);
    expect(transitions(elb).map(([t, s]) => [(t - T0) / MIN, s])).toEqual([[1, 'OK'], [3, 'ALARM'], [5, 'OK']]);
  });
});

test.each([0, 2])('p99 response time ≥ 2 s for 3 minutes: three slow minutes alarm, two do not (%i extra periods)', (extraPeriods) => {
  const model = new AlarmModel(alarms.ResponseTimeAlarm, { extraPeriods });
  expect(alarms.ResponseTimeAlarm).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 2, EvaluationPeriods: 3 });
  const slow = (minutes: number[]) => Array.from({ length: 20 }, (_, i) => (minutes.includes(i) ? 2.5 : 0.1));
  const two = model.run({ TargetResponseTime: perMinute(slow([4, 5])) }, T0 + MIN, T0 + 20 * MIN);
  expect(two.some((e) => e.state === 'ALARM')).toBe(false);
  const three = model.run({ TargetResponseTime: perMinute(slow([4, 5, 6])) }, T0 + MIN, T0 + 20 * MIN);
  expect(transitions(three).map(([t, s]) => [(t - T0) / MIN, s])).toEqual([[1, 'OK'], [7, 'ALARM'], [8, 'OK']]);
});

test('memory: one high 10 s sample of any task alarms at the next 10 s evaluation', () => {
  const model = new AlarmModel(alarms.MemoryAlarm);
  const data = Array.from({ length: 60 }, (_, i) => ({
    timestamp: T0 + i * 10 * SEC, value: i === 20 ? 93 : 50, publishedAt: T0 + i * 10 * SEC + SEC,
  }));
  const evals = model.run({ MemoryUtilization: data }, T0 + 10 * SEC, T0 + 10 * MIN);
  expect(transitions(evals).map(([t, s]) => [(t - T0) / SEC, s])).toEqual([[10, 'OK'], [210, 'ALARM'], [240, 'OK']]);
});

/*
 * TaskCrashes: FILL(Sum of the run-outcome handler's crash datums (ClusterName + ServiceName), 0) ≥ 3 in one 5-minute
 * period, missing data notBreaching.
 *
 * What the handler publishes (lib/notifier/service-events.ts, `publishCrash`): one PutMetricData call per crashed task
 * when its STOPPED event arrives, one datum Value 1 with the alarm's two dimensions (and another with `Reason` added:
 * another metric, which the alarm does not read), stamped `Timestamp: new Date()`, the HANDLER's clock at publish time,
 * not the crash's time. So the period a crash counts in is the period of its publication; its datum is modelled with
 * `timestamp` = `publishedAt` = the publish instant (PutMetricData's round trip: ASSUMPTION, instantaneous).
 *
 * The publish delay after the crash (the app container's exit, `executionStoppedAt`): ECS emits the STOPPED event when
 * the task reaches STOPPED, after teardown: `stoppedAt` − `executionStoppedAt` = 22.6 s in the real failed-health-check
 * event (test/fixtures/service-events/kotlinx_…_v6.json; its `time` is within 1 s of `stoppedAt`), "23 s to minutes"
 * (shared REFERENCE §6). EventBridge delivery and the Lambda start add seconds (ASSUMPTION). So every case runs with
 * delays of 5 s (a task that never started: no teardown), 25 s, 90 s, 180 s, and a mix of them from crash to crash.
 */
const PERIOD = 5 * MIN;

let crashStacks = 0;
function crashAlarmOf(taskCrashes: { threshold?: number } = {}): any {
  const stack = newStack(`Crashes${crashStacks++}`);
  new FastScalingService(stack, 'Web', {
    container: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27') },
    slackNotifications: {
      successWebhook: secretsmanager.Secret.fromSecretNameV2(stack, 'Ok', 'slack/ok'),
      failureWebhook: secretsmanager.Secret.fromSecretNameV2(stack, 'Ko', 'slack/ko'),
    },
    // Explicitly enabled: the test holds whether the alarm is on or off by default.
    alarmOverrides: { taskCrashes: { enabled: true, ...taskCrashes } },
  });
  const found = Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))
    .filter(([logicalId]) => /^WebIncidentsTaskCrashesAlarm[0-9A-F]{8}$/.test(logicalId));
  if (found.length !== 1) throw new Error(`expected one TaskCrashes alarm, found ${found.length}`);
  return (found[0][1] as any).Properties;
}

const crashAlarm = crashAlarmOf();
const crashAlarmThreshold1 = crashAlarmOf({ threshold: 1 });

/**
 * The readings of what AWS leaves open (test/support/cloudwatch-alarm-evaluator.ts): the evaluation range
 * (`extraPeriods`) and where a 5-minute period starts (`windowAlignment`: 'evaluation', the documented sliding periods
 * ending at each once-a-minute evaluation [UG-EVAL]/[UG-LAMBDA]; 'period', whole periods since the epoch, ASSUMPTION).
 */
type Reading = { readonly windowAlignment: 'evaluation' | 'period'; readonly extraPeriods: number; readonly fillEmptySeries: boolean };
const readings = (windowAlignment: Reading['windowAlignment']): Reading[] =>
  [0, 2, 5].flatMap((extraPeriods) => [false, true].map((fillEmptySeries) => ({ windowAlignment, extraPeriods, fillEmptySeries })));
const SLIDING = readings('evaluation');
const ALIGNED = readings('period');
const READINGS = [...SLIDING, ...ALIGNED];

/** Seconds from a crash to the handler's publication, by crash number. */
const DELAYS: Record<string, (i: number) => number> = {
  '5 s': () => 5, '25 s': () => 25, '90 s': () => 90, '180 s': () => 180, 'mixed 5–180 s': (i) => [90, 5, 180, 25, 60][i % 5],
};
/** Cases as [sliding | aligned, extra periods, FILL of an empty series, delay]. */
const CASES = READINGS.flatMap((r) => Object.keys(DELAYS).map((delay) => [labelOf(r), r.extraPeriods, r.fillEmptySeries, delay] as const));
function labelOf(r: Reading): 'sliding' | 'aligned' { return r.windowAlignment === 'evaluation' ? 'sliding' : 'aligned'; }
const readingOf = (label: 'sliding' | 'aligned', extraPeriods: number, fillEmptySeries: boolean): Reading =>
  ({ windowAlignment: label === 'sliding' ? 'evaluation' : 'period', extraPeriods, fillEmptySeries });

/** The handler's datums for crashes at these instants (ms), published `delay` later; sorted publish instants too. */
function published(crashes: number[], delay: (i: number) => number): { points: RawDatapoint[]; at: number[] } {
  const at = crashes.map((c, i) => c + delay(i) * SEC).sort((a, b) => a - b);
  return { points: at.map((p) => ({ timestamp: p, value: 1, publishedAt: p })), at };
}

/** The first once-a-minute evaluation whose newest period holds a datum published at `p` (ms). */
function firstSeeing(p: number, reading: Reading): number {
  // Sliding: the newest period of the evaluation at t is [t − 5 min, t) [UG-EVAL]; aligned: the last whole period.
  return reading.windowAlignment === 'evaluation' ? Math.floor(p / MIN) * MIN + MIN : Math.floor(p / PERIOD) * PERIOD + PERIOD;
}

/** The first evaluation whose whole evaluation range (1 + extraPeriods periods) is after the datum published at `p`. */
function firstPast(p: number, reading: Reading): number {
  // Sliding: the range [t − (1 + extra) × 5 min, t) has passed p at the first whole minute after p + (1 + extra) × 5 min;
  // aligned: at the period end (1 + extra) periods after the end of p's period.
  return firstSeeing(p, reading) + (reading.extraPeriods + 1) * PERIOD;
}

const minutes = (t: number) => (t - T0) / MIN;

describe('TaskCrashes: Sum of the handler\'s crash datums ≥ 3 in one 5-minute period, missing data notBreaching', () => {
  test('the synthesized alarm reads the datum the handler publishes (TaskCrashes, ClusterName + ServiceName) through FILL(…, 0)', () => {
    expect(crashAlarm).toMatchObject({
      EvaluationPeriods: 1,
      Threshold: 3,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(crashAlarm.DatapointsToAlarm ?? 1).toBe(1);
    const [fill, crashes] = crashAlarm.Metrics;
    expect(fill).toMatchObject({ Expression: 'FILL(crashes, 0)', ReturnData: true });
    expect(crashes).toMatchObject({
      Id: 'crashes', ReturnData: false, MetricStat: { Metric: { Namespace: 'FargateMonitor', MetricName: 'TaskCrashes' }, Period: 300, Stat: 'Sum' },
    });
    // The evaluator does not match dimensions: the alarm must read the handler's datum WITHOUT `Reason`.
    expect(crashes.MetricStat.Metric.Dimensions.map((d: any) => d.Name)).toEqual(['ClusterName', 'ServiceName']);
  });

  // (a) One crash a minute for 30 minutes (crash i at i min 20 s).
  const loop = Array.from({ length: 30 }, (_, i) => T0 + i * MIN + 20 * SEC);
  const END = T0 + 90 * MIN;

  test.each(CASES)('(a) a crash loop of one task a minute for 30 minutes alarms within 5 minutes of the datum of its 3rd crash and stays in ALARM while it goes on (%s periods, %i extra, FILL of empty %s, delay %s)', (alignment, extra, fillEmpty, delay) => {
    const reading = readingOf(alignment, extra, fillEmpty);
    const { points, at } = published(loop, DELAYS[delay]);
    const evals = new AlarmModel(crashAlarm, reading).run({ TaskCrashes: points }, T0, END);
    expect(evals[0].state).toBe('OK');
    const alarmAt = evals.find((e) => e.state === 'ALARM')?.time;
    // Not before the 3rd datum is published; by the end of the first period holding it (on every reading: the period
    // that holds the 3rd datum holds at least 3 once it ends, the loop going on); sliding: the very next evaluation.
    expect(alarmAt).toBeGreaterThan(at[2]);
    expect(alarmAt! - at[2]).toBeLessThanOrEqual(PERIOD);
    expect(alarmAt).toBe(firstSeeing(at[2], reading));
    // ALARM at every evaluation from then until the last crash is published.
    expect(evals.filter((e) => e.time >= alarmAt! && e.time <= at[29]).map((e) => e.state)).not.toContain('OK');
    // Ends OK, for good once no period in the evaluation range holds 3 datums: at the latest when the range has passed
    // the last datum.
    const [okForGood, last] = transitions(evals).at(-1)!;
    expect(last).toBe('OK');
    expect(okForGood).toBeLessThanOrEqual(firstPast(at[29], reading));
  });

  // One ALARM episode per crash loop, on every reading. FILL makes every period a real datapoint, so the newest period
  // decides; on the raw metric, with sliding periods and a range longer than one period, the most recent REAL
  // datapoint decided once the newest period was empty ([UG-MISSING] "CloudWatch evaluates the alarm state based on the
  // most recent real data points"): an older period still holding ≥ 3 crashes, and the alarm went OK, ALARM, OK again
  // (2 extra, 5 s: ALARM 12:03, OK 12:33, ALARM 12:35, OK 12:38, ALARM 12:40, OK 12:43).
  test.each(CASES)('(a) after the loop stops: one ALARM episode, then OK (%s periods, %i extra, FILL of empty %s, delay %s)', (alignment, extra, fillEmpty, delay) => {
    const reading = readingOf(alignment, extra, fillEmpty);
    const { points, at } = published(loop, DELAYS[delay]);
    const evals = new AlarmModel(crashAlarm, reading).run({ TaskCrashes: points }, T0, END);
    const changes = transitions(evals);
    expect(changes.map(([, s]) => s)).toEqual(['OK', 'ALARM', 'OK']);
    const okAt = changes[2][0];
    if (alignment === 'sliding') {
      // OK at the first evaluation whose 5 minutes hold only the last 2 datums, whatever the range.
      expect(okAt).toBe(Math.floor((at[27] + PERIOD) / MIN) * MIN + MIN);
    } else {
      // Aligned: at the end of the first period holding fewer than 3, at the latest the one after the last datum's.
      expect(okAt % PERIOD).toBe(0);
      expect(okAt).toBeLessThanOrEqual(firstSeeing(at[29], reading) + PERIOD);
    }
  });

  test.each(CASES)('(b) one crash, or two in 5 minutes, never alarm (%s periods, %i extra, FILL of empty %s, delay %s)', (alignment, extra, fillEmpty, delay) => {
    const model = new AlarmModel(crashAlarm, readingOf(alignment, extra, fillEmpty));
    for (const crashes of [[T0 + 2 * MIN], [T0 + 2 * MIN, T0 + 2 * MIN + 10 * SEC], [T0 + MIN, T0 + 5 * MIN + 50 * SEC]]) {
      const evals = model.run({ TaskCrashes: published(crashes, DELAYS[delay]).points }, T0, T0 + 60 * MIN);
      expect(evals.map((e) => e.state)).toEqual(evals.map(() => 'OK'));
    }
  });

  // (c) Three crashes published 2 before and 1 after a boundary of the epoch-aligned 5-minute periods (12:05), within
  // 2 minutes (publish instants: a crash's own time only shifts its datum by the delay). The alarm counts them together
  // only if its 5 minutes may start at any minute. The evaluator's documented rule is that they do (`rangeAt`: [UG-EVAL]
  // "at the end of minute 6, the alarm is evaluated based on the data from minutes 2 to 6"; [UG-LAMBDA] "timestamps
  // starting at any minute, not only multiples of the period length"); periods aligned to the epoch are its ASSUMPTION
  // option (`windowAlignment: 'period'`). Both are run: the outcome differs, so no test here may rest on either.
  const straddling = [T0 + 5 * MIN - 100 * SEC, T0 + 5 * MIN - 40 * SEC, T0 + 5 * MIN + 20 * SEC];
  test.each(SLIDING)('(c) 3 crashes in 2 minutes across 12:05 ALARM at 12:06 when the periods slide, ending at each once-a-minute evaluation ([UG-EVAL], [UG-LAMBDA]) ($extraPeriods extra, FILL of empty $fillEmptySeries)', (reading) => {
    const points = straddling.map((p) => ({ timestamp: p, value: 1, publishedAt: p }));
    const evals = new AlarmModel(crashAlarm, reading).run({ TaskCrashes: points }, T0, T0 + 40 * MIN);
    expect(minutes(evals.find((e) => e.state === 'ALARM')!.time)).toBe(6);
  });

  test.each(ALIGNED)('(c) the same 3 crashes (2 + 1 across 12:05) never alarm if the periods are aligned to the epoch (windowAlignment \'period\', ASSUMPTION) ($extraPeriods extra, FILL of empty $fillEmptySeries)', (reading) => {
    const points = straddling.map((p) => ({ timestamp: p, value: 1, publishedAt: p }));
    const evals = new AlarmModel(crashAlarm, reading).run({ TaskCrashes: points }, T0, T0 + 40 * MIN);
    expect(evals.map((e) => e.state)).toEqual(evals.map(() => 'OK'));
    // The aligned periods see 2 (12:00–12:05) and 1 (12:05–12:10).
    expect([5, 10].map((m) => evals.find((e) => e.time === T0 + m * MIN)!.values.at(-1))).toEqual([2, 1]);
  });

  test.each(CASES)('(c) on every reading: 3 crashes spread over more than 5 minutes (2 + 1) never alarm (%s periods, %i extra, FILL of empty %s, delay %s)', (alignment, extra, fillEmpty, delay) => {
    const crashes = [T0 + 3 * MIN, T0 + 4 * MIN, T0 + 12 * MIN];
    const { points, at } = published(crashes, DELAYS[delay]);
    expect(at[2] - at[0]).toBeGreaterThan(PERIOD); // whatever the delays (5–180 s)
    const evals = new AlarmModel(crashAlarm, readingOf(alignment, extra, fillEmpty)).run({ TaskCrashes: points }, T0, T0 + 60 * MIN);
    expect(evals.map((e) => e.state)).toEqual(evals.map(() => 'OK'));
  });

  test.each(CASES)('(d) with threshold 1, one crash alarms within one period of its publication, then OK (%s periods, %i extra, FILL of empty %s, delay %s)', (alignment, extra, fillEmpty, delay) => {
    const reading = readingOf(alignment, extra, fillEmpty);
    const one = crashAlarmThreshold1;
    expect(one.Threshold).toBe(1);
    const { points, at } = published([T0 + 7 * MIN + 20 * SEC], DELAYS[delay]);
    const changes = transitions(new AlarmModel(one, reading).run({ TaskCrashes: points }, T0, T0 + 60 * MIN));
    expect(changes.map(([, s]) => s)).toEqual(['OK', 'ALARM', 'OK']);
    expect(changes[1][0] - at[0]).toBeLessThanOrEqual(PERIOD);
    expect(changes[1][0]).toBe(firstSeeing(at[0], reading));
    // OK at the first evaluation whose newest period no longer holds the datum (FILL: that period is a real 0).
    expect(changes[2][0]).toBe(firstSeeing(at[0], reading) + PERIOD);
  });

  test.each(READINGS.map((r) => [labelOf(r), r.extraPeriods, r.fillEmptySeries, r] as const))('(e) no crash at all: OK from the first evaluation on (notBreaching) (%s periods, %i extra, FILL of empty %s)', (_label, _extra, _fill, reading) => {
    const evals = new AlarmModel(crashAlarm, reading).run({}, T0, T0 + 60 * MIN);
    expect(evals).toHaveLength(61);
    expect(evals.map((e) => e.state)).toEqual(evals.map(() => 'OK'));
  });
});
