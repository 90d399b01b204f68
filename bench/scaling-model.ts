/**
 * The modelled (AWS) part of the scaling benchmark, and the evaluator the timeline tests drive with the policies
 * and alarms of a synthesized template. Pure functions and classes, no I/O.
 *
 * One place for the rules: {@link RULES} cites the documentation line of each CloudWatch / Application Auto Scaling /
 * ELB rule, {@link DELAYS} gives every delay with its source or marks it an assumption with its range. The classes
 * below ({@link CloudWatchAlarm}, {@link StepScalingPolicy}, {@link TargetTrackingPolicy}) each name the rules they
 * apply; {@link simulateStep} puts a service, its agents, the alarms and the policies together on one clock.
 */

// ---------------------------------------------------------------------------------------------------------------
// Rules and delays
// ---------------------------------------------------------------------------------------------------------------

/** The documented behaviour the model applies, each with the line it rests on. */
export const RULES = {
  highResEvaluation: 'CloudWatch User Guide, "Using Amazon CloudWatch alarms": "If the alarm period is 10 seconds or 30 seconds, the alarm is ' +
    'evaluated every 10 seconds." (periods of 60 s or more: every minute)',
  autoScalingReinvocation: 'CloudWatch User Guide, "Alarm actions": "Except for Auto Scaling actions, the actions happen only on state ' +
    'transitions"; AWS Knowledge Center "autoscaling-policy-cloudwatch-alarm": "an alarm invokes an Auto Scaling action once each ' +
    'minute when the alarm remains in a new state, regardless of the configured time period."',
  stepFromBreach: 'Application Auto Scaling API, StepAdjustment: "an adjustment based on the difference between the value of the aggregated ' +
    'CloudWatch metric and the breach threshold"; above the threshold the lower bound is inclusive, the upper exclusive; below it ' +
    'the lower bound is exclusive, the upper inclusive. Read here as the alarm\'s breaching datapoint (the period\'s aggregate).',
  percentRounding: 'Application Auto Scaling User Guide, step scaling, adjustment types: PercentChangeInCapacity results are rounded ' +
    '(greater than 1: down; between 0 and 1: to 1; between -1 and 0: to -1; less than -1: up); API StepScalingPolicyConfiguration: ' +
    'MinAdjustmentMagnitude is the minimum value to scale by.',
  scaleOutCooldown: 'Application Auto Scaling API, StepScalingPolicyConfiguration.Cooldown: "The scaling policy won\'t increase the desired ' +
    'capacity again unless either a larger scale out is triggered or the cooldown period ends. While the cooldown period is in ' +
    'effect, capacity added by the initiating scale-out activity is calculated as part of the desired capacity for the next scale-out ' +
    'activity" (+2 then +3 during the cooldown adds 1). Modelled: during the cooldown the new desired count is max(current, ' +
    'capacity before the initiating activity + the new adjustment computed on that capacity).',
  scaleInCooldown: 'Application Auto Scaling API, StepScalingPolicyConfiguration.Cooldown: "With scale-in policies ... scale-in activities are blocked until the cooldown period has expired. However, if ' +
    'another alarm triggers a scale-out activity during the cooldown period after a scale-in activity, Application Auto Scaling scales ' +
    'out the target immediately. In this case, the cooldown period for the scale-in activity stops".',
  capacityLimits: 'Application Auto Scaling User Guide: "A scaling adjustment can\'t change the capacity of the scalable target above the ' +
    'maximum capacity or below the minimum capacity."',
  albFirstCheck: 'ELB User Guide, "Health checks for Application Load Balancer target groups": "After your target is registered, it must ' +
    'pass one health check to be considered healthy." HealthyThresholdCount counts "consecutive health checks successes required ' +
    'before considering an unhealthy target healthy" (a target that failed, not a new one).',
  targetTrackingCooldown: 'Application Auto Scaling API, TargetTrackingScalingPolicyConfiguration.ScaleOutCooldown: same words as the step ' +
    'policy ("won\'t increase the desired capacity again unless either a larger scale out is triggered or the cooldown period ends"), ' +
    'default 300 s for ECS. What "larger" means for a target-tracking policy is not documented: both readings are modelled.',
  targetTrackingFormula: 'Not documented: target tracking "adds or removes capacity as required to keep the metric at, or close to, the ' +
    'specified target value". Modelled as new desired = ceil(desired × metric / target) (assumption).',
  cpuCap: 'A Fargate task cannot use more than its vCPU: utilization = demand / healthy tasks, capped at 100 % (REFERENCE §5).',
} as const;

export type Case = 'low' | 'mid' | 'high';
export const CASES: Case[] = ['low', 'mid', 'high'];
export type Range = Record<Case, number>;

