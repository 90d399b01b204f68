/** The benchmark's model (bench/scaling-model.ts): each AWS rule on known inputs. */
import {
  adjustment, chooseStep, CloudWatchAlarm, DELAYS, delaysFor, draw, drawDelays, DRAWN_DELAYS, MetricStore, percentile, RULES, rng,
  ScalableTarget, ScalingSettings, simulateStep, spread, StepPolicySettings, StepScalingPolicy, TargetTrackingPolicy,
} from '../../bench/scaling-model';

const alarm = {
  periodS: 10,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  threshold: 70,
  comparison: 'GreaterThanOrEqualToThreshold' as const,
  statistic: 'Average' as const,
  treatMissingData: 'notBreaching',
};
const out: StepPolicySettings = {
  id: 'out',
  alarm,
  adjustmentType: 'PercentChangeInCapacity',
  cooldownS: 120,
  minAdjustmentMagnitude: 1,
  steps: [{ lower: 0, upper: 5, change: 50 }, { lower: 5, change: 100 }],
};

test('every rule cites where it comes from', () => {
  for (const text of Object.values(RULES)) expect(text).toMatch(/User Guide|API|Knowledge Center|Not documented|REFERENCE/);
});

test('MetricStore: a datapoint counts only once visible; Average over the period', () => {
  const m = new MetricStore();
  m.add(100, 30, 101);
  m.add(105, 90, 108);
  expect(m.aggregate(100, 110, 105, 'Average')).toBe(30);
  expect(m.aggregate(100, 110, 110, 'Average')).toBe(60);
  expect(m.aggregate(110, 120, 200, 'Average')).toBeUndefined();
});

test('alarm: ALARM on the breaching period, re-invoked once a minute while it stays there, OK when it stops breaching', () => {
  const m = new MetricStore();
  for (let t = 0; t < 200; t++) m.add(t, t >= 20 && t < 150 ? 80 : 10, t + 1);
  const a = new CloudWatchAlarm(alarm);
  const inv = [];
  for (let end = 10; end <= 200; end += 10) {
    const i = a.evaluate(m, end, end);
    if (i) inv.push([i.at, i.transition]);
  }
  expect(inv).toEqual([[30, true], [90, false], [150, false]]);
  expect(a.history.map((h) => [h.at, h.state])).toEqual([[30, 'ALARM'], [160, 'OK']]);
});

test('step choice from the breaching value: above the threshold lower inclusive, upper exclusive; below it the other way', () => {
  expect(chooseStep(out.steps, 70, 70)!.change).toBe(50);
  expect(chooseStep(out.steps, 70, 74.9)!.change).toBe(50);
  expect(chooseStep(out.steps, 70, 75)!.change).toBe(100);
  expect(chooseStep(out.steps, 70, 69.9)).toBeUndefined();
  const scaleIn = [{ upper: 0, change: -1 }];
  expect(chooseStep(scaleIn, 30, 30)!.change).toBe(-1);
  expect(chooseStep(scaleIn, 30, 30.1)).toBeUndefined();
});

test('percent adjustments: rounded down above 1, to 1 between 0 and 1, up below -1; at least the minimum magnitude', () => {
  expect(adjustment('PercentChangeInCapacity', 50, 3)).toBe(1); // 1.5 → 1
  expect(adjustment('PercentChangeInCapacity', 50, 1)).toBe(1); // 0.5 → 1
  expect(adjustment('PercentChangeInCapacity', 25, 4, 2)).toBe(2); // 1 → MinAdjustmentMagnitude 2
  expect(adjustment('PercentChangeInCapacity', -50, 5)).toBe(-2); // -2.5 → -2
  expect(adjustment('ChangeInCapacity', 3, 10)).toBe(3);
  expect(adjustment('ExactCapacity', 6, 2)).toBe(4);
});

