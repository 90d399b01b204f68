/**
 * The modelled (AWS) part of the scaling-latency benchmark: a CloudWatch alarm replayed over the agent's real
 * datapoints, ECS target tracking on ECS's own CPU metric, and a capacity simulation. Pure functions, no I/O.
 *
 * Every range is [low, mid, high] seconds. Sources and status are in RANGES below and are printed with the results.
 */

/** One CPUUtilization datum as it reached the (local) CloudWatch endpoint. */
export interface Datapoint {
  /** The datum's Timestamp (ms since the epoch): the second it describes. */
  ts: number;
  /** Percent of the task's vCPU. */
  value: number;
  /** When the PutMetricData request carrying it reached the endpoint (ms since the epoch). */
  arrivedAt: number;
}

/** A load step measured on the real agent. */
export interface Trial {
  /** When the burner switched to the high load (ms since the epoch). */
  stepAt: number;
  /** Milliseconds from the step to the first PutMetricData carrying a value at or above the threshold. */
  detectMs: number;
  /** The task-level CPU datapoints from 20 s before to 30 s after the step. */
  points: Datapoint[];
}

/** What the scale-out alarm and policy look like, read from the synthesized template. */
export interface StepScalingSettings {
  periodS: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  cooldownS: number;
  adjustmentType: string;
  minAdjustmentMagnitude: number;
  /** Step adjustments as absolute metric ranges (threshold added back), ascending. */
  steps: Array<{ lower: number; upper?: number; change: number }>;
  minCapacity: number;
  maxCapacity: number;
  flushIntervalMs: number;
  procfs: boolean;
  taskVcpu: number;
}

export type Case = 'low' | 'mid' | 'high';
export const CASES: Case[] = ['low', 'mid', 'high'];
type Range = Record<Case, number>;

/** The modelled delays, with their sources. */
export const RANGES: Record<string, { range: Range; source: string }> = {
  cloudWatchIngestS: {
    range: { low: 0.5, mid: 2, high: 5 },
    source: 'PutMetricData accepted → datapoint visible to alarm evaluation. AWS publishes no figure: assumption.',
  },
  highResAlarmLagS: {
    range: { low: 1, mid: 3, high: 10 },
    source: 'End of a 10 s period → its evaluation. CloudWatch docs: high-resolution alarms (10/30 s periods) are evaluated every ' +
      '10 s; the lag after the period end is not published: assumption (up to one period).',
  },
  autoScalingActionS: {
    range: { low: 1, mid: 3, high: 10 },
    source: 'Alarm state change → Application Auto Scaling sets the new desired count. Not published: assumption.',
  },
  fargateStartS: {
    range: { low: 23, mid: 40, high: 90 },
    source: 'Desired count raised → task RUNNING (image pull included). Low: AWS high-resolution metrics blog, 2026-06 (109 s total − 86 s ' +
      'trigger = 23 s); mid/high: typical Fargate launch times for small images (assumption, depends on the image size).',
  },
  albRegistrationS: {
    range: { low: 10, mid: 20, high: 30 },
    source: 'RUNNING → healthy in the target group: registration plus 2 health checks 10 s apart (this construct\'s target group); ' +
      'ELB docs: a target receives traffic once it passes HealthyThresholdCount checks.',
  },
};

/** The AWS benchmark the ECS set-ups are calibrated to (time from load to the scale-out trigger). */
export const AWS_BENCHMARK = {
  source: 'AWS News Blog, "Amazon ECS introduces new high-resolution metrics for faster service auto scaling" (2026-06-18): time ' +
    'to trigger scale-out 363 s with 60 s metrics, 86 s with 20 s metrics (total with provisioning 386 s / 109 s).',
  standardTriggerS: 363,
  highResTriggerS: 86,
};

/** Default target tracking: 3 of 3 datapoints above the target (REFERENCE §5); ECS's default cooldown 300 s (AAS docs). */
export const TARGET_TRACKING = { datapoints: 3, cooldownS: 300 };

/**
 * Replays one trial's real datapoints through a CloudWatch alarm: periods aligned to multiples of `periodS` on the
 * epoch clock; the period [b − P, b) is evaluated at b + lag with the datapoints that reached CloudWatch by then
 * (arrival + ingest); its Average breaches at ≥ threshold; ALARM when `datapointsToAlarm` of the last
 * `evaluationPeriods` periods breach. Returns seconds from the step to the ALARM state (undefined if never).
 */
export function replayAlarm(trial: Trial, s: StepScalingSettings, ingestS: number, lagS: number): number | undefined {
  const P = s.periodS * 1000;
  const first = Math.floor(trial.stepAt / P) * P;
  const last = trial.points.reduce((a, p) => Math.max(a, p.ts), 0);
  for (let b = first + P; b <= last + P; b += P) {
    const evalAt = b + lagS * 1000;
    let breaching = 0;
    for (let k = 0; k < s.evaluationPeriods; k++) {
      const end = b - k * P;
      const vals = trial.points.filter((p) => p.ts >= end - P && p.ts < end && p.arrivedAt + ingestS * 1000 <= evalAt).map((p) => p.value);
      if (vals.length > 0 && vals.reduce((a, v) => a + v, 0) / vals.length >= s.threshold) breaching++;
    }
    if (breaching >= s.datapointsToAlarm && evalAt >= trial.stepAt) return (evalAt - trial.stepAt) / 1000;
  }
  return undefined;
}

