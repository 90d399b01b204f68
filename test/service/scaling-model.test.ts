/** The benchmark's model (bench/scaling-model.ts): alarm replay, decisions and capacity simulation on known inputs. */
import {
  replayAlarm, simulate, stepDecision, StepScalingSettings, targetTrackingDecision, targetTrackingTrigger, Trial,
} from '../../bench/scaling-model';

const settings: StepScalingSettings = {
  periodS: 10,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  threshold: 70,
  cooldownS: 90,
  adjustmentType: 'PercentChangeInCapacity',
  minAdjustmentMagnitude: 1,
  steps: [{ lower: 70, upper: 85, change: 50 }, { lower: 85, change: 100 }],
  minCapacity: 2,
  maxCapacity: 10,
  flushIntervalMs: 5000,
  procfs: true,
  taskVcpu: 0.5,
};

/** 1 s datapoints, 30 % before the step and 100 % after, delivered by flushes every `flushS` at `flushPhaseS`. */
function trial(stepAt: number, flushS: number, flushPhaseS: number): Trial {
  const points = [];
  for (let ts = stepAt - 20_000; ts <= stepAt + 30_000; ts += 1000) {
    const sampleEnd = ts + 1000;
    const flush = Math.ceil((sampleEnd - flushPhaseS * 1000) / (flushS * 1000)) * flushS * 1000 + flushPhaseS * 1000;
    points.push({ ts, value: ts >= stepAt ? 100 : 30, arrivedAt: flush + 50 });
  }
  return { stepAt, detectMs: 0, points };
}

test('replayAlarm: a step early in a period breaches that period once its data has arrived', () => {
  // Step 1 s into a 10 s period: 9 of its 10 datapoints are high; a flush 0.2 s after the period end delivers them.
  const t = trial(1_001_001_000, 5, 0.2);
  // Evaluated 3 s after the period end (+9 s) with what arrived by 2 s before that.
  expect(replayAlarm(t, settings, 2, 3)).toBe(12);
});

test('replayAlarm: data that arrives after the evaluation moves the alarm to the next period', () => {
  // Step 3 s into a period (7 of 10 high: average 79 with all the data). Flushes at +3.9 s and +8.9 s after the step:
  // evaluated at +10 s with what arrived by +8 s, the period has only 3 low and 3 high datapoints (65 %).
  const t = trial(1_001_003_000, 5, 1.9);
  expect(replayAlarm(t, settings, 2, 3)).toBe(20);
  // Evaluated later (+10 s after the period end, no ingest delay), the same period has all its data and breaches.
  expect(replayAlarm(t, settings, 0, 10)).toBe(17);
  expect(replayAlarm({ ...t, points: [] }, settings, 2, 3)).toBeUndefined();
});

test('step and target-tracking decisions', () => {
  const step = stepDecision(settings);
  expect(step(2, 100)).toBe(4); // ≥ 85: +100 %
  expect(step(2, 75)).toBe(3); // 70–85: +50 % of 2 = 1
  expect(step(1, 75)).toBe(2); // +50 % of 1 rounds down to 0: the minimum magnitude adds 1
  expect(step(4, 60)).toBe(4); // below the threshold: no step
  expect(targetTrackingDecision(70)(2, 100)).toBe(3);
});

test('targetTrackingTrigger: three periods plus the lag, median over step phases', () => {
  // A step from 30 to 100 breaches a period when ≥ 4/7 of it is after the step: half the phases need 2 more periods.
  const t = targetTrackingTrigger(60, 0, 0, 30, 100, 70);
  expect(t).toBeGreaterThan(2 * 60);
  expect(t).toBeLessThan(4 * 60);
  expect(targetTrackingTrigger(60, 100, 5, 30, 100, 70)).toBeCloseTo(t + 105, 6);
});

test('simulate: a doubling step reaches the demand one ready-delay after the first action', () => {
  const s = simulate({
    minCapacity: 2,
    maxCapacity: 10,
    beforeShare: 0.3,
    afterShare: 2,
    firstActionS: 12,
    readyDelayS: 60,
    cooldownS: 90,
    detectS: 4,
    threshold: 70,
    decide: stepDecision(settings),
    horizonS: 600,
  });
  expect(s.actions[0]).toEqual({ t: 12, desired: 4 });
  expect(s.enoughS).toBe(72);
  // After the cooldown the new tasks carry the load at exactly 100 %: still ≥ 85, so the policy doubles again.
  expect(s.actions[1]).toEqual({ t: 102, desired: 8 });
});
