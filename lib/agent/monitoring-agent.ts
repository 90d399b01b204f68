import * as path from 'node:path';
import { Duration, Token, Validations } from 'aws-cdk-lib';
import * as ecr_assets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { cloudWatchNamespaceProblem } from './cloudwatch-namespace';
import { MetricsPublisher } from './metrics-publisher';
import { DEFAULT_NAMESPACE } from './task-metrics';

/** Container name of the agent sidecar in the task definition. */
export const AGENT_CONTAINER_NAME = 'fargate-monitor-agent';

/**
 * The agent's shutdown deadline (`FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS`) and its container's `stopTimeout`, seconds.
 * ECS stops the agent before the app (shutdown reverses `dependsOn`), so this is the longest the agent can hold back
 * the app's SIGTERM. The agent prints its REPORT and exits by its deadline (it arms its last timer 300 ms before it);
 * should it be stuck anyway, ECS kills it at the same moment.
 */
const AGENT_STOP_SECONDS = 10;

/**
 * The agent container's soft memory reservation, MiB (its hard limit is `agentMemoryLimitMiB`, default 128). ECS counts
 * a container's reservation, not its hard limit, against the task's memory ("The total amount of memory reserved for
 * all containers within a task must be lower than the task memory value"; a container's reservation is its
 * `memoryReservation`, else its `memory`), so the app container may have a hard limit up to the task's memory minus
 * this. Internal. 64 MiB is the lowest hard limit at which the agent was measured to work without thrashing (agent/README.md,
 * "Benchmark"); under memory pressure the kernel reclaims a container above its reservation first.
 */
export const AGENT_MEMORY_RESERVATION_MIB = 64;

/**
 * Options of the monitoring agent that every monitored construct accepts.
 */
export interface MonitoringAgentOptions {
  /**
   * CloudWatch namespace the agent publishes to. The task role may put metric data to this namespace only.
   *
   * @default 'FargateMonitor'
   */
  readonly namespace?: string;

  /**
   * Image of the agent sidecar.
   *
   * @default - the agent bundled with this library, built from its `agent/` directory (a pre-bundled Node 22
   * script on Node 22 Alpine; `cdk synth` stages it without Docker, `cdk deploy` builds and pushes it)
   */
  readonly agentImage?: ecs.ContainerImage;

  /**
   * How the agent delivers metrics: PutMetricData calls, or Embedded Metric Format log lines.
   *
   * @default MetricsPublisher.putMetricData()
   */
  readonly metricsPublisher?: MetricsPublisher;

  /**
   * Also sample `/proc` every second for CPU and resident memory.
   *
   * Fargate refreshes the metadata endpoint's stats only about every 10 s, so a 10 s average hides short CPU
   * bursts and memory peaks. With this on, the task shares one PID namespace (`pidMode: task`, Fargate platform
   * 1.4+, Linux), so the agent sees every process of the task in `/proc` (read-only, world-readable files; it gets
   * no capability to signal or trace them). It publishes `CPUUtilization` at 1-second resolution, counted in
   * nanoseconds from each thread's `/proc/<pid>/task/<tid>/schedstat` (the scheduler counter the container's cgroup
   * adds up; threads and processes that exit between two polls come from `utime`/`stime` and the reaper's
   * `cutime`/`cstime` in 10 ms ticks; kernels without schedstat fall back to ticks and the agent logs why), and uses 1-second resident memory for the REPORT's peak, while `MemoryUtilized`/`MemoryUtilization` against the
   * limit still come from the metadata endpoint. If processes cannot be mapped to containers, it falls back to the
   * endpoint and logs why once.
   *
   * @default false
   */
  readonly procfsSampling?: boolean;