test('scale-out cooldown: the initiating activity counts toward the next; only a larger step acts; after it, a full step', () => {
  const target = new ScalableTarget(2, 1, 20);
  const p = new StepScalingPolicy(out);
  p.invoke(target, 0, 72); // +50 % of 2 → 3, cooldown until 120
  p.invoke(target, 60, 72); // same step in the cooldown: nothing
  expect(target.desired).toBe(3);
  p.invoke(target, 60, 100); // larger step: 2 + 100 % of 2 = 4, one more than now
  expect(target.desired).toBe(4);
  p.invoke(target, 120, 100); // cooldown over: +100 % of 4
  expect(target.actions.map((a) => [a.at, a.to])).toEqual([[0, 3], [60, 4], [120, 8]]);
});

test('target tracking: blocked for the cooldown, or recomputed from the current count at each invocation', () => {
  for (const [reading, expected] of [['blocked', [[0, 3], [300, 5]]], ['recomputed', [[0, 3], [60, 5], [120, 8]]]] as const) {
    const target = new ScalableTarget(2, 1, 20);
    const p = new TargetTrackingPolicy(70, 300, reading);
    for (const at of [0, 60, 120, 180, 240, 300]) p.invoke(target, at, 100);
    expect(target.actions.slice(0, expected.length).map((a) => [a.at, a.to])).toEqual(expected);
  }
});

test('simulateStep: a saturating step gets a first action within the alarm period + delays, and capacity later', () => {
  const settings = {
    minCapacity: 2,
    maxCapacity: 10,
    policies: [{ ...out, cooldownS: 45 }],
    agent: { flushIntervalS: 10, fastFlushCpuPercent: 70, fastFlushIntervalS: 1, fastFlushFromTemplate: false },
    healthCheck: { intervalS: 5, healthyThresholdCount: 2 },
    taskVcpu: 0.5,
  };
  const r = rng(1);
  const d = delaysFor('mid');
  const runs = Array.from({ length: 50 }, () => simulateStep({ kind: 'step', settings, agentMode: 'adaptive' }, { before: 0.3, after: 2 }, d, r));
  for (const x of runs) {
    // At least: the rest of the step's period isn't needed, but evaluation lag + action are; at most two periods more.
    expect(x.firstActionS!).toBeGreaterThanOrEqual(d.alarmEvaluationLagS + d.autoScalingActionS);
    expect(x.firstActionS!).toBeLessThanOrEqual(20 + d.alarmEvaluationLagS + d.autoScalingActionS + d.cloudWatchIngestS + 2);
    // Healthy no sooner than Fargate start after the first action.
    expect(x.enoughS!).toBeGreaterThanOrEqual(x.firstActionS! + d.fargateStartS);
  }
  // The agent flushes at once when a sample crosses 70 %: the datum reaches CloudWatch about a second after the step.
  expect(spread(runs.map((x) => x.detectS)).p90).toBeLessThanOrEqual(2 + d.putLatencyS);
  // Idle: one call per 10 s per task; from the step on, every second.
  expect(runs[0].callsBefore).toBeCloseTo(6, 0);
  expect(runs[0].callsAfter).toBeGreaterThan(50);
});

test('drawn delays: every distribution names its source or says assumption, stays within the stated range, and is seeded', () => {
  for (const [k, v] of Object.entries(DRAWN_DELAYS)) {
    expect(v.source).toMatch(/Assumption|assumption|News Blog/);
    const range = DELAYS[k].range;
    const r = rng(3);
    const xs = Array.from({ length: 2000 }, () => draw(v.dist, r));
    // Within the fixed cases' range, except Fargate start, whose clamp [15, 180] s holds the lognormal's tails.
    const [lo, hi] = k === 'fargateStartS' ? [15, 180] : [range.low, range.high];
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(lo);
    expect(Math.max(...xs)).toBeLessThanOrEqual(hi);
  }
  // Fargate start: lognormal, median 35 s, σ 0.4: p10 ≈ 21 s, p90 ≈ 58 s (2,000 seeded draws).
  const r = rng(5);
  const starts = Array.from({ length: 2000 }, () => drawDelays(r).perTask!(r).fargateStartS);
  expect(percentile(starts, 50)).toBeGreaterThan(33);
  expect(percentile(starts, 50)).toBeLessThan(37);
  expect(percentile(starts, 10)).toBeGreaterThan(19);
  expect(percentile(starts, 90)).toBeLessThan(62);
  expect(drawDelays(rng(9))).toMatchObject(JSON.parse(JSON.stringify(drawDelays(rng(9)))));
});