/** Every delay the model uses: [low, mid, high] seconds, with its source or marked an assumption. */
export const DELAYS: Record<string, { range: Range; source: string }> = {
  putLatencyS: {
    range: { low: 0.05, mid: 0.2, high: 1 },
    source: 'Agent flush → PutMetricData accepted. Assumption: the bench measures the agent against moto on 127.0.0.1 (printed ' +
      'with the results); from a VPC to CloudWatch a round trip of 0.05–1 s.',
  },
  cloudWatchIngestS: {
    range: { low: 0.5, mid: 2, high: 5 },
    source: 'PutMetricData accepted → datapoint visible to alarm evaluation. AWS publishes no figure: assumption.',
  },
  alarmEvaluationLagS: {
    range: { low: 1, mid: 3, high: 9 },
    source: 'End of a period → the evaluation that reads it. Evaluations run every 10 s (RULES.highResEvaluation); their phase ' +
      'against the period ends is not published: assumption, within one cycle.',
  },
  autoScalingActionS: {
    range: { low: 1, mid: 3, high: 10 },
    source: 'Alarm action → Application Auto Scaling has set the new desired count. Not published: assumption.',
  },
  fargateStartS: {
    range: { low: 23, mid: 40, high: 90 },
    source: 'Desired count raised → task RUNNING (image pull included). Low: AWS News Blog on ECS high-resolution metrics, 2026-06 ' +
      '(109 s total − 86 s trigger = 23 s); mid/high: assumption (depends on the image size).',
  },
  albRegistrationS: {
    range: { low: 1, mid: 3, high: 10 },
    source: 'Task RUNNING → registered in the target group, first health check scheduled. Assumption. The first check then comes at a ' +
      'random point within one HealthCheckIntervalSeconds (assumption) and one pass makes the target healthy (RULES.albFirstCheck).',
  },
};

/**
 * A delay drawn from a distribution: lognormal by its median and σ (of the log), or uniform; clamped to `clamp`.
 * Every drawn delay gives its reason in {@link DRAWN_DELAYS} (`source`): a published figure or "assumption".
 */
export type Distribution =
  | { kind: 'lognormal'; median: number; sigma: number; clamp: [number, number] }
  | { kind: 'uniform'; min: number; max: number };

/**
 * The delays of the drawn model: each trial draws the CloudWatch and Auto Scaling delays once (the evaluation phase of
 * an alarm and the service's own path to CloudWatch are the same all trial long), and each new task its own Fargate
 * start and target registration (tasks start independently: a 2× burst waits for the slower of its new tasks).
 * Medians and spreads are assumptions kept within the ranges of {@link DELAYS} (the clamp), except where a source is
 * named. This is the model the README's figures and the targets use; the fixed `low`/`mid`/`high` cases remain as rows.
 */
export const DRAWN_DELAYS: Record<keyof Omit<DelayValues, 'perTask'>, { dist: Distribution; source: string }> = {
  putLatencyS: {
    dist: { kind: 'lognormal', median: 0.2, sigma: 0.6, clamp: [0.05, 1] },
    source: 'Assumption: lognormal, median 0.2 s, σ 0.6 (p10 0.09 s, p90 0.43 s), within DELAYS.putLatencyS [0.05, 1].',
  },
  cloudWatchIngestS: {
    dist: { kind: 'lognormal', median: 2, sigma: 0.5, clamp: [0.5, 5] },
    source: 'Assumption: lognormal, median 2 s, σ 0.5 (p10 1.1 s, p90 3.8 s), within DELAYS.cloudWatchIngestS [0.5, 5].',
  },
  alarmEvaluationLagS: {
    dist: { kind: 'uniform', min: 1, max: 9 },
    source: 'Assumption: uniform over DELAYS.alarmEvaluationLagS [1, 9] s: evaluations run every 10 s (RULES.highResEvaluation) at a ' +
      'phase AWS does not publish, so every phase is taken as equally likely (mean 5 s, above the mid case\'s 3 s).',
  },
  autoScalingActionS: {
    dist: { kind: 'lognormal', median: 3, sigma: 0.5, clamp: [1, 10] },
    source: 'Assumption: lognormal, median 3 s, σ 0.5 (p10 1.6 s, p90 5.7 s), within DELAYS.autoScalingActionS [1, 10].',
  },
  fargateStartS: {
    dist: { kind: 'lognormal', median: 35, sigma: 0.4, clamp: [15, 180] },
    source: 'Per task. Lognormal, median 35 s, σ 0.4 (p10 21 s, p90 58 s, p99 89 s): the low end matches the AWS News Blog figure ' +
      'of DELAYS.fargateStartS (23 s), the high end (90 s) is about p99; median and spread are an assumption (image size, ' +
      'capacity), the median the one of the independent model in issue 17.',
  },
  albRegistrationS: {
    dist: { kind: 'lognormal', median: 3, sigma: 0.5, clamp: [1, 10] },
    source: 'Per task. Assumption: lognormal, median 3 s, σ 0.5, within DELAYS.albRegistrationS [1, 10]; then the first health ' +
      'check at a random point within one interval, as in the fixed cases.',
  },
};

