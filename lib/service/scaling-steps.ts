import { Duration, Token } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';

/**
 * Checks of step-scaling settings, shared by {@link FastScalingService} and its `scaleOnHighResolutionMetric`.
 * Every message names the prop (as the caller passes it in `prop`) and reads the same from Python or Java.
 */

/** Describes a step for messages: `{ lower: 70, upper: 85, change: 50 }`. */
function show(step: appscaling.ScalingInterval): string {
  const parts: string[] = [];
  if (step.lower !== undefined) parts.push(`lower: ${step.lower}`);
  if (step.upper !== undefined) parts.push(`upper: ${step.upper}`);
  parts.push(`change: ${step.change}`);
  return `{ ${parts.join(', ')} }`;
}

function isNumber(v: number | undefined): v is number {
  return v !== undefined && !Token.isUnresolved(v);
}

/**
 * Scale-out steps: one or more contiguous ranges from the lowest `lower` (the alarm threshold) upward; every step
 * has `lower`, each step's `upper` is the next step's `lower`, only the last has no `upper`, and every `change`
 * is positive. With `percentRange`, bounds must lie within 0–100.
 *
 * @returns the threshold (the first step's `lower`)
 */
export function validateScaleOutSteps(steps: appscaling.ScalingInterval[], prop: string, percentRange: boolean): number {
  if (!steps || steps.length === 0) throw new Error(`${prop} must have at least one step`);
  if (steps.length > 20) throw new Error(`${prop} can have at most 20 steps (an Application Auto Scaling policy takes 20), got ${steps.length}`);
  steps.forEach((s, i) => {
    if (!isNumber(s.lower)) throw new Error(`${prop}[${i}] ${show(s)} needs a numeric lower bound (scale-out steps start at the threshold and go up)`);
    if (!isNumber(s.change) || !Number.isInteger(s.change) || s.change <= 0) {
      throw new Error(`${prop}[${i}] ${show(s)}: change must be a positive whole number (tasks or percent added)`);
    }
    if (s.upper !== undefined && (!isNumber(s.upper) || s.upper <= s.lower)) {
      throw new Error(`${prop}[${i}] ${show(s)}: upper must be greater than lower`);
    }
    if (percentRange && (s.lower < 0 || s.lower >= 100 || (s.upper !== undefined && s.upper > 100))) {
      throw new Error(`${prop}[${i}] ${show(s)}: bounds are percent of the task's vCPU, so they must lie within 0–100 (lower below 100)`);
    }
    if (i < steps.length - 1) {
      const next = steps[i + 1];
      if (s.upper === undefined) {
        throw new Error(`${prop}[${i}] ${show(s)} has no upper bound but is not the last step: give steps in ascending order, only the last open-ended`);
      }
      if (isNumber(next.lower) && next.lower < s.upper) {
        throw new Error(`${prop}[${i}] ${show(s)} and ${prop}[${i + 1}] ${show(next)} overlap: each step's upper must equal the next step's lower`);
      }
      if (isNumber(next.lower) && next.lower > s.upper) {
        throw new Error(`${prop}[${i}] ${show(s)} and ${prop}[${i + 1}] ${show(next)} leave a gap from ${s.upper} to ${next.lower}: each step's upper must equal the next step's lower`);
      }
    } else if (s.upper !== undefined) {
      throw new Error(`${prop}[${i}] ${show(s)}: the last scale-out step must have no upper bound (it covers everything above its lower)`);
    }
  });
  return steps[0].lower!;
}

/**
 * Scale-in steps: contiguous ranges from the highest `upper` (the alarm threshold) downward, in descending order;
 * every step has `upper`, each step's `lower` is the next step's `upper`, only the last has no `lower`, and every
 * `change` is negative.
 *
 * @returns the threshold (the first step's `upper`)
 */