test('drawn delays: each new task starts on its own draw', () => {
  const settings = {
    minCapacity: 2,
    maxCapacity: 10,
    policies: [{ ...out, cooldownS: 45, steps: [{ lower: 0, change: 200 }] }],
    agent: { flushIntervalS: 10, fastFlushCpuPercent: 70, fastFlushIntervalS: 1, fastFlushFromTemplate: true },
    healthCheck: { intervalS: 5, healthyThresholdCount: 2 },
    taskVcpu: 0.5,
  };
  const r = rng(2);
  const x = simulateStep({ kind: 'step', settings, agentMode: 'adaptive' }, { before: 0.3, after: 2 }, drawDelays(r), r, { timeline: true });
  // 2 → 6 at once; the 4 new tasks become RUNNING at different seconds.
  const runningSteps = new Set(x.timeline!.filter((p) => p.t > 0).map((p) => p.running));
  expect(x.firstActionTo).toBe(6);
  expect(runningSteps.size).toBeGreaterThanOrEqual(4);
});

describe('noisy steady load below the threshold: what the idle flush interval does to the scale-out alarm', () => {
  // Two tasks at 55 % CPU, each 1 s sample ± 10 points (sd); 10 minutes; seeded. The fast flush sends a task's
  // samples up to the latest one ≥ 70 % at once; the ones after it wait for the idle flush. A 10 s alarm evaluated in
  // between averages what it has, which leans to the high samples (RULES.highResEvaluation: evaluated every 10 s).
  const base: ScalingSettings = {
    minCapacity: 2,
    maxCapacity: 10,
    policies: [{ ...out, cooldownS: 45 }],
    agent: { flushIntervalS: 10, fastFlushCpuPercent: 70, fastFlushIntervalS: 1, fastFlushFromTemplate: true },
    healthCheck: { intervalS: 5, healthyThresholdCount: 2 },
    taskVcpu: 0.5,
  };
  const falseScaleOuts = (flushIntervalS: number, mode: 'adaptive' | 'fixed', holdS = 0) => {
    const settings = { ...base, agent: { ...base.agent, flushIntervalS, fastFlushHoldS: holdS } };
    let n = 0;
    for (let i = 0; i < 60; i++) {
      const r = rng(100 + i);
      const x = simulateStep({ kind: 'step', settings, agentMode: mode }, { before: 0.55, after: 0.55, noiseSd: 10 }, drawDelays(r), r,
        { horizonS: 600, timeline: true });
      if (x.actions.some((a) => a.t >= 0 && a.desired > 2)) n++;
    }
    return n;
  };

  test('complete data (every sample at once) never scales out; a 10 s idle flush rarely; a 30 s one in a large share of runs', () => {
    const complete = falseScaleOuts(1, 'fixed');
    const ten = falseScaleOuts(10, 'adaptive');
    const thirty = falseScaleOuts(30, 'adaptive');
    expect(complete).toBe(0);
    expect(ten).toBeLessThanOrEqual(6); // ≤ 10 % of the runs
    expect(thirty).toBeGreaterThanOrEqual(15); // ≥ 25 % of the runs
    expect(thirty).toBeGreaterThan(3 * Math.max(1, ten));
  });

  test('what-if: holding the fast interval 10 s after a high sample removes the bias even with a 30 s idle flush', () => {
    expect(falseScaleOuts(30, 'adaptive', 10)).toBeLessThanOrEqual(2);
  });
});