  /**
   * Hard memory limit of the agent container, MiB, at least 64. Should the agent ever exceed it, only the agent is
   * stopped (it is not essential): the app keeps its memory.
   *
   * Why at least 64: what the agent costs a task is its anonymous memory (about 15 MiB on Node 22 with PutMetricData,
   * about 10.5 MiB with Embedded Metric Format) plus node's own code pages, which the kernel charges to the container
   * and keeps resident under a hard limit. Measured in a memory cgroup (agent/README.md, "Benchmark"): at 64 MiB the
   * agent works (no out-of-memory kill, REPORT within 0.5 s of SIGTERM) but keeps re-reading code pages (330–470
   * major page faults a minute, about 2 % CPU); at 80–96 MiB it does not page; at 56 MiB it degraded, at 48 MiB it
   * thrashed, and at 40 MiB it published nothing for minutes and, on SIGTERM, stalled in page faults past its
   * shutdown deadline with no REPORT. A timer cannot rescue a process stuck in page faults, so lower limits are
   * refused.
   *
   * @default 128 (no paging, with room for the 1 s /proc source and bursts of buffered datums)
   */
  readonly agentMemoryLimitMiB?: number;
}

/**
 * Properties of {@link MonitoringAgent}.
 */
export interface MonitoringAgentProps extends MonitoringAgentOptions {
  /** Task definition the agent container is added to. */
  readonly taskDefinition: ecs.TaskDefinition;

  /**
   * CPU architecture of the task definition (its `runtimePlatform`): the default agent image is built for it
   * (linux/amd64 for X86_64, linux/arm64 for ARM64). Ignored when `agentImage` is given.
   *
   * @default CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /** The application container: the agent starts after it has started and reports on it. */
  readonly appContainer: ecs.ContainerDefinition;

  /** Log group for the agent's log lines (including the `REPORT` lines). */
  readonly logGroup: logs.ILogGroup;

  /**
   * Name of the ECS service the task belongs to. When set, metrics carry `ServiceName` instead of
   * `TaskDefinitionFamily`.
   *
   * @default - not a service: metrics carry `TaskDefinitionFamily`
   */
  readonly serviceName?: string;

  /**
   * Publish `RunDuration` (seconds since the app container started) with every sample.
   *
   * @default true
   */
  readonly publishRunDuration?: boolean;

  /**
   * How often the agent sends its buffered datums (one PutMetricData call per flush, or one batch of EMF lines).
   * A shorter interval makes metrics reach CloudWatch sooner (what fast scaling needs) at the cost of more API
   * calls: 60 s divided by the interval, per task per minute. Between 1 second and 1 hour.
   *
   * @default Duration.seconds(10)
   */
  readonly flushInterval?: Duration;

  /**
   * Task `CPUUtilization` (percent of the task's vCPU, above 0 and at most 100) at or above which the agent flushes
   * every `fastFlushInterval` instead of every `flushInterval`: metrics reach CloudWatch within about a second while
   * the load could make a scale-out alarm breach, and cost one call per `flushInterval` otherwise (at a 10 s flush,
   * 6 PutMetricData calls per task per minute at rest, 60 while at or above the threshold). The agent flushes at once
   * when a sample first reaches the threshold, and goes back to `flushInterval` with the first sample below it (no
   * hysteresis: samples below the threshold cannot make a scale-out alarm breach). Set it to the lowest scale-out
   * threshold of the alarms that read the agent's `CPUUtilization`.
   *
   * Works with or without `procfsSampling`: with it, the decision is taken on every 1-second sample; without it, on
   * the metadata endpoint's samples, about every 10 s on Fargate, so each sample at or above the threshold goes out as
   * soon as it is read but no faster than that (coarse).
   *
   * @default - no fast flush: always `flushInterval`
   */
  readonly fastFlushCpuThresholdPercent?: number;

  /**
   * The flush interval while task CPU is at or above `fastFlushCpuThresholdPercent`: a whole number of milliseconds
   * from 1 second to `flushInterval`. Only with `fastFlushCpuThresholdPercent`.
   *
   * @default Duration.seconds(1)
   */
  readonly fastFlushInterval?: Duration;
}

