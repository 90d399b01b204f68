/**
 * A model of how CloudWatch evaluates a metric alarm, for tests that feed timelines of raw datapoints to the alarms a
 * template really contains (the `Properties` of an `AWS::CloudWatch::Alarm` from `Template.fromStack(...)`).
 *
 * Every rule cites its source:
 * - [UG-EVAL] CloudWatch User Guide, "Using Amazon CloudWatch alarms" (now the page "Alarm evaluation"), section
 *   "Evaluating an alarm". Text as archived in awsdocs/amazon-cloudwatch-user-guide (commit b355497,
 *   doc_source/AlarmThatSendsEmail.md); the current page keeps the same sections.
 * - [UG-MISSING] same page, "Configuring how CloudWatch alarms treat missing data" and its subsection "How alarm state
 *   is evaluated when data is missing" (the two tables), and "Avoiding premature transitions to alarm state".
 * - [UG-MATH] User Guide, "Using metric math" (using-metric-math.md), "Metric math syntax and functions".
 * - [API-PMA] CloudWatch API Reference, PutMetricAlarm, parameter `Period`.
 * - [UG-LAMBDA] User Guide, "Limits" for alarms on connected data sources: "When CloudWatch evaluates alarms, it
 *   evaluates every minute even if the period is longer than 1 minute … timestamps starting at any minute, not only
 *   multiples of the period length … spaced one period apart."
 *
 * What AWS does not document is an option or a stated assumption (marked ASSUMPTION):
 * - the length of the evaluation range (awsdocs/amazon-cloudwatch-user-guide issue #102 asked for it; never answered):
 *   `extraPeriods`, default 2 from the documented example (Evaluation Periods 3, evaluation range 5);
 * - what `FILL` returns when the metric has no datapoint at all in the range: `fillEmptySeries`, default false
 *   (nothing: the expression stays empty);
 * - where the period windows start: `windowAlignment`, default `evaluation` (documented sliding windows ending at the
 *   evaluation instant), or `period` (whole periods since the epoch, for robustness checks);
 * - the state after an evaluation the documentation leaves open (treat missing as `missing`, fewer real datapoints than
 *   Evaluation Periods, all of them breaching but too recent for the premature-alarm rule): the current state is kept,
 *   as the documented `ignore` column does in the same rows;
 * - 20-second periods are evaluated every 10 seconds like 10 and 30 s (the archived text names only 10 and 30);
 * - percentiles are nearest-rank over the raw values (CloudWatch approximates); `Unit` and `Dimensions` are not
 *   matched (a timeline is keyed by metric name, one series per name);
 * - ingestion is instantaneous unless a datapoint says when it was published (`publishedAt`).
 */

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type MissingDataTreatment = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** One raw datapoint as PutMetricData (or EMF) delivers it. Times in epoch milliseconds. */
export interface RawDatapoint {
  readonly timestamp: number;
  readonly value: number;
  /** When CloudWatch has it (an alarm evaluated before this cannot see it). @default timestamp */
  readonly publishedAt?: number;
}

/** Raw datapoints by metric name (`MetricName`, or `Namespace/MetricName` when names repeat). */
export type Timeline = Record<string, RawDatapoint[]>;

export interface EvaluatorOptions {
  /**
   * Evaluation range = EvaluationPeriods + extraPeriods datapoints. [UG-MISSING] "CloudWatch attempts to retrieve a
   * higher number of data points than the number specified as Evaluation Periods. The exact number of data points it
   * attempts to retrieve depends on the length of the alarm period and whether it is based on a metric with standard
   * resolution or high resolution." The only example: "CloudWatch retrieves the 5 most recent data points when
   * evaluating the alarm, in case some of the most recent 3 data points are missing."
   *
   * @default 2 (ASSUMPTION)
   */
  readonly extraPeriods?: number;
  /** ASSUMPTION: whether FILL fills a series that has no datapoint at all in the range. @default false */
  readonly fillEmptySeries?: boolean;
  /** ASSUMPTION (see file comment). @default 'evaluation' */
  readonly windowAlignment?: 'evaluation' | 'period';
  /** [UG-EVAL] "INSUFFICIENT_DATA – The alarm has just started …". @default 'INSUFFICIENT_DATA' */
  readonly initialState?: AlarmState;
}

/** One evaluation: its instant, the datapoints of the range (oldest first; undefined = missing), the state after it. */
export interface Evaluation {
  readonly time: number;
  readonly values: (number | undefined)[];
  readonly state: AlarmState;
}

/** A datapoint of the evaluation range as the tables of [UG-MISSING] write it: `0` not breaching, `X` breaching, `-` missing. */
export type RangePoint = '0' | 'X' | '-';

