import { AlarmModel, AlarmState, evaluateRange, MissingDataTreatment, RangePoint, transitions } from './cloudwatch-alarm-evaluator';

const MIN = 60_000;
const points = (row: string) => row.trim().split(/\s+/) as RangePoint[];
const COLUMNS: MissingDataTreatment[] = ['missing', 'ignore', 'breaching', 'notBreaching'];
const RETAIN = 'retain';

describe('the User Guide tables "How alarm state is evaluated when data is missing", every row and column', () => {
  // First table: Datapoints to Alarm 3, Evaluation Periods 3, evaluation range 5.
  // Columns: MISSING | IGNORE | BREACHING | NOT BREACHING.
  const threeOfThree: [string, (AlarmState | typeof RETAIN)[]][] = [
    ['0 - X - X', ['OK', 'OK', 'OK', 'OK']],
    ['0 - - - -', ['OK', 'OK', 'OK', 'OK']],
    ['- - - - -', ['INSUFFICIENT_DATA', RETAIN, 'ALARM', 'OK']],
    ['0 X X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['- - X - -', ['ALARM', RETAIN, 'ALARM', 'OK']],
  ];
  // Second table: Datapoints to Alarm 2, Evaluation Periods 3 (2 out of 3), evaluation range 5.
  const twoOfThree: [string, (AlarmState | typeof RETAIN)[]][] = [
    ['0 - X - X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['0 0 X 0 X', ['ALARM', 'ALARM', 'ALARM', 'ALARM']],
    ['0 - X - -', ['OK', 'OK', 'ALARM', 'OK']],
    ['- - - - 0', ['OK', 'OK', 'ALARM', 'OK']],
    ['- - - X -', ['ALARM', RETAIN, 'ALARM', 'OK']],
  ];

  const cases = [
    ...threeOfThree.flatMap(([row, states]) => states.map((s, i) => [3, row, COLUMNS[i], s] as const)),
    ...twoOfThree.flatMap(([row, states]) => states.map((s, i) => [2, row, COLUMNS[i], s] as const)),
  ];
  test.each(cases)('%i of 3, "%s", %s → %s', (m, row, treatment, expected) => {
    for (const current of ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as AlarmState[]) {
      expect(evaluateRange(points(row), 3, m, treatment, current)).toBe(expected === RETAIN ? current : expected);
    }
  });

  test('premature alarm: "- - - - X" and "- - - X -" do not go to ALARM with 3 of 3 when missing data is missing', () => {
    expect(evaluateRange(points('- - - - X'), 3, 3, 'missing', 'OK')).toBe('OK');
    expect(evaluateRange(points('- - - X -'), 3, 3, 'missing', 'OK')).toBe('OK');
    expect(evaluateRange(points('- - - X 0'), 3, 3, 'missing', 'ALARM')).toBe('OK');
  });
});

/** A single-metric alarm's properties as CDK synthesizes them. */
function alarm(overrides: Record<string, unknown> = {}) {
  return {
    Namespace: 'Test',
    MetricName: 'M',
    Statistic: 'Sum',
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    ...overrides,
  };
}

describe('periods and evaluation instants', () => {
  test('periods of a minute or more: evaluated every minute over windows that slide with it (the User Guide example)', () => {
    // "if the Period is 5 minutes … at the end of minute 5 the alarm evaluates based on data from minutes 1 to 5. Then
    // at the end of minute 6, … minutes 2 to 6."
    const model = new AlarmModel(alarm(), { extraPeriods: 0 });
    expect(model.cadence).toBe(60);
    const evals = model.run({ M: [{ timestamp: 0.5 * MIN, value: 1 }] }, 0, 10 * MIN);
    expect(evals.filter((e) => e.state === 'ALARM').map((e) => e.time / MIN)).toEqual([1, 2, 3, 4, 5]);
  });

  test('high-resolution periods are evaluated every 10 seconds', () => {
    const model = new AlarmModel(alarm({ Period: 30, Statistic: 'Maximum', Threshold: 90 }), { extraPeriods: 0 });
    expect(model.cadence).toBe(10);
    const evals = model.run({ M: [{ timestamp: 95_000, value: 95 }] }, 0, 200_000);
    expect(transitions(evals)).toEqual([[0, 'OK'], [100_000, 'ALARM'], [130_000, 'OK']]);
  });

  test('a datapoint counts from the evaluation after it is published; a late one only through the evaluation range', () => {
    const late = { M: [{ timestamp: 30_000, value: 1, publishedAt: 90_000 }] }; // in [0:00, 1:00), visible from 1:30
    // Without extra periods the window of its timestamp has slid past when it arrives: never seen.
    expect(transitions(new AlarmModel(alarm({ Period: 60 }), { extraPeriods: 0 }).run(late, 0, 5 * MIN))).toEqual([[0, 'OK']]);
    // With two, it is a real datapoint of the range from 2:00 to 3:00, and "the most recent real data points" are evaluated.
    expect(transitions(new AlarmModel(alarm({ Period: 60 }), { extraPeriods: 2 }).run(late, 0, 5 * MIN)))
      .toEqual([[0, 'OK'], [2 * MIN, 'ALARM'], [4 * MIN, 'OK']]);
  });

  test('a lone datum keeps being evaluated while it is in the range ("might repeatedly re-evaluate the last set of data points")', () => {
    const evals = new AlarmModel(alarm({ Period: 60 }), { extraPeriods: 2 }).run({ M: [{ timestamp: 30_000, value: 1 }] }, 0, 5 * MIN);
    expect(transitions(evals)).toEqual([[0, 'OK'], [MIN, 'ALARM'], [4 * MIN, 'OK']]);
  });

  test.each([
    ['Sum', 6], ['Average', 2], ['Maximum', 3], ['Minimum', 1], ['SampleCount', 3], ['p50', 2], ['p99', 3],
  ])('statistic %s of one period', (stat, expected) => {
    const model = new AlarmModel(alarm({ Statistic: stat, Period: 60 }));
    const data = [1, 2, 3].map((value, i) => ({ timestamp: 10_000 * (i + 1), value }));
    expect(model.rangeAt({ M: data }, MIN).at(-1)).toBe(expected);
  });
});

describe('the evaluation range: a real datapoint in it outweighs missing data treated as breaching', () => {
  const absence = (extraPeriods: number) => new AlarmModel(
    alarm({ Period: 3600, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' }), { extraPeriods });

  test.each([0, 1, 2, 3, 5])('with %i extra periods, a 1-hour "Sum < 1" alarm on a lone datum fires only after the whole range', (extra) => {
    const evals = absence(extra).run({ M: [{ timestamp: 0, value: 1 }] }, MIN, 12 * 3600_000);
    const firstAlarm = evals.find((e) => e.state === 'ALARM')!.time;
    // The datum is a real non-breaching datapoint for as long as it is in the range of (1 + extra) hourly windows.
    expect(firstAlarm).toBe((1 + extra) * 3600_000 + MIN);
  });

  test('through FILL(m, 0) the empty periods are real zeros and the alarm fires as soon as the window is empty', () => {
    const props = {
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Metrics: [
        { Id: 'expr_1', Expression: 'FILL(runs, 0)', ReturnData: true },
        { Id: 'runs', MetricStat: { Metric: { Namespace: 'Test', MetricName: 'M' }, Period: 3600, Stat: 'Sum' }, ReturnData: false },
      ],
    };
    for (const extraPeriods of [0, 2, 5]) {
      const evals = new AlarmModel(props, { extraPeriods }).run({ M: [{ timestamp: 0, value: 1 }] }, MIN, 12 * 3600_000);
      expect(evals.find((e) => e.state === 'ALARM')!.time).toBe(3600_000 + MIN);
    }
  });

  test('FILL of a metric without any datapoint: empty (assumed) or zeros, the "< 1, missing breaching" alarm is in ALARM either way', () => {
    const props = {
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Metrics: [
        { Id: 'e', Expression: 'FILL(m, 0)' },
        { Id: 'm', MetricStat: { Metric: { Namespace: 'Test', MetricName: 'M' }, Period: 3600, Stat: 'Sum' }, ReturnData: false },
      ],
    };
    for (const fillEmptySeries of [false, true]) {
      const model = new AlarmModel(props, { fillEmptySeries });
      expect(model.rangeAt({}, 0).every((v) => (fillEmptySeries ? v === 0 : v === undefined))).toBe(true);
      expect(model.run({}, 0, 0)[0].state).toBe('ALARM');
    }
  });
});

describe('metric math', () => {
  const share = {
    EvaluationPeriods: 3,
    DatapointsToAlarm: 2,
    Threshold: 5,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
    Metrics: [
      { Id: 'expr_1', Expression: '100 * (FILL(t5xx, 0) + FILL(elb5xx, 0)) / MAX([requests, 1])', ReturnData: true },
      ...['t5xx', 'elb5xx', 'requests'].map((id) => ({
        Id: id, MetricStat: { Metric: { Namespace: 'AWS/ApplicationELB', MetricName: id }, Period: 60, Stat: 'Sum' }, ReturnData: false,
      })),
    ],
  };

  test('the service 5xx share: (target + load balancer 5xx) / max(requests, 1), in percent', () => {
    const model = new AlarmModel(share, { extraPeriods: 0 });
    const at = (minute: number, value: number) => ({ timestamp: minute * MIN + 1000, value });
    const timeline = {
      requests: [at(0, 100), at(1, 200), at(2, 50)],
      t5xx: [at(0, 3), at(2, 5)],
      elb5xx: [at(1, 20)],
    };
    expect(model.rangeAt(timeline, 3 * MIN)).toEqual([3, 10, 10]);
  });

  test('no 5xx series ever published: 0 % in every period (the scalar of MAX([requests, 1]) is in every period)', () => {
    const model = new AlarmModel(share, { extraPeriods: 0 });
    const timeline = { requests: [{ timestamp: 1000, value: 10 }], t5xx: [], elb5xx: [] };
    // FILL leaves the never-published 5xx series empty (assumption); arithmetic treats the missing numerator as 0.
    expect(model.rangeAt(timeline, 3 * MIN)).toEqual([0, 0, 0]);
  });

  test('unknown functions and ids are refused rather than guessed', () => {
    const props = (expr: string) => ({ ...share, Metrics: [{ Id: 'e', Expression: expr }, share.Metrics[1]] });
    expect(() => new AlarmModel(props('RATE(t5xx)')).rangeAt({}, 0)).toThrow(/RATE is not modelled/);
    expect(() => new AlarmModel(props('x + 1')).rangeAt({}, 0)).toThrow(/unknown metric id "x"/);
  });
});
