/**
 * Timelines through what the template says: a FastScalingService is synthesized, its step policies and alarms are
 * read from the template (bench/scaling-model.ts readScalingTemplate) and driven by the model's CloudWatch alarm and
 * Application Auto Scaling code (the same code as the benchmark; each rule cites its documentation in RULES there).
 * The CPU timelines are given, not derived from the capacity, except in the last block (the whole service).
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  delaysFor, MetricStore, readScalingTemplate, rng, ScalableTarget, ScalingController, ScalingSettings, simulateStep, spread,
  StepScalingPolicy,
} from '../../bench/scaling-model';
import { FastScalingService, FastScalingServiceProps } from '../../lib';
import { newStack } from '../support/stacks';

const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');

function settingsOf(props: Partial<FastScalingServiceProps> = {}): ScalingSettings {
  const stack: Stack = newStack();
  new FastScalingService(stack, 'Web', { container: { image }, ...props });
  return readScalingTemplate(Template.fromStack(stack).toJSON());
}

interface Fed {
  actions: Array<{ at: number; to: number; value: number }>;
  /** State changes of the scale-out alarm (index 0) and the scale-in alarm (index 1). */
  alarms: Array<Array<{ at: number; state: string; value?: number }>>;
}

/**
 * One 1-second CPU datapoint per second, `cpu(second)` (undefined: none), each visible at the end of its second;
 * evaluations right at each period end and actions at once (delays 0), so times are the rules' own.
 */
function feed(s: ScalingSettings, cpu: (second: number) => number | undefined, untilS: number, desired = s.minCapacity): Fed {
  const store = new MetricStore();
  for (let t = 0; t < untilS; t++) {
    const v = cpu(t);
    if (v !== undefined) store.add(t, v, t + 1);
  }
  const order = [...s.policies].sort((a, b) => b.steps[0].change - a.steps[0].change); // scale-out first
  const target = new ScalableTarget(desired, s.minCapacity, s.maxCapacity);
  const c = new ScalingController(target, order.map((p) => ({ alarm: p.alarm, store, policy: new StepScalingPolicy(p), label: p.id })),
    { evaluationLagS: 0, actionS: 0 });
  for (let t = 1; t <= untilS; t++) c.advance(t - 1, t);
  return { actions: target.actions.map((a) => ({ at: a.at, to: a.to, value: +a.value.toFixed(1) })), alarms: c.alarms.map((a) => a.history) };
}

const defaults = settingsOf();