/**
 * The state after one evaluation of a range of datapoints (oldest first), as [UG-MISSING] describes it. Verified
 * against every row of both documented tables (test/support/cloudwatch-alarm-evaluator.test.ts).
 */
export function evaluateRange(range: RangePoint[], evaluationPeriods: number, datapointsToAlarm: number,
  treatment: MissingDataTreatment, current: AlarmState): AlarmState {
  const n = evaluationPeriods;
  const m = datapointsToAlarm;
  const real = range.map((p, i) => ({ p, age: range.length - i })).filter((x) => x.p !== '-');
  if (real.length >= n) {
    // [UG-MISSING] "If no data points in the evaluation range are missing, CloudWatch evaluates the alarm based on the
    // most recent data points collected. The number of data points evaluated is equal to the Evaluation Periods" and
    // "If some data points in the evaluation range are missing, but the total number of existing data points that were
    // successfully retrieved from the evaluation range is equal to or more than the alarm's Evaluation Periods,
    // CloudWatch evaluates the alarm state based on the most recent real data points … In this case, the value you set
    // for how to treat missing data is not needed and is ignored."
    // [UG-EVAL] "Datapoints to Alarm is the number of data points within the Evaluation Periods that must be breaching".
    const breaching = real.slice(-n).filter((x) => x.p === 'X').length;
    return breaching >= m ? 'ALARM' : 'OK';
  }
  // [UG-MISSING] "If some data points in the evaluation range are missing, and the number of actual data points that were
  // retrieved is lower than the alarm's number of Evaluation Periods, CloudWatch fills in the missing data points with
  // the result you specified for how to treat missing data … all real data points in the evaluation range are included
  // in the evaluation. CloudWatch uses missing data points only as few times as possible."
  const fills = n - real.length;
  const breachingReal = real.filter((x) => x.p === 'X').length;
  // [UG-MISSING] "breaching – Missing data points are treated as "bad" and breaching the threshold".
  if (treatment === 'breaching') return breachingReal + fills >= m ? 'ALARM' : 'OK';
  // [UG-MISSING] "notBreaching – Missing data points are treated as "good" and within the threshold".
  if (treatment === 'notBreaching') return breachingReal >= m ? 'ALARM' : 'OK';
  if (real.length === 0) {
    // [UG-MISSING] "missing – If all data points in the alarm evaluation range are missing, the alarm transitions to
    // INSUFFICIENT_DATA"; "ignore – The current alarm state is maintained" (table row "- - - - -": Retain current state).
    return treatment === 'missing' ? 'INSUFFICIENT_DATA' : current;
  }
  if (breachingReal >= m) return 'ALARM';
  if (treatment === 'missing' && real.every((x) => x.p === 'X') && real[0].age >= m) {
    // [UG-MISSING] "Avoiding premature transitions": "alarms are designed to always go into ALARM state when the oldest
    // available breaching datapoint during the Evaluation Periods number of data points is at least as old as the value
    // of Datapoints to Alarm, and all other more recent data points are breaching or missing … even if missing data
    // points are treated as missing." The tables fix the reading: `- - X - -` (3 of 3) and `- - - X -` (2 of 3) go to
    // ALARM under MISSING, `0 - X - -` (2 of 3) stays OK: the oldest real datapoint of the range must be the breaching
    // one. The IGNORE column of the same rows keeps the current state, so the rule is not applied there.
    return 'ALARM';
  }
  // Tables, MISSING and IGNORE columns: `0 - - - -`, `0 - X - -`, `- - - - 0` are OK (a real datapoint within the
  // threshold and too few breaching ones).
  if (real.some((x) => x.p === '0')) return 'OK';
  // `- - X - -` / `- - - X -` under IGNORE: "Retain current state". Under MISSING for `- - - - X` the page says only that
  // "the alarm does not go immediately into ALARM state": ASSUMPTION, the current state is kept.
  return current;
}

type Comparison = (value: number, threshold: number) => boolean;
const COMPARISONS: Record<string, Comparison> = {
  GreaterThanOrEqualToThreshold: (v, t) => v >= t,
  GreaterThanThreshold: (v, t) => v > t,
  LessThanThreshold: (v, t) => v < t,
  LessThanOrEqualToThreshold: (v, t) => v <= t,
};

/** A metric the alarm reads: its name in the timeline and how a period is aggregated. */
interface MetricRead {
  readonly key: string;
  readonly namespace?: string;
  readonly stat: string;
  readonly period: number;
}

type Value = number | (number | undefined)[] | { readonly items: Value[] };
interface Series { readonly ts: (number | undefined)[] }