export function validateScaleInSteps(steps: appscaling.ScalingInterval[], prop: string, percentRange: boolean): number {
  if (!steps || steps.length === 0) throw new Error(`${prop} must have at least one step`);
  if (steps.length > 20) throw new Error(`${prop} can have at most 20 steps, got ${steps.length}`);
  steps.forEach((s, i) => {
    if (!isNumber(s.upper)) throw new Error(`${prop}[${i}] ${show(s)} needs a numeric upper bound (scale-in steps start at the threshold and go down)`);
    if (!isNumber(s.change) || !Number.isInteger(s.change) || s.change >= 0) {
      throw new Error(`${prop}[${i}] ${show(s)}: change must be a negative whole number (tasks or percent removed)`);
    }
    if (s.lower !== undefined && (!isNumber(s.lower) || s.lower >= s.upper)) {
      throw new Error(`${prop}[${i}] ${show(s)}: lower must be less than upper`);
    }
    if (percentRange && (s.upper <= 0 || s.upper > 100 || (s.lower !== undefined && s.lower < 0))) {
      throw new Error(`${prop}[${i}] ${show(s)}: bounds are percent of the task's vCPU, so they must lie within 0–100 (upper above 0)`);
    }
    if (i < steps.length - 1) {
      const next = steps[i + 1];
      if (s.lower === undefined) {
        throw new Error(`${prop}[${i}] ${show(s)} has no lower bound but is not the last step: give steps in descending order, only the last open-ended`);
      }
      if (isNumber(next.upper) && next.upper > s.lower) {
        throw new Error(`${prop}[${i}] ${show(s)} and ${prop}[${i + 1}] ${show(next)} overlap: each step's lower must equal the next step's upper`);
      }
      if (isNumber(next.upper) && next.upper < s.lower) {
        throw new Error(`${prop}[${i}] ${show(s)} and ${prop}[${i + 1}] ${show(next)} leave a gap from ${next.upper} to ${s.lower}: each step's lower must equal the next step's upper`);
      }
    } else if (s.lower !== undefined) {
      throw new Error(`${prop}[${i}] ${show(s)}: the last scale-in step must have no lower bound (it covers everything below its upper)`);
    }
  });
  return steps[0].upper!;
}

/** The step intervals in the shape `ScalableTaskCount.scaleOnMetric` wants: a no-change interval on the other side. */
export function scaleOutIntervals(steps: appscaling.ScalingInterval[]): appscaling.ScalingInterval[] {
  return [{ upper: steps[0].lower!, change: 0 }, ...steps];
}

/** See {@link scaleOutIntervals}; the no-change interval lies above the threshold. */
export function scaleInIntervals(steps: appscaling.ScalingInterval[]): appscaling.ScalingInterval[] {
  return [...steps].reverse().concat([{ lower: steps[0].upper!, change: 0 }]);
}

// ---------------------------------------------------------------------------------------------------------------
// FastScalingService's defaults, one constant each. Their figures come from the model in bench/scaling-model.ts
// (README "FastScalingService", bench/results/scaling-latency.json).
// ---------------------------------------------------------------------------------------------------------------

/**
 * Default scale-out steps on the service CPU (percent of the task's vCPU), PercentChangeInCapacity: +50 % of the tasks
 * from 70 %, double from 75 %, triple from 90 %. The step is chosen from the alarm's breaching datapoint, the 10 s
 * period's average: a load step early or late in a period reads anywhere from the threshold to 100 %, so the +50 %
 * band is kept 5 points narrow (a slow climb lands in it; a burst about 1 time in 16). An average of 90 % or more
 * means saturated tasks, whose demand CPU cannot show (it reads at most 100 %): tripling then makes a 2× burst's
 * capacity wait for the faster half of its new tasks, not the slowest of them (Fargate starts vary: the drawn model's
 * 2× p90 81 s instead of 100 s with doubling; bench/results/scaling-latency.json). The price: the alarm acts again a
 * minute later, and when the new tasks are not healthy by then it triples again, so a 2× burst often ends at
 * `maxCapacity` (doubling: 8 tasks); scale-in gives them back one per cooldown.
 */