describe('scale-out on a CPU step (defaults read from the template)', () => {
  // A step from 30 % to 100 % p seconds into the period [100, 110): that period averages 30·p/10 + 100·(10 − p)/10.
  const step = (p: number) => (t: number) => (t < 100 + p ? 30 : 100);

  test.each([
    // p, alarm at, breaching value, desired after the first action
    [0, 110, 100, 4],
    [1, 110, 93, 4],
    [2, 110, 86, 4],
    [3, 110, 79, 4], // 70–85 was +50 % (2 → 3) with the old steps
    [4, 110, 72, 3], // the +50 % band [70, 75): a slow climb lands here; a burst about 1 time in 16 (bench)
    [5, 120, 100, 4], // 65 < 70: the next, full period breaches
    [9, 120, 100, 4],
  ])('step %i s into a period: ALARM at %i s on the period average %i %%, first action to %i tasks', (p, at, value, to) => {
    const fed = feed(defaults, step(p), 140);
    expect(fed.alarms[0][0]).toEqual({ at, state: 'ALARM', value });
    expect(fed.actions[0]).toEqual({ at, to, value });
  });

  test('a saturated service: the alarm stays in ALARM and re-invokes each minute; every re-invocation doubles (cooldown 45 s)', () => {
    const fed = feed(defaults, (t) => (t < 100 ? 30 : 100), 400);
    // One transition only: the later actions are the once-a-minute re-invocations of an alarm that stays in ALARM.
    expect(fed.alarms[0]).toEqual([{ at: 110, state: 'ALARM', value: 100 }]);
    expect(fed.actions).toEqual([
      { at: 110, to: 4, value: 100 },
      { at: 170, to: 8, value: 100 }, // a 90 s cooldown blocks this one and doubles at 230 instead
      { at: 230, to: 10, value: 100 }, // maxCapacity
    ]);
  });

  test('the +50 % band is made up one minute later, at the re-invocation', () => {
    const fed = feed(defaults, (t) => (t < 104 ? 30 : 100), 200);
    expect(fed.actions.slice(0, 2)).toEqual([{ at: 110, to: 3, value: 72 }, { at: 170, to: 6, value: 100 }]);
  });

  test.each([[30, 170], [59, 170], [61, 230], [90, 230], [120, 230]])('scaleOutCooldown %i s: the second doubling at %i s (61–120 s all act as 120 s)', (cooldownS, second) => {
    const fed = feed(settingsOf({ scaleOutCooldown: Duration.seconds(cooldownS) }), (t) => (t < 100 ? 30 : 100), 300);
    expect(fed.actions.map((a) => a.at).slice(0, 2)).toEqual([110, second]);
  });

  test('the alarm goes back to OK when the CPU falls below the threshold, and a new crossing acts at once (cooldown over)', () => {
    // 100 % from 100 s, 50 % from 150 s (new tasks took load), 100 % again from 200 s.
    const fed = feed(defaults, (t) => (t < 100 ? 30 : t < 150 ? 100 : t < 200 ? 50 : 100), 260);
    expect(fed.alarms[0].map((h) => [h.at, h.state])).toEqual([[110, 'ALARM'], [160, 'OK'], [210, 'ALARM']]);
    expect(fed.actions.map((a) => [a.at, a.to])).toEqual([[110, 4], [210, 8]]);
  });

  test('no datapoints (agent stopped) never scales: missing data is not breaching', () => {
    const fed = feed(defaults, () => undefined, 600, 5);
    expect(fed.actions).toEqual([]);
  });
});

describe('scale-in (defaults read from the template)', () => {
  test('5 one-minute periods at or below 30 %: one task fewer, then one per 300 s cooldown although re-invoked each minute', () => {
    const fed = feed(defaults, () => 20, 1000, 5);
    expect(fed.alarms[1]).toEqual([{ at: 300, state: 'ALARM', value: 20 }]);
    expect(fed.actions.map((a) => [a.at, a.to])).toEqual([[300, 4], [600, 3], [900, 2]]);
  });

  test('a scale-out during the scale-in cooldown acts at once', () => {
    const fed = feed(defaults, (t) => (t < 400 ? 20 : 100), 460, 5);
    expect(fed.actions.map((a) => [a.at, a.to])).toEqual([[300, 4], [410, 8]]);
  });
});

describe('the whole service after a load step (template settings, mid delays, 300 seeded step phases)', () => {
  // The agent flushes as the lead will wire it: every 10 s, every second from the lowest scale-out threshold.
  const run = (after: number) => {
    const r = rng(7);
    return Array.from({ length: 300 }, () => simulateStep({ kind: 'step', settings: defaults, agentMode: 'adaptive' }, { before: 0.3, after }, delaysFor('mid'), r));
  };

  test('first scale-out action: median ≤ 19 s, p90 ≤ 25 s', () => {
    const first = spread(run(2).map((x) => x.firstActionS));
    expect(first.p50).toBeLessThanOrEqual(19);
    expect(first.p90).toBeLessThanOrEqual(25);
  });

  test('2× burst: healthy capacity for it within 90 s in 9 of 10 phases', () => {
    expect(spread(run(2).map((x) => x.enoughS)).p90).toBeLessThanOrEqual(90);
  });

  test('4× burst: healthy capacity for it within 140 s in half the phases', () => {
    expect(spread(run(4).map((x) => x.enoughS)).p50).toBeLessThanOrEqual(140);
  });
});