/**
 * The cdk-fargate-monitor agent as a sidecar of a Fargate task definition.
 *
 * Adds a non-essential container that starts once the app container has started (`dependsOn` START), runs as a
 * non-root user on a read-only root filesystem and logs to the given log group. With the PutMetricData publisher
 * (the default) it grants the task role `cloudwatch:PutMetricData`, limited by the `cloudwatch:namespace` condition
 * to the agent's namespace; with Embedded Metric Format it grants nothing.
 *
 * Shutdown order: ECS reverses `dependsOn` when a task stops. When the app exits on its own (a batch run that
 * ends), the app is already gone and the agent then gets SIGTERM. When the task is stopped from outside (StopTask,
 * a Fargate Spot interruption, a deployment), ECS sends SIGTERM to the agent FIRST and to the app only once the
 * agent has exited. The agent therefore has a short shutdown deadline, 10 seconds (`stopTimeout` 10 s, and
 * `FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS` 10000): it takes a last sample, flushes, prints its `REPORT` (which says
 * when the app was still running at the agent's SIGTERM) and exits within it (the agent shortens its own deadline
 * further when it sees the app still running), so the app's own SIGTERM comes at most 10 seconds late, and the app
 * keeps its full `stopTimeout` after it. The agent does not see the app's last
 * seconds in that case; the ECS task state change event still records the app's exit.
 *
 * @throws if `namespace` is not a valid custom CloudWatch namespace (1–255 characters from 0-9 A-Z a-z . - _ / # :
 * and space, not starting with ":" or "AWS/"), `agentMemoryLimitMiB` is under 64, `flushInterval` is outside
 * 1 second to 1 hour, `fastFlushCpuThresholdPercent` is not above 0 and at most 100, `fastFlushInterval` is set
 * without it or is outside 1 second to `flushInterval`, or `procfsSampling` is set on a task definition whose pidMode
 * is not "task"
 */
export class MonitoringAgent extends Construct {
  /** The agent container. */
  public readonly container: ecs.ContainerDefinition;