export const DEFAULT_SCALE_OUT_STEPS: appscaling.ScalingInterval[] = [
  { lower: 70, upper: 75, change: 50 },
  { lower: 75, upper: 90, change: 100 },
  { lower: 90, change: 200 },
];

/** Default scale-in steps: one task fewer at or below 30 % CPU (ChangeInCapacity). */
export const DEFAULT_SCALE_IN_STEPS: appscaling.ScalingInterval[] = [{ upper: 30, change: -1 }];

/** Default scale-out alarm period: 10 s, the shortest CDK's `Metric` can carry (a high-resolution alarm). */
export const DEFAULT_SCALE_OUT_PERIOD = Duration.seconds(10);

/** Default scale-out evaluation periods (and datapoints to alarm). */
export const DEFAULT_SCALE_OUT_EVALUATION_PERIODS = 1;

/**
 * Default scale-out cooldown: 45 s. An alarm that stays in ALARM re-invokes its Auto Scaling action once a minute, so
 * any cooldown from 61 to 120 s acts as 120 s; under 60 s (with a margin for the Auto Scaling delay) every minute's
 * re-invocation acts, which a saturated service needs: CPU cannot read above 100 %, so a 4× burst looks like a 2× one
 * until the first new tasks take load.
 */
export const DEFAULT_SCALE_OUT_COOLDOWN = Duration.seconds(45);

/** Default scale-in alarm period. */
export const DEFAULT_SCALE_IN_PERIOD = Duration.minutes(1);

/** Default scale-in evaluation periods (five minutes at or below the threshold). */
export const DEFAULT_SCALE_IN_EVALUATION_PERIODS = 5;

/** Default scale-in cooldown. */
export const DEFAULT_SCALE_IN_COOLDOWN = Duration.minutes(5);

/**
 * Default agent flush interval of a FastScalingService: 10 s (6 PutMetricData calls per task per minute while idle).
 * Not 30 s: the fast flush sends a task's samples up to the latest one at or above the threshold, and the samples
 * after it wait for the idle flush; a 10 s alarm evaluated in between averages the part it has, which leans to the
 * high samples. With 30 s most periods are seen that way, and a service at 50–60 % CPU with a 1 s spread of 10 points
 * scales out when it should not in a third to a half of 10-minute runs (10 s: 2–7 %; every sample at once: 0–1 %;
 * bench/scaling-latency.ts, "noisy steady load"; test/service/scaling-timeline.test.ts shows it on one timeline).
 */
export const DEFAULT_FLUSH_INTERVAL = Duration.seconds(10);

/**
 * Default fast-flush threshold: the lowest scale-out threshold (the first step's `lower`), percent of the task's vCPU;
 * undefined (no fast flush) when the steps have none in (0, 100], which their own check then reports.
 */
export function defaultFastFlushCpuThresholdPercent(scaleOutSteps: appscaling.ScalingInterval[] | undefined): number | undefined {
  const lower = scaleOutSteps?.[0]?.lower;
  return lower !== undefined && !Token.isUnresolved(lower) && lower > 0 && lower <= 100 ? lower : undefined;
}

/**
 * Default target-group health check. A newly registered target is healthy after ONE passed check (ELB User Guide,
 * "Health checks for Application Load Balancer target groups"), so the interval, not `healthyThresholdCount`, sets
 * how soon a new task takes traffic: within 5 s of registration. `healthyThresholdCount` (2, the lowest ELB accepts)
 * only applies to a target that had turned unhealthy; 5 failures × 5 s take a target out after 25 s (30 s before),
 * so a saturated task answering slowly is not pulled out sooner than with the old 3 × 10 s.
 */
export const DEFAULT_HEALTH_CHECK = {
  interval: Duration.seconds(5),
  timeout: Duration.seconds(4),
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 5,
};