/**
 * A synthesized alarm, ready to be evaluated over a timeline. Takes the `Properties` of an `AWS::CloudWatch::Alarm`:
 * either `MetricName`/`Namespace`/`Statistic`/`Period`, or `Metrics[]` (MetricStat entries and one expression with
 * `ReturnData` true). Supported expressions: numbers, metric ids, `+ - * /`, parentheses, `[...]` arrays, `FILL(ts, S)`,
 * `MAX/MIN/SUM/AVG` of an array (one series) or of a series (a scalar).
 */
export class AlarmModel {
  public readonly period: number;
  public readonly evaluationPeriods: number;
  public readonly datapointsToAlarm: number;
  public readonly threshold: number;
  public readonly treatment: MissingDataTreatment;
  /** Seconds between evaluations. */
  public readonly cadence: number;
  private readonly compare: Comparison;
  private readonly metrics: Map<string, MetricRead> = new Map();
  private readonly expression?: string;
  private readonly options: Required<EvaluatorOptions>;

  constructor(properties: any, options: EvaluatorOptions = {}) {
    this.options = { extraPeriods: 2, fillEmptySeries: false, windowAlignment: 'evaluation', initialState: 'INSUFFICIENT_DATA', ...options };
    if (properties.Metrics) {
      const returned = properties.Metrics.filter((q: any) => q.ReturnData !== false);
      if (returned.length !== 1) throw new Error(`an alarm returns exactly one series, got ${returned.length}`);
      for (const q of properties.Metrics) {
        if (!q.MetricStat) continue;
        this.metrics.set(q.Id, {
          key: q.MetricStat.Metric.MetricName, namespace: q.MetricStat.Metric.Namespace, stat: q.MetricStat.Stat, period: q.MetricStat.Period,
        });
      }
      const periods = new Set([...this.metrics.values()].map((x) => x.period));
      // [UG-EVAL] "Alarms on math expressions": "A math expression used for an alarm can include as many as 10 metrics.
      // Each metric must be using the same period."
      if (periods.size !== 1 || this.metrics.size > 10) throw new Error('a math expression alarm reads 1–10 metrics of one period');
      this.period = [...periods][0];
      this.expression = returned[0].Expression ?? returned[0].Id;
    } else {
      this.period = properties.Period;
      this.metrics.set('m', { key: properties.MetricName, namespace: properties.Namespace, stat: properties.Statistic ?? properties.ExtendedStatistic, period: properties.Period });
      this.expression = 'm';
    }
    // [API-PMA] Period: "Valid values are 10, 20, 30, and any multiple of 60."
    if (![10, 20, 30].includes(this.period) && this.period % 60 !== 0) throw new Error(`invalid alarm period ${this.period}`);
    this.evaluationPeriods = properties.EvaluationPeriods;
    this.datapointsToAlarm = properties.DatapointsToAlarm ?? properties.EvaluationPeriods;
    this.threshold = properties.Threshold;
    const compare = COMPARISONS[properties.ComparisonOperator];
    if (!compare) throw new Error(`comparison ${properties.ComparisonOperator} is not modelled`);
    this.compare = compare;
    // [UG-MISSING] "The default behavior is missing."
    this.treatment = properties.TreatMissingData ?? 'missing';
    // [UG-EVAL] "For any period of one minute or longer, an alarm is evaluated every minute … If the alarm period is 10
    // seconds or 30 seconds, the alarm is evaluated every 10 seconds."
    this.cadence = this.period >= 60 ? 60 : 10;
  }

  /** Datapoints of the evaluation range at instant `t` (ms), oldest first; undefined where missing. */
  public rangeAt(timeline: Timeline, t: number): (number | undefined)[] {
    const r = this.evaluationPeriods + this.options.extraPeriods;
    const p = this.period * 1000;
    // [UG-EVAL] "at the end of minute 5 the alarm evaluates based on data from minutes 1 to 5. Then at the end of minute 6,
    // the alarm is evaluated based on the data from minutes 2 to 6" (sliding windows; [UG-LAMBDA] agrees: "timestamps
    // starting at any minute, not only multiples of the period length … spaced one period apart").
    const end = this.options.windowAlignment === 'evaluation' ? t : Math.floor(t / p) * p;
    const first = end - r * p;
    const series = new Map<string, Series>();
    for (const [id, read] of this.metrics) {
      const points = timeline[read.namespace ? `${read.namespace}/${read.key}` : read.key] ?? timeline[read.key] ?? [];
      series.set(id, { ts: aggregateWindows(points, first, p, r, t, read.stat) });
    }
    const result = new ExpressionEvaluator(series, r, this.options.fillEmptySeries).evaluate(this.expression!);
    if (!Array.isArray(result)) throw new Error('the alarm expression must give one time series');
    return result;
  }