  /** CloudWatch namespace the agent publishes to. */
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: MonitoringAgentProps) {
    super(scope, id);
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    validateNamespace(this.namespace);
    const memoryLimitMiB = props.agentMemoryLimitMiB ?? 128;
    if (!Token.isUnresolved(memoryLimitMiB) && (!Number.isInteger(memoryLimitMiB) || memoryLimitMiB < 64)) {
      throw new Error(`agentMemoryLimitMiB must be an integer of at least 64 (MiB), got ${memoryLimitMiB}`);
    }

    const publisher = props.metricsPublisher ?? MetricsPublisher.putMetricData();
    if (props.procfsSampling && props.taskDefinition.pidMode !== ecs.PidMode.TASK) {
      throw new Error('procfsSampling needs a task definition with pidMode "task" (the task-wide PID namespace), so the agent sees the task\'s processes');
    }
    const environment: { [key: string]: string } = {
      FARGATE_MONITOR_NAMESPACE: this.namespace,
      FARGATE_MONITOR_APP_CONTAINER: props.appContainer.containerName,
      FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS: String(AGENT_STOP_SECONDS * 1000),
    };
    if (props.serviceName !== undefined) environment.FARGATE_MONITOR_SERVICE_NAME = props.serviceName;
    if (props.publishRunDuration === false) environment.FARGATE_MONITOR_RUN_DURATION = 'false';
    if (publisher.name !== 'cloudwatch') environment.FARGATE_MONITOR_PUBLISHER = publisher.name;
    if (props.procfsSampling) environment.FARGATE_MONITOR_PROCFS = 'true';
    if (props.flushInterval !== undefined && !props.flushInterval.isUnresolved()) {
      const ms = props.flushInterval.toMilliseconds();
      if (!Number.isInteger(ms) || ms < 1000 || ms > 3_600_000) {
        throw new Error(`flushInterval must be a whole number of milliseconds from 1 second to 1 hour, got ${props.flushInterval.toHumanString()}`);
      }
      if (ms !== 10_000) environment.FARGATE_MONITOR_FLUSH_INTERVAL_MS = String(ms);
    }
    const threshold = props.fastFlushCpuThresholdPercent;
    if (threshold !== undefined && !Token.isUnresolved(threshold)) {
      if (!(threshold > 0 && threshold <= 100)) {
        throw new Error(`fastFlushCpuThresholdPercent must be above 0 and at most 100 (percent of the task's vCPU), got ${threshold}`);
      }
      environment.FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT = String(threshold);
    }
    if (props.fastFlushInterval !== undefined && !props.fastFlushInterval.isUnresolved()) {
      if (threshold === undefined) throw new Error('fastFlushInterval needs fastFlushCpuThresholdPercent (the CPU at which the agent flushes fast)');
      const ms = props.fastFlushInterval.toMilliseconds();
      const flushMs = props.flushInterval !== undefined && !props.flushInterval.isUnresolved() ? props.flushInterval.toMilliseconds() : 10_000;
      if (!Number.isInteger(ms) || ms < 1000 || ms > flushMs) {
        throw new Error(`fastFlushInterval must be a whole number of milliseconds from 1 second to flushInterval (${flushMs} ms), got ${props.fastFlushInterval.toHumanString()}`);
      }
      if (ms !== 1000) environment.FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS = String(ms);
    }

    this.container = props.taskDefinition.addContainer('Agent', {
      containerName: AGENT_CONTAINER_NAME,
      image: props.agentImage ?? defaultAgentImage(props.cpuArchitecture),
      essential: false,
      memoryLimitMiB,
      memoryReservationMiB: AGENT_MEMORY_RESERVATION_MIB, // the hard limit is at least this (checked above)
      // Not the Fargate maximum of 120 s: the agent is stopped before the app, so this delays the app's SIGTERM.
      stopTimeout: Duration.seconds(AGENT_STOP_SECONDS),
      user: '1000:1000',
      readonlyRootFilesystem: true,
      environment,
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'agent' }),
    });
    this.container.addContainerDependencies({
      container: props.appContainer,
      condition: ecs.ContainerDependencyCondition.START,
    });
    // The agent logs with awslogs (and by default its image is an ECR asset), so the task has an execution role, to
    // which ECS grants ecr:GetAuthorizationToken: cdk-nag finding acknowledged with why.
    Validations.of(props.taskDefinition.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ecr:GetAuthorizationToken, granted by ECS to pull the agent image, supports no resource-level permissions.',
    });

    if (publisher.name === 'cloudwatch') {
      props.taskDefinition.addToTaskRolePolicy(new iam.PolicyStatement({
        sid: 'PutMetricDataToOwnNamespace',
        actions: ['cloudwatch:PutMetricData'],
        // PutMetricData has no resource-level permissions; the namespace condition is the scope.
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': this.namespace } },
      }));
      // cdk-nag (AwsSolutions) finding this statement raises, acknowledged with why.
      Validations.of(props.taskDefinition.taskRole).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'cloudwatch:PutMetricData supports no resource-level permissions; the statement is limited by the ' +
          'cloudwatch:namespace condition to the agent\'s namespace.',
      });
    }

    Validations.of(props.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The agent is configured by plain, non-secret FARGATE_MONITOR_* environment variables (namespace, ' +
        'container names); secrets belong in the containers\' secrets.',
    });
  }
}

/**
 * The bundled agent as an image asset, built for the task's CPU architecture (linux/amd64 or linux/arm64) whatever
 * the machine that deploys; the Dockerfile is architecture-neutral (node:22-alpine, pre-bundled JavaScript). The asset
 * hash is the same for every agent of one architecture, so CDK stages and pushes it once per architecture.
 */
function defaultAgentImage(cpuArchitecture?: ecs.CpuArchitecture): ecs.ContainerImage {
  const arch = cpuArchitecture?._cpuArchitecture ?? 'X86_64';
  if (arch !== 'X86_64' && arch !== 'ARM64') {
    throw new Error(`cpuArchitecture must be X86_64 or ARM64 for the bundled agent image, got ${arch}`);
  }
  return ecs.ContainerImage.fromAsset(path.join(__dirname, '..', '..', 'agent'), {
    platform: arch === 'ARM64' ? ecr_assets.Platform.LINUX_ARM64 : ecr_assets.Platform.LINUX_AMD64,
  });
}

function validateNamespace(namespace: string): void {
  if (Token.isUnresolved(namespace)) return;
  const problem = cloudWatchNamespaceProblem(namespace);
  if (problem) throw new Error(`namespace ${problem}, got ${JSON.stringify(namespace)}`);
}
