/** The benchmark's model (bench/scaling-model.ts): each AWS rule on known inputs. */
import {
  adjustment, chooseStep, CloudWatchAlarm, delaysFor, MetricStore, RULES, rng, ScalableTarget, simulateStep, spread,
  StepPolicySettings, StepScalingPolicy, TargetTrackingPolicy,
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