  /**
   * Evaluates at every evaluation instant from `from` to `to` (ms; `from` is rounded up to the cadence) and returns
   * each evaluation.
   */
  public run(timeline: Timeline, from: number, to: number): Evaluation[] {
    const step = this.cadence * 1000;
    let state = this.options.initialState;
    const out: Evaluation[] = [];
    const sorted: Timeline = {};
    for (const [k, v] of Object.entries(timeline)) sorted[k] = [...v].sort((a, b) => a.timestamp - b.timestamp);
    for (let t = Math.ceil(from / step) * step; t <= to; t += step) {
      const values = this.rangeAt(sorted, t);
      const range = values.map((v): RangePoint => (v === undefined ? '-' : this.compare(v, this.threshold) ? 'X' : '0'));
      state = evaluateRange(range, this.evaluationPeriods, this.datapointsToAlarm, this.treatment, state);
      out.push({ time: t, values, state });
    }
    return out;
  }
}

/** First evaluation at or after `after` in the given state, or undefined. */
export function firstIn(evaluations: Evaluation[], state: AlarmState, after = -Infinity): Evaluation | undefined {
  return evaluations.find((e) => e.time >= after && e.state === state);
}

/** The state changes, as `[time, state]` pairs (the first evaluation included). */
export function transitions(evaluations: Evaluation[]): [number, AlarmState][] {
  const out: [number, AlarmState][] = [];
  for (const e of evaluations) if (out.length === 0 || out[out.length - 1][1] !== e.state) out.push([e.time, e.state]);
  return out;
}

/** Index of the first datapoint with timestamp ≥ t (points sorted by timestamp). */
function lowerBound(points: RawDatapoint[], t: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (points[mid].timestamp < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * For `count` consecutive windows of `period` ms from `first`, the statistic of the raw datapoints with timestamps in
 * the window that are published by `now`, or undefined when there are none. [UG-EVAL] "Period is the length of time to
 * evaluate the metric or expression to create each individual data point for an alarm".
 */
function aggregateWindows(points: RawDatapoint[], first: number, period: number, count: number, now: number, stat: string): (number | undefined)[] {
  const buckets: number[][] = Array.from({ length: count }, () => []);
  const end = first + count * period;
  for (let i = lowerBound(points, first); i < points.length && points[i].timestamp < end; i++) {
    if ((points[i].publishedAt ?? points[i].timestamp) <= now) buckets[Math.floor((points[i].timestamp - first) / period)].push(points[i].value);
  }
  return buckets.map((values) => aggregate(values, stat));
}

function aggregate(values: number[], stat: string): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Sum': return values.reduce((a, b) => a + b, 0);
    case 'Average': return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum': return Math.max(...values);
    case 'Minimum': return Math.min(...values);
    case 'SampleCount': return values.length;
    default: {
      const pct = /^p(\d+(?:\.\d+)?)$/.exec(stat);
      if (!pct) throw new Error(`statistic ${stat} is not modelled`);
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.max(0, Math.ceil((Number(pct[1]) / 100) * sorted.length) - 1)];
    }
  }
}

/** Evaluates a metric math expression over series of `length` periods. */
class ExpressionEvaluator {
  private tokens: string[] = [];
  private pos = 0;

  constructor(private readonly series: Map<string, Series>, private readonly length: number, private readonly fillEmpty: boolean) {}

  public evaluate(expression: string): Value {
    this.tokens = expression.match(/\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|[-+*/()[\],]/g) ?? [];
    if (this.tokens.join('') !== expression.replace(/\s+/g, '')) throw new Error(`cannot read expression "${expression}"`);
    this.pos = 0;
    const value = this.sum();
    if (this.pos !== this.tokens.length) throw new Error(`unexpected "${this.tokens[this.pos]}" in "${expression}"`);
    return value;
  }

  private peek(): string | undefined { return this.tokens[this.pos]; }
  private take(expected?: string): string {
    const t = this.tokens[this.pos++];
    if (expected !== undefined && t !== expected) throw new Error(`expected "${expected}", got "${t}"`);
    return t;
  }

  private sum(): Value {
    let left = this.product();
    while (this.peek() === '+' || this.peek() === '-') {
      const op = this.take();
      left = this.arithmetic(left, this.product(), op);
    }
    return left;
  }

  private product(): Value {
    let left = this.unary();
    while (this.peek() === '*' || this.peek() === '/') {
      const op = this.take();
      left = this.arithmetic(left, this.unary(), op);
    }
    return left;
  }