/** A standard normal draw (Box–Muller) from a uniform source. */
function normal(random: () => number): number {
  const u = Math.max(1e-12, random());
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One draw from a {@link Distribution}. */
export function draw(dist: Distribution, random: () => number): number {
  if (dist.kind === 'uniform') return dist.min + (dist.max - dist.min) * random();
  const x = dist.median * Math.exp(dist.sigma * normal(random));
  return Math.min(dist.clamp[1], Math.max(dist.clamp[0], x));
}

/** The delays of one trial of the drawn model (see {@link DRAWN_DELAYS}); Fargate start and registration per task. */
export function drawDelays(random: () => number): DelayValues {
  const g = (k: keyof typeof DRAWN_DELAYS) => draw(DRAWN_DELAYS[k].dist, random);
  return {
    putLatencyS: g('putLatencyS'),
    cloudWatchIngestS: g('cloudWatchIngestS'),
    alarmEvaluationLagS: g('alarmEvaluationLagS'),
    autoScalingActionS: g('autoScalingActionS'),
    fargateStartS: DRAWN_DELAYS.fargateStartS.dist.kind === 'lognormal' ? DRAWN_DELAYS.fargateStartS.dist.median : 35,
    albRegistrationS: 3,
    perTask: (r) => ({ fargateStartS: draw(DRAWN_DELAYS.fargateStartS.dist, r), albRegistrationS: draw(DRAWN_DELAYS.albRegistrationS.dist, r) }),
  };
}

/** CPU of a task that is running but not yet healthy (the load balancer sends it nothing). Assumption; range 0–10 %. */
export const IDLE_TASK_CPU = 2;

/** The AWS benchmark the ECS target-tracking set-ups are calibrated to (time from load to the scale-out trigger). */
export const AWS_BENCHMARK = {
  source: 'AWS News Blog, "Amazon ECS introduces new high-resolution metrics for faster service auto scaling" (2026-06-18): time ' +
    'to trigger scale-out 363 s with 60 s metrics, 86 s with 20 s metrics (total with provisioning 386 s / 109 s).',
  standardTriggerS: 363,
  highResTriggerS: 86,
};

/** ECS target tracking's alarm: 3 of 3 datapoints above the target (REFERENCE §5); scale-out cooldown 300 s (ECS default). */
export const TARGET_TRACKING = { datapoints: 3, cooldownS: 300 };

// ---------------------------------------------------------------------------------------------------------------
// Settings, as a template has them
// ---------------------------------------------------------------------------------------------------------------

export type Comparison = 'GreaterThanOrEqualToThreshold' | 'GreaterThanThreshold' | 'LessThanThreshold' | 'LessThanOrEqualToThreshold';

export interface AlarmSettings {
  periodS: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
  threshold: number;
  comparison: Comparison;
  statistic: 'Average' | 'Maximum' | 'Minimum';
  /** 'notBreaching' | 'breaching' | 'ignore' | 'missing'. */
  treatMissingData: string;
}

/** One step adjustment, bounds relative to the alarm threshold as in the template. */
export interface StepAdjustment { lower?: number; upper?: number; change: number }

export interface StepPolicySettings {
  /** Logical id of the policy in the template (or a label). */
  id: string;
  alarm: AlarmSettings;
  adjustmentType: 'ChangeInCapacity' | 'PercentChangeInCapacity' | 'ExactCapacity';
  cooldownS: number;
  minAdjustmentMagnitude?: number;
  steps: StepAdjustment[];
}

export interface AgentSettings {
  flushIntervalS: number;
  /** Flush every `fastFlushIntervalS` while the latest 1 s task CPU sample is at or above this (and at once on crossing it). */
  fastFlushCpuPercent?: number;
  fastFlushIntervalS: number;
  /** Whether the fast-flush settings came from the template (else: the planned wiring, see the results). */
  fastFlushFromTemplate: boolean;
  /**
   * Not in the agent (a what-if for the bench): keep the fast interval for this many seconds after the latest sample
   * at or above the threshold, so the samples after it are not held back. @default 0
   */
  fastFlushHoldS?: number;
}

export interface ScalingSettings {
  minCapacity: number;
  maxCapacity: number;
  policies: StepPolicySettings[];
  agent: AgentSettings;
  healthCheck: { intervalS: number; healthyThresholdCount: number };
  taskVcpu: number;
}

/** A scale-out policy is one whose steps add capacity. */
export function isScaleOut(p: StepPolicySettings): boolean {
  return p.steps.some((s) => s.change > 0);
}

/**
 * Reads the step-scaling policies and their alarms, capacity limits, agent flush settings and target-group health
 * check of the (one) FastScalingService in a synthesized template (`Template.toJSON()`).
 *
 * When the agent's environment has no fast-flush variable, `agent.fastFlushCpuPercent` is the planned wiring: the
 * lowest scale-out threshold, at `plannedFastFlushIntervalS` (`fastFlushFromTemplate` false).
 */
export function readScalingTemplate(template: any, plannedFastFlushIntervalS = 1): ScalingSettings {
  const res = template.Resources as Record<string, any>;
  const all = Object.entries(res);
  const target = all.find(([, r]) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget')![1].Properties;
  const policies: StepPolicySettings[] = [];
  for (const [id, r] of all) {
    if (r.Type !== 'AWS::ApplicationAutoScaling::ScalingPolicy' || !r.Properties.StepScalingPolicyConfiguration) continue;
    const alarmEntry = all.find(([, a]) => a.Type === 'AWS::CloudWatch::Alarm' && (a.Properties.AlarmActions ?? []).some((x: any) => x.Ref === id));
    if (!alarmEntry) continue;
    const a = alarmEntry[1].Properties;
    const c = r.Properties.StepScalingPolicyConfiguration;
    policies.push({
      id,
      alarm: {
        periodS: a.Period,
        evaluationPeriods: a.EvaluationPeriods,
        datapointsToAlarm: a.DatapointsToAlarm ?? a.EvaluationPeriods,
        threshold: a.Threshold,
        comparison: a.ComparisonOperator,
        statistic: a.Statistic ?? 'Average',
        treatMissingData: a.TreatMissingData ?? 'missing',
      },
      adjustmentType: c.AdjustmentType,
      // API StepScalingPolicyConfiguration: "If not specified, the default value is 300."
      cooldownS: c.Cooldown ?? 300,
      minAdjustmentMagnitude: c.MinAdjustmentMagnitude,
      steps: c.StepAdjustments.map((s: any) => ({
        lower: s.MetricIntervalLowerBound, upper: s.MetricIntervalUpperBound, change: s.ScalingAdjustment,
      })),
    });
  }
  const td = all.find(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')![1].Properties;
  const agent = td.ContainerDefinitions.find((c: any) => c.Name === 'fargate-monitor-agent');
  const env: Record<string, string> = {};
  for (const e of agent?.Environment ?? []) if (typeof e.Value === 'string') env[e.Name] = e.Value;
  const tg = all.find(([, r]) => r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup')![1].Properties;
  const outThresholds = policies.filter(isScaleOut).map((p) => p.alarm.threshold);
  const fromTemplate = env.FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT !== undefined;
  return {
    minCapacity: target.MinCapacity,
    maxCapacity: target.MaxCapacity,
    policies,
    agent: {
      flushIntervalS: Number(env.FARGATE_MONITOR_FLUSH_INTERVAL_MS ?? 10_000) / 1000,
      fastFlushCpuPercent: fromTemplate ? Number(env.FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT)
        : outThresholds.length ? Math.min(...outThresholds) : undefined,
      fastFlushIntervalS: fromTemplate ? Number(env.FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS ?? 1000) / 1000 : plannedFastFlushIntervalS,
      fastFlushFromTemplate: fromTemplate,
    },
    // ELB API CreateTargetGroup: HealthCheckIntervalSeconds defaults to 30 s for ip targets when unset.
    healthCheck: { intervalS: tg.HealthCheckIntervalSeconds ?? 30, healthyThresholdCount: tg.HealthyThresholdCount ?? 5 },
    taskVcpu: Number(td.Cpu) / 1024,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// CloudWatch: a metric with datapoints that become visible over time, and an alarm on it
// ---------------------------------------------------------------------------------------------------------------

/** Datapoints of one metric (all tasks publish to the same series), bucketed by whole second of their timestamp. */
export class MetricStore {
  private readonly buckets = new Map<number, Array<[number, number]>>();

  /** `ts` and `visibleAt` in seconds on the model's clock; `value` in the metric's unit. */
  add(ts: number, value: number, visibleAt: number): void {
    const k = Math.floor(ts + 1e-9);
    let b = this.buckets.get(k);
    if (!b) this.buckets.set(k, (b = []));
    b.push([value, visibleAt]);
  }

  /** The statistic over datapoints with a timestamp in [start, end) that are visible at `at`; undefined when none. */
  aggregate(start: number, end: number, at: number, statistic: AlarmSettings['statistic']): number | undefined {
    let n = 0;
    let acc = statistic === 'Average' ? 0 : statistic === 'Maximum' ? -Infinity : Infinity;
    for (let k = Math.floor(start + 1e-9); k < end - 1e-9; k++) {
      const b = this.buckets.get(k);
      if (!b) continue;
      for (const [v, vis] of b) {
        if (vis > at + 1e-9) continue;
        n++;
        acc = statistic === 'Average' ? acc + v : statistic === 'Maximum' ? Math.max(acc, v) : Math.min(acc, v);
      }
    }
    if (n === 0) return undefined;
    return statistic === 'Average' ? acc / n : acc;
  }
}

function breaches(value: number, threshold: number, c: Comparison): boolean {
  switch (c) {
    case 'GreaterThanOrEqualToThreshold': return value >= threshold;
    case 'GreaterThanThreshold': return value > threshold;
    case 'LessThanThreshold': return value < threshold;
    default: return value <= threshold;
  }
}

/** An invocation of an alarm's Auto Scaling action: when, and the breaching value it carries. */
export interface Invocation { at: number; value: number; transition: boolean }

/**
 * A metric alarm with an Auto Scaling action. Evaluated at `period end + lag` (every period for the periods the
 * scaling alarms use: RULES.highResEvaluation); M of N breaching periods put it in ALARM. Its action runs on the
 * transition into ALARM and again once a minute while it stays there (RULES.autoScalingReinvocation), carrying the
 * latest breaching period's aggregate (RULES.stepFromBreach). Missing periods: `notBreaching` counts them as good;
 * anything else leaves them out (with every period missing the state stays).
 */
export class CloudWatchAlarm {
  state: 'OK' | 'ALARM' = 'OK';
  /** Every state change: time and new state. */
  readonly history: Array<{ at: number; state: 'OK' | 'ALARM'; value?: number }> = [];
  private lastInvokedAt = -Infinity;

  constructor(readonly settings: AlarmSettings) {}

  /**
   * Evaluates the alarm at `at` over the N periods ending at `periodEnd` (seconds on the clock, a multiple of the
   * period). Returns the action's invocation, if any.
   */
  evaluate(store: MetricStore, periodEnd: number, at: number): Invocation | undefined {
    const s = this.settings;
    let breaching = 0;
    let present = 0;
    let latestBreach: number | undefined;
    for (let k = 0; k < s.evaluationPeriods; k++) {
      const end = periodEnd - k * s.periodS;
      const v = store.aggregate(end - s.periodS, end, at, s.statistic);
      if (v === undefined) {
        if (s.treatMissingData === 'breaching') breaching++;
        if (s.treatMissingData === 'notBreaching' || s.treatMissingData === 'breaching') present++;
        continue;
      }
      present++;
      if (breaches(v, s.threshold, s.comparison)) {
        breaching++;
        if (latestBreach === undefined) latestBreach = v;
      }
    }
    if (present === 0) return undefined;
    const next = breaching >= s.datapointsToAlarm ? 'ALARM' : 'OK';
    const transition = next !== this.state;
    if (transition) {
      this.state = next;
      this.history.push({ at, state: next, value: latestBreach });
    }
    if (next !== 'ALARM' || latestBreach === undefined) return undefined;
    if (transition || at >= this.lastInvokedAt + 60 - 1e-6) {
      this.lastInvokedAt = at;
      return { at, value: latestBreach, transition };
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Application Auto Scaling
// ---------------------------------------------------------------------------------------------------------------

/** The scalable target: the ECS service's desired count within its limits, and what changed it. */
export class ScalableTarget {
  readonly actions: Array<{ at: number; from: number; to: number; policy: string; value: number }> = [];
  /** End of the scale-in cooldown (a scale-out ends it: RULES.scaleInCooldown). */
  scaleInCooldownEnd = -Infinity;

  constructor(public desired: number, readonly min: number, readonly max: number) {}

  /** Sets the desired count within the limits (RULES.capacityLimits); returns whether it changed. */
  set(at: number, to: number, policy: string, value: number): boolean {
    const clamped = Math.min(this.max, Math.max(this.min, to));
    if (clamped === this.desired) return false;
    this.actions.push({ at, from: this.desired, to: clamped, policy, value });
    this.desired = clamped;
    return true;
  }
}

/** The adjustment of a step for a capacity, with Application Auto Scaling's rounding (RULES.percentRounding). */
export function adjustment(type: StepPolicySettings['adjustmentType'], change: number, capacity: number, minMagnitude?: number): number {
  if (type === 'ChangeInCapacity') return change;
  if (type === 'ExactCapacity') return change - capacity;
  const raw = (capacity * change) / 100;
  let adj = raw > 1 ? Math.floor(raw) : raw > 0 ? 1 : raw < -1 ? Math.ceil(raw) : raw < 0 ? -1 : 0;
  if (minMagnitude !== undefined && adj !== 0 && Math.abs(adj) < minMagnitude) adj = Math.sign(adj) * minMagnitude;
  return adj;
}

/** The step adjustment for a breaching value (RULES.stepFromBreach), or undefined. */
export function chooseStep(steps: StepAdjustment[], threshold: number, value: number): StepAdjustment | undefined {
  const d = value - threshold;
  // A step at or above the threshold (lower bound ≥ 0): lower inclusive, upper exclusive; below it the other way round.
  return steps.find((s) => (s.lower !== undefined && s.lower >= 0)
    ? d >= s.lower && (s.upper === undefined || d < s.upper)
    : (s.lower === undefined || d > s.lower) && (s.upper === undefined || d <= s.upper));
}

/** A step scaling policy as Application Auto Scaling runs it (RULES.stepFromBreach, percentRounding, scaleOutCooldown, scaleInCooldown). */
export class StepScalingPolicy {
  private cooldownEnd = -Infinity;
  private capacityBefore = 0;

  constructor(readonly settings: StepPolicySettings) {}

  invoke(target: ScalableTarget, at: number, value: number): void {
    const s = this.settings;
    const step = chooseStep(s.steps, s.alarm.threshold, value);
    if (!step || step.change === 0) return;
    if (step.change > 0 || (s.adjustmentType === 'ExactCapacity' && step.change > target.desired)) {
      if (at < this.cooldownEnd) {
        // During the cooldown the initiating activity's capacity counts toward this one: only a larger one acts.
        const want = this.capacityBefore + adjustment(s.adjustmentType, step.change, this.capacityBefore, s.minAdjustmentMagnitude);
        if (want > target.desired) target.set(at, want, s.id, value);
        return;
      }
      const before = target.desired;
      if (target.set(at, before + adjustment(s.adjustmentType, step.change, before, s.minAdjustmentMagnitude), s.id, value)) {
        this.capacityBefore = before;
        this.cooldownEnd = at + s.cooldownS;
        target.scaleInCooldownEnd = -Infinity;
      }
      return;
    }
    if (at < target.scaleInCooldownEnd) return;
    if (target.set(at, target.desired + adjustment(s.adjustmentType, step.change, target.desired, s.minAdjustmentMagnitude), s.id, value)) {
      target.scaleInCooldownEnd = at + s.cooldownS;
    }
  }
}

/**
 * ECS target tracking's scale-out (RULES.targetTrackingFormula). `reading`: 'blocked' = no scale-out for the
 * cooldown after one; 'recomputed' = each invocation recomputes the desired count from the current one and acts
 * when it is larger (RULES.targetTrackingCooldown).
 */
export class TargetTrackingPolicy {
  private cooldownEnd = -Infinity;

  constructor(readonly targetValue: number, readonly cooldownS: number, readonly reading: 'blocked' | 'recomputed') {}

  invoke(target: ScalableTarget, at: number, value: number): void {
    if (this.reading === 'blocked' && at < this.cooldownEnd) return;
    const want = Math.ceil((target.desired * value) / this.targetValue - 1e-9);
    if (want > target.desired && target.set(at, want, 'target-tracking', value)) this.cooldownEnd = at + this.cooldownS;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Driving alarms and policies on one clock
// ---------------------------------------------------------------------------------------------------------------

export interface ControlDelays {
  /** Seconds from the period end to the evaluation that reads it. */
  evaluationLagS: number;
  /** Seconds from an alarm action to the new desired count. */
  actionS: number;
}

/** Alarm + policy pairs on one scalable target: the same code for the bench and the timeline tests. */
export class ScalingController {
  readonly alarms: CloudWatchAlarm[];
  private readonly pending: Array<{ at: number; run: () => void }> = [];

  constructor(
    readonly target: ScalableTarget,
    readonly pairs: Array<{ alarm: AlarmSettings; store: MetricStore; policy: StepScalingPolicy | TargetTrackingPolicy; label: string }>,
    readonly delays: ControlDelays,
  ) {
    this.alarms = pairs.map((p) => new CloudWatchAlarm(p.alarm));
  }

  /** Everything due in (from, to]: evaluations at period end + lag, then the actions they started (after actionS). */
  advance(from: number, to: number): void {
    this.pairs.forEach((p, i) => {
      const P = p.alarm.periodS;
      const lag = this.delays.evaluationLagS;
      for (let end = Math.floor((from - lag) / P + 1e-9) * P + P; end + lag <= to + 1e-9; end += P) {
        if (end + lag <= from + 1e-9) continue;
        const inv = this.alarms[i].evaluate(p.store, end, end + lag);
        if (!inv) continue;
        const at = inv.at + this.delays.actionS;
        this.pending.push({ at, run: () => p.policy.invoke(this.target, at, inv.value) });
      }
    });
    this.pending.sort((a, b) => a.at - b.at);
    while (this.pending.length && this.pending[0].at <= to + 1e-9) this.pending.shift()!.run();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The service after a load step: tasks, agents, load balancer
// ---------------------------------------------------------------------------------------------------------------

/** Seeded random numbers in [0, 1) (Park–Miller, the seed hashed first so that seeds 1, 2, 3 … do not start alike). */
export function rng(seed: number): () => number {
  const h = Math.sin(seed * 12.9898 + 78.233) * 43758.5453;
  let a = Math.floor((h - Math.floor(h)) * 2147483645) + 1;
  return () => {
    a = (a * 16807) % 2147483647;
    return (a - 1) / 2147483646;
  };
}

export type Setup =
  | { kind: 'step'; settings: ScalingSettings; agentMode: 'adaptive' | 'fixed' }
  | {
    kind: 'target-tracking';
    resolutionS: number;
    targetValue: number;
    reading: 'blocked' | 'recomputed';
    metricLagS: number;
    minCapacity: number;
    maxCapacity: number;
    healthCheckIntervalS: number;
  };

export interface StepScenario {
  /** Demand before the step, share of the initial capacity (minCapacity tasks × 100 %). */
  before: number;
  /** Demand after the step at t = 0, share of the initial capacity (2 = a 2× step). */
  after: number;
  /**
   * Standard deviation (percentage points) of independent noise on each task's 1 s CPU samples (request arrivals,
   * /proc's 10 ms ticks), clamped to 0–100. @default 0
   */
  noiseSd?: number;
}

export interface DelayValues {
  putLatencyS: number;
  cloudWatchIngestS: number;
  alarmEvaluationLagS: number;
  autoScalingActionS: number;
  fargateStartS: number;
  albRegistrationS: number;
  /** When set, each new task draws its own Fargate start and registration (the drawn model); else the two above. */
  perTask?: (random: () => number) => { fargateStartS: number; albRegistrationS: number };
}

export function delaysFor(c: Case): DelayValues {
  const r = (k: string) => DELAYS[k].range[c];
  return {
    putLatencyS: r('putLatencyS'),
    cloudWatchIngestS: r('cloudWatchIngestS'),
    alarmEvaluationLagS: r('alarmEvaluationLagS'),
    autoScalingActionS: r('autoScalingActionS'),
    fargateStartS: r('fargateStartS'),
    albRegistrationS: r('albRegistrationS'),
  };
}

export interface StepRun {
  /** Seconds from the step to the first scale-out action (desired count raised). */
  firstActionS?: number;
  /** Desired count after the first action. */
  firstActionTo?: number;
  /** Seconds from the step until healthy tasks ≥ demand (undefined if not within the horizon). */
  enoughS?: number;
  /** Seconds from the step to the first PutMetricData carrying a task CPU datum ≥ the fast-flush (or alarm) threshold. */
  detectS?: number;
  /** PutMetricData calls per task per minute over the run's first minute before the step and after it. */
  callsBefore: number;
  callsAfter: number;
  actions: Array<{ t: number; desired: number }>;
  alarmHistory: Array<{ t: number; state: string; value?: number }>;
  timeline?: Array<{ t: number; demand: number; healthy: number; running: number; desired: number }>;
}

interface Task {
  runningAt: number;
  healthyAt: number;
  /** Sample boundaries at ticks ≡ samplePhase (mod 1 s). */
  samplePhase: number;
  /** Idle flushes at ticks ≡ flushPhase (mod the flush interval). */
  flushPhase: number;
  acc: number;
  accTicks: number;
  latest: number;
  buffer: Array<[number, number]>;
  lastFlush: number;
  /** Time of the latest sample at or above the fast-flush threshold. */
  lastHigh: number;
}

const DT = 0.1;

/**
 * One load step at t = 0 with random phases (of the clock's period boundaries, each task's 1 s sampling and flush
 * timer, each new target's first health check). Step-scaling set-ups run the agent per task (1 s samples of the
 * task's CPU; `adaptive`: flush every `flushIntervalS`, at once when a sample first reaches the fast-flush threshold
 * and every `fastFlushIntervalS` while samples stay at or above it; `fixed`: every `flushIntervalS` only), CloudWatch
 * (datapoints visible after put latency + ingest), the synthesized alarms and policies, Fargate start and the ALB.
 * Target-tracking set-ups publish ECS's service CPU per `resolutionS`, visible `metricLagS` after the period.
 */
export function simulateStep(setup: Setup, scenario: StepScenario, d: DelayValues, random: () => number,
  opts: { horizonS?: number; timeline?: boolean } = {}): StepRun {
  const horizon = opts.horizonS ?? 600;
  const minCap = setup.kind === 'step' ? setup.settings.minCapacity : setup.minCapacity;
  const maxCap = setup.kind === 'step' ? setup.settings.maxCapacity : setup.maxCapacity;
  const hcInterval = setup.kind === 'step' ? setup.settings.healthCheck.intervalS : setup.healthCheckIntervalS;
  // The clock: period boundaries at multiples of every period; the step falls at a random phase of a minute.
  const offsetTicks = Math.floor(random() * 600);
  const offset = offsetTicks * DT;
  const demandBefore = scenario.before * minCap;
  const demandAfter = scenario.after * minCap;
  const start = -90; // 30 s to settle, then a minute before the step counts calls
  const perS = Math.round(1 / DT);
  const newTask = (runningAt: number, healthyAt: number, flushS: number): Task => ({
    runningAt,
    healthyAt,
    samplePhase: Math.floor(random() * perS),
    flushPhase: Math.floor(random() * flushS * perS),
    acc: 0,
    accTicks: 0,
    latest: 0,
    buffer: [],
    lastFlush: -Infinity,
    lastHigh: -Infinity,
  });

  const cpuStore = new MetricStore();
  const target = new ScalableTarget(minCap, minCap, maxCap);
  let controller: ScalingController;
  let agent: AgentSettings | undefined;
  let fastThreshold = Infinity;
  if (setup.kind === 'step') {
    agent = setup.settings.agent;
    if (setup.agentMode === 'adaptive' && agent.fastFlushCpuPercent !== undefined) fastThreshold = agent.fastFlushCpuPercent;
    controller = new ScalingController(target, setup.settings.policies.map((p) => ({
      alarm: p.alarm, store: cpuStore, policy: new StepScalingPolicy(p), label: p.id,
    })), { evaluationLagS: d.alarmEvaluationLagS, actionS: d.autoScalingActionS });
  } else {
    controller = new ScalingController(target, [{
      alarm: {
        periodS: setup.resolutionS,
        evaluationPeriods: TARGET_TRACKING.datapoints,
        datapointsToAlarm: TARGET_TRACKING.datapoints,
        threshold: setup.targetValue,
        comparison: 'GreaterThanThreshold',
        statistic: 'Average',
        treatMissingData: 'missing',
      },
      store: cpuStore,
      policy: new TargetTrackingPolicy(setup.targetValue, TARGET_TRACKING.cooldownS, setup.reading),
      label: 'target-tracking',
    }], { evaluationLagS: d.alarmEvaluationLagS + setup.metricLagS, actionS: d.autoScalingActionS });
  }
  const flushS = agent?.flushIntervalS ?? 10;
  const flushTicks = Math.round(flushS * perS);
  const tasks: Task[] = [];
  for (let i = 0; i < minCap; i++) tasks.push(newTask(-1e9, -1e9, flushS));
  let known = minCap;

  const run: StepRun = { callsBefore: 0, callsAfter: 0, actions: [], alarmHistory: [] };
  if (opts.timeline) run.timeline = [];
  let callsBefore = 0;
  let callsAfter = 0;
  // ECS metric accumulation (target tracking): Σ utilization × dt over running tasks, Σ running task-time.
  let ecsSum = 0;
  let ecsTime = 0;

  const flush = (task: Task, t: number) => {
    task.lastFlush = t;
    if (task.buffer.length === 0) return;
    const arrive = t + offset + d.putLatencyS;
    for (const [ts, v] of task.buffer) {
      cpuStore.add(ts, v, arrive + d.cloudWatchIngestS);
      const detectAt = Number.isFinite(fastThreshold) ? fastThreshold : firstThreshold(setup);
      if (run.detectS === undefined && t >= 0 && v >= detectAt) run.detectS = arrive - offset;
    }
    task.buffer = [];
    if (t < 0 && t >= -60) callsBefore++;
    if (t >= 0 && t < 60) callsAfter++;
  };

  const ticks = Math.round((horizon - start) / DT);
  for (let i = 0; i <= ticks; i++) {
    const t = start + i * DT;
    // New tasks for a raised desired count; a lowered count stops the newest tasks.
    while (known < target.desired) {
      const at = target.actions[target.actions.length - 1]?.at ?? t;
      const own = d.perTask ? d.perTask(random) : d;
      const runningAt = at - offset + own.fargateStartS;
      tasks.push(newTask(runningAt, runningAt + own.albRegistrationS + random() * hcInterval, flushS));
      known++;
    }
    while (known > target.desired) { tasks.pop(); known--; }

    const demand = t < 0 ? demandBefore : demandAfter;
    let healthy = 0;
    let running = 0;
    for (const k of tasks) {
      if (k.healthyAt <= t) healthy++;
      if (k.runningAt <= t) running++;
    }
    const busy = healthy > 0 ? Math.min(100, (100 * demand) / healthy) : 0;
    if (run.enoughS === undefined && t >= 0 && healthy >= demandAfter - 1e-9) run.enoughS = +t.toFixed(1);
    if (run.timeline && i % perS === 0) run.timeline.push({ t: Math.round(t), demand, healthy, running, desired: target.desired });

    for (const k of tasks) {
      if (k.runningAt > t) continue;
      const u = k.healthyAt <= t ? busy : IDLE_TASK_CPU;
      k.acc += u;
      k.accTicks++;
      if (setup.kind === 'target-tracking') { ecsSum += u * DT; ecsTime += DT; }
      if (!agent) continue;
      // A 1 s sample ends at this tick: the datum of the second [t − 1, t).
      if ((i + k.samplePhase) % perS === 0) {
        if (k.accTicks >= perS) {
          const v = scenario.noiseSd ? Math.min(100, Math.max(0, k.acc / k.accTicks + scenario.noiseSd * normal(random))) : k.acc / k.accTicks;
          const prev = k.latest;
          k.latest = v;
          k.buffer.push([t + offset - 1, v]);
          if (v >= fastThreshold) k.lastHigh = t;
          const fast = v >= fastThreshold || t <= k.lastHigh + (agent.fastFlushHoldS ?? 0) + DT / 2;
          if (fast && (prev < fastThreshold || t >= k.lastFlush + agent.fastFlushIntervalS - DT / 2)) flush(k, t);
        }
        k.acc = 0;
        k.accTicks = 0;
      }
      if ((i + k.flushPhase) % flushTicks === 0) flush(k, t);
    }
    if (setup.kind === 'target-tracking') {
      const c = t + offset;
      const R = setup.resolutionS;
      if ((i + offsetTicks + Math.round(start * perS)) % Math.round(R * perS) === 0) {
        if (ecsTime > 0) cpuStore.add(c - R, ecsSum / ecsTime, c + setup.metricLagS);
        ecsSum = 0;
        ecsTime = 0;
      }
    }
    const before = target.actions.length;
    controller.advance(t + offset - DT, t + offset);
    for (const a of target.actions.slice(before)) {
      run.actions.push({ t: +(a.at - offset).toFixed(1), desired: a.to });
      if (run.firstActionS === undefined && a.to > a.from && a.at - offset >= 0) {
        run.firstActionS = +(a.at - offset).toFixed(1);
        run.firstActionTo = a.to;
      }
    }
    if (!opts.timeline && run.enoughS !== undefined && run.firstActionS !== undefined && t > 60) break;
  }
  run.alarmHistory = controller.alarms[0].history.map((h) => ({ t: +(h.at - offset).toFixed(1), state: h.state, value: h.value }));
  run.callsBefore = callsBefore / Math.max(1, minCap);
  run.callsAfter = callsAfter / Math.max(1, minCap);
  return run;
}

function firstThreshold(setup: Setup): number {
  if (setup.kind !== 'step') return setup.targetValue;
  const outs = setup.settings.policies.filter(isScaleOut).map((p) => p.alarm.threshold);
  return outs.length ? Math.min(...outs) : Infinity;
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------------------

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** p10, p50, p90 of the defined values, and how many were undefined (never happened within the horizon). */
export function spread(xs: Array<number | undefined>): { p10: number; p50: number; p90: number; n: number; never: number } {
  const v = xs.filter((x): x is number => x !== undefined);
  if (v.length === 0) return { p10: NaN, p50: NaN, p90: NaN, n: xs.length, never: xs.length };
  // Undefined counts as +∞: percentiles over all trials.
  const all = [...v, ...Array(xs.length - v.length).fill(Infinity)];
  return { p10: percentile(all, 10), p50: percentile(all, 50), p90: percentile(all, 90), n: xs.length, never: xs.length - v.length };
}