/**
 * ECS target tracking on ECS's own CPU metric at resolution R: the metric's Average over each period breaches when
 * at least the share (target − before)/(after − before) of it lies after the step; the alarm needs 3 consecutive
 * breaching periods and sees a period `lagS` after its end. Returns the median over step phases spread evenly in R.
 */
export function targetTrackingTrigger(resolutionS: number, lagS: number, actionS: number, before: number, after: number, target: number): number {
  const need = (target - before) / (after - before);
  const out: number[] = [];
  for (let i = 0; i < 100; i++) {
    const phase = ((i + 0.5) / 100) * resolutionS; // step at `phase` seconds into a period
    const firstEnd = resolutionS - phase;
    const firstBreaches = (resolutionS - phase) / resolutionS >= need;
    const thirdEnd = firstEnd + (firstBreaches ? 2 : 3) * resolutionS;
    out.push(thirdEnd + lagS + actionS);
  }
  return median(out);
}

/** The ECS metric lag that makes the mid case reproduce AWS's measured trigger time. */
export function calibratedLag(resolutionS: number, measuredTriggerS: number, actionS: number, before: number, after: number, target: number): number {
  return Math.max(0, measuredTriggerS - targetTrackingTrigger(resolutionS, 0, actionS, before, after, target));
}

export interface Simulation {
  /** Seconds from the step to the first scale-out action. */
  firstActionS: number;
  /** Seconds from the step until running, healthy capacity ≥ demand (undefined if not within the horizon). */
  enoughS?: number;
  /** Per second from −30 s: demand and serving capacity (tasks), desired count. */
  timeline: Array<{ t: number; demand: number; serving: number; desired: number }>;
  actions: Array<{ t: number; desired: number }>;
}

/**
 * Capacity over time after demand jumps from `beforeShare` to `afterShare` of the initial capacity (minCapacity
 * tasks). Utilization = demand / serving tasks, capped at 100 % (a Fargate task cannot use more than its vCPU).
 * `decide(t, desired, utilization)` returns the new desired count at an action, `nextCheck` when the policy may act
 * again (cooldown), `detectS` how stale the metric the policy sees is.
 */
export function simulate(opts: {
  minCapacity: number;
  maxCapacity: number;
  beforeShare: number;
  afterShare: number;
  firstActionS: number;
  readyDelayS: number;
  cooldownS: number;
  detectS: number;
  threshold: number;
  decide: (desired: number, utilization: number) => number;
  horizonS: number;
}): Simulation {
  const demand = (t: number) => (t < 0 ? opts.beforeShare : opts.afterShare) * opts.minCapacity;
  const ready: number[] = Array(opts.minCapacity).fill(-1e9);
  let desired = opts.minCapacity;
  const timeline: Simulation['timeline'] = [];
  const actions: Simulation['actions'] = [];
  const serving = (t: number) => ready.filter((r) => r <= t).length;
  const util = (t: number) => Math.min(100, (100 * demand(t)) / Math.max(1, serving(t)));
  let nextAction = opts.firstActionS;
  let enoughS: number | undefined;
  for (let t = -30; t <= opts.horizonS; t++) {
    if (t >= nextAction) {
      const seen = util(t - opts.detectS);
      if (seen >= opts.threshold && desired < opts.maxCapacity) {
        const next = Math.min(opts.maxCapacity, Math.max(desired + 1, opts.decide(desired, seen)));
        for (let i = desired; i < next; i++) ready.push(t + opts.readyDelayS);
        desired = next;
        actions.push({ t, desired });
        nextAction = t + opts.cooldownS;
      } else {
        nextAction = t + 1;
      }
    }
    const s = serving(t);
    if (enoughS === undefined && t >= 0 && s >= demand(t)) enoughS = t;
    timeline.push({ t, demand: demand(t), serving: s, desired });
  }
  return { firstActionS: opts.firstActionS, enoughS, timeline, actions };
}

/** The step policy's new desired count for a metric value (Application Auto Scaling's rounding: down, at least the minimum magnitude). */
export function stepDecision(s: StepScalingSettings): (desired: number, value: number) => number {
  return (desired, value) => {
    const step = s.steps.find((x) => value >= x.lower && (x.upper === undefined || value < x.upper));
    if (!step) return desired;
    if (s.adjustmentType === 'PercentChangeInCapacity') return desired + Math.max(s.minAdjustmentMagnitude, Math.floor((desired * step.change) / 100));
    if (s.adjustmentType === 'ExactCapacity') return step.change;
    return desired + step.change;
  };
}

/** Target tracking's proportional decision: desired × metric / target, rounded up. */
export function targetTrackingDecision(target: number): (desired: number, value: number) => number {
  return (desired, value) => Math.ceil((desired * value) / target);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