  private unary(): Value {
    if (this.peek() === '-') {
      this.take();
      return this.arithmetic(0, this.unary(), '-');
    }
    return this.primary();
  }

  private primary(): Value {
    const t = this.take();
    if (t === '(') {
      const v = this.sum();
      this.take(')');
      return v;
    }
    if (t === '[') {
      const items: Value[] = [this.sum()];
      while (this.peek() === ',') {
        this.take();
        items.push(this.sum());
      }
      this.take(']');
      return { items };
    }
    if (/^\d/.test(t)) return Number(t);
    if (this.peek() === '(') {
      this.take('(');
      const args: Value[] = [this.sum()];
      while (this.peek() === ',') {
        this.take();
        args.push(this.sum());
      }
      this.take(')');
      return this.call(t.toUpperCase(), args);
    }
    const s = this.series.get(t);
    if (!s) throw new Error(`unknown metric id "${t}"`);
    return s.ts;
  }

  private isSeries(v: Value): v is (number | undefined)[] {
    return Array.isArray(v);
  }

  /**
   * [UG-MATH] Basic arithmetic: "Missing values in a time series are treated as 0. If the value of a data point causes a
   * function to attempt to divide by zero, the data point is dropped." ASSUMPTION: a period missing in every series
   * operand stays missing (otherwise no series could be sparse after arithmetic).
   */
  private arithmetic(a: Value, b: Value, op: string): Value {
    const f = (x: number, y: number): number | undefined => {
      switch (op) {
        case '+': return x + y;
        case '-': return x - y;
        case '*': return x * y;
        default: return y === 0 ? undefined : x / y;
      }
    };
    if (typeof a === 'number' && typeof b === 'number') return f(a, b) ?? NaN;
    if (typeof a === 'number' && this.isSeries(b)) return b.map((y) => (y === undefined ? undefined : f(a, y)));
    if (this.isSeries(a) && typeof b === 'number') return a.map((x) => (x === undefined ? undefined : f(x, b)));
    if (this.isSeries(a) && this.isSeries(b)) {
      return a.map((x, i) => (x === undefined && b[i] === undefined ? undefined : f(x ?? 0, b[i] ?? 0)));
    }
    throw new Error('arithmetic on arrays of time series is not modelled');
  }

  private call(name: string, args: Value[]): Value {
    if (name === 'FILL') {
      // [UG-MATH] FILL: "Fills the missing values of a time series." Its alarm note shows it fills the most recent period
      // too: "if your metrics are being published with a slight delay, and the most recent minute never has data …
      // FILL replaces that missing data point with the requested value." ASSUMPTION (`fillEmptySeries`): a series with no
      // datapoint at all in the range stays empty.
      const [ts, filler] = args;
      if (!this.isSeries(ts) || typeof filler !== 'number') throw new Error('FILL(ts, scalar) is the form modelled');
      if (!this.fillEmpty && ts.every((x) => x === undefined)) return ts;
      return ts.map((x) => x ?? filler);
    }
    if (['MAX', 'MIN', 'SUM', 'AVG'].includes(name)) {
      if (args.length !== 1) throw new Error(`${name} takes one argument`);
      const [arg] = args;
      const reduce = (xs: number[]): number => (name === 'MAX' ? Math.max(...xs) : name === 'MIN' ? Math.min(...xs)
        : name === 'SUM' ? xs.reduce((p, q) => p + q, 0) : xs.reduce((p, q) => p + q, 0) / xs.length);
      if (this.isSeries(arg)) {
        // [UG-MATH] "The MAX of a single time series returns a scalar representing the maximum value of all data points
        // in the metric" (likewise MIN, SUM, AVG; "We recommend that you do not use this function in CloudWatch alarms").
        const present = arg.filter((x): x is number => x !== undefined);
        return present.length ? reduce(present) : NaN;
      }
      if (typeof arg === 'number') throw new Error(`${name} of a scalar`);
      // [UG-MATH] "The MAX value of an array of time series returns a single time series." ASSUMPTION: a scalar in the
      // array counts at every period; a period missing in every series and with no scalar stays missing.
      const items = arg.items;
      return Array.from({ length: this.length }, (_, i) => {
        const xs: number[] = [];
        for (const item of items) {
          if (typeof item === 'number') xs.push(item);
          else if (this.isSeries(item) && item[i] !== undefined) xs.push(item[i]!);
        }
        return xs.length ? reduce(xs) : undefined;
      });
    }
    throw new Error(`metric math function ${name} is not modelled`);
  }
}
