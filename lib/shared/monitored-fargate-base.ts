import { Annotations, Duration, Names, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { addAppContainer, validateAppContainer } from './app-container';
import { AppContainerOptions } from './app-container-options';
import { defaultCluster } from './default-cluster';
import { claimFamily } from './family-registry';
import { validateFargateTaskSize } from './fargate-task-size';
import { MonitoredFargateOptions } from './monitored-fargate-options';
import { taskSecurityGroup } from './task-security-group';
import { AGENT_MEMORY_RESERVATION_MIB, MonitoringAgent } from '../agent/monitoring-agent';
import { TaskMetrics } from '../agent/task-metrics';

/**
 * What a monitored construct hands its shared core: the user's {@link MonitoredFargateOptions} plus the values the
 * construct decides (its task size with its own defaults, the app container, the agent's service settings).
 */
export interface MonitoredFargateBaseProps extends MonitoredFargateOptions {
  /** The application container. */
  readonly container: AppContainerOptions;

  /** Task CPU, in CPU units (1024 = 1 vCPU); with `memoryLimitMiB` a valid Fargate task size. */
  readonly cpu: number;

  /** Task memory, MiB; with `cpu` a valid Fargate task size. */
  readonly memoryLimitMiB: number;

  /**
   * Port mappings of the app container.
   *
   * @default - none
   */
  readonly portMappings?: ecs.PortMapping[];

  /**
   * The tasks belong to an ECS service: the agent's metrics carry `ServiceName` (see `serviceName`) instead of
   * `TaskDefinitionFamily`.
   *
   * @default false
   */
  readonly ecsService?: boolean;

  /**
   * Name of the ECS service, with `ecsService`. 1–255 letters, digits, hyphens and underscores.
   *
   * @default - derived from the construct path
   */
  readonly serviceName?: string;

  /**
   * How often the agent sends its metrics (see `MonitoringAgentProps.flushInterval`).
   *
   * @default Duration.seconds(10)
   */
  readonly flushInterval?: Duration;

  /**
   * The agent flushes every `fastFlushInterval` while the task's CPU is at or above this, percent of the task's vCPU
   * (see `MonitoringAgentProps.fastFlushCpuThresholdPercent`).
   *
   * @default - no fast flush
   */
  readonly fastFlushCpuThresholdPercent?: number;

  /**
   * Flush interval while the CPU is at or above `fastFlushCpuThresholdPercent`.
   *
   * @default Duration.seconds(1)
   */
  readonly fastFlushInterval?: Duration;
}

/**
 * The core both monitored constructs stand on ({@link MonitoredScheduledTask}, {@link FastScalingService}), as
 * aws-ecs-patterns' `ScheduledTaskBase` is for its scheduled tasks: the checks of the shared props (each message names
 * the prop), the cluster (the stack's default cluster without one), the tasks' security group, the log group, the
 * Fargate task definition with the app container and the monitoring agent sidecar, the agent's metrics and the
 * `metricXxx()` methods. A subclass adds what is its own (a schedule and run judgement; a load balancer and
 * scaling).
 *
 * @throws if `container` is missing, both `cluster` and `vpc` are given, cpu/memory is not a valid Fargate
 * combination, `container.memoryLimitMiB` plus the agent's 64 MiB reservation exceeds the task's memory,
 * `container.stopTimeout` exceeds 120 s, `logRetention` or `logEncryptionKey` is given with `logGroup`,
 * `dashboardName` is given with `createDashboard` false, `procfsSampling` is on with a platform version before
 * 1.4.0, `family` is already used by another monitored construct of the app in the same account and Region, or an
 * agent setting is invalid (see {@link MonitoringAgent})
 */
export abstract class MonitoredFargateBase extends Construct {
  /** The cluster the tasks run in. */
  public readonly cluster: ecs.ICluster;

  /** The task definition (app container and agent). */
  public readonly taskDefinition: ecs.FargateTaskDefinition;

  /** The application container. */
  public readonly appContainer: ecs.ContainerDefinition;

  /** The monitoring agent sidecar container. */
  public readonly agentContainer: ecs.ContainerDefinition;

  /** Log group of both containers. */
  public readonly logGroup: logs.ILogGroup;

  /** Security groups of the tasks: the given `securityGroups`, or the one created for them. */
  public readonly securityGroups: ec2.ISecurityGroup[];

  /** Metric factory for the agent's metrics of these tasks. */
  public readonly taskMetrics: TaskMetrics;

  /** CloudWatch namespace the agent publishes to. */
  public readonly namespace: string;

  /** Name of the app container. */
  public readonly appContainerName: string;

  /** Whether the agent samples `/proc` every second (the task then has `pidMode: task`). */
  public readonly procfsSampling: boolean;

  /**
   * Name of the ECS service the tasks belong to (`ecsService`), else undefined.
   * @internal
   */
  protected readonly _serviceName?: string;

  constructor(scope: Construct, id: string, props: MonitoredFargateBaseProps) {
    super(scope, id);
    const c = props.container;
    if (!c || !c.image) throw new Error('container is required, with at least container.image');
    if (props.cluster && props.vpc) throw new Error('give either cluster or vpc, not both (vpc is only for the stack\'s default cluster)');
    if (props.logGroup && (props.logRetention !== undefined || props.logEncryptionKey)) {
      throw new Error('logRetention and logEncryptionKey apply to the log group this construct creates: do not give them with logGroup (set them on that log group)');
    }
    if (props.createDashboard === false && props.dashboardName !== undefined) {
      throw new Error('dashboardName is given but createDashboard is false: give one or the other');
    }
    validateFargateTaskSize(props.cpu, props.memoryLimitMiB, 'cpu/memoryLimitMiB');
    claimFamily(this, props.family);
    this.appContainerName = validateAppContainer(c, props.memoryLimitMiB, AGENT_MEMORY_RESERVATION_MIB);
    this.procfsSampling = props.procfsSampling ?? false;
    if (this.procfsSampling && props.platformVersion && !Token.isUnresolved(props.platformVersion)
      && /^1\.[0-3]\./.test(props.platformVersion)) {
      throw new Error(`platformVersion must be 1.4.0 or later with procfsSampling (its pidMode task needs Fargate platform version 1.4.0 or later), got ${props.platformVersion}`);
    }
    if (props.enableExecuteCommand) {
      if (c.readonlyRootFilesystem) {
        Annotations.of(this).addWarningV2('cdk-fargate-monitor:execReadonlyRoot',
          'enableExecuteCommand is set but container.readonlyRootFilesystem is true: ECS Exec does not work in containers with a read-only root filesystem.');
      }
      if (this.procfsSampling) {
        Annotations.of(this).addWarningV2('cdk-fargate-monitor:execPidModeTask',
          'enableExecuteCommand is set and procfsSampling gives the task pidMode task: AWS allows one ECS Exec session per PID namespace, ' +
          'and the SSM agent runs in one container chosen non-deterministically, possibly the monitoring agent\'s read-only one, where ' +
          'sessions fail (aws/containers-roadmap#2268). Turn procfsSampling off for ECS Exec you can rely on.');
      }
    }

    if (props.ecsService) {
      this._serviceName = props.serviceName ?? Names.uniqueResourceName(this, { maxLength: 255, separator: '-' });
      if (!Token.isUnresolved(this._serviceName) && !/^[A-Za-z0-9_-]{1,255}$/.test(this._serviceName)) {
        throw new Error(`serviceName must be 1–255 letters, digits, hyphens and underscores, got ${JSON.stringify(this._serviceName)}`);
      }
    }

    this.cluster = props.cluster ?? defaultCluster(this, props.vpc);
    this.securityGroups = props.securityGroups && props.securityGroups.length > 0 ? props.securityGroups
      : [taskSecurityGroup(this, 'SecurityGroup', this.cluster.vpc,
        `Monitored ${props.ecsService ? 'service' : 'scheduled task'} ${this.node.path}`.slice(0, 255))];
    this.logGroup = props.logGroup ?? new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryLimitMiB,
      family: props.family,
      taskRole: props.taskRole,
      ephemeralStorageGiB: props.ephemeralStorageGiB,
      // pidMode task needs a Linux runtime platform; Fargate's default is Linux/X86_64, stated here explicitly.
      runtimePlatform: { operatingSystemFamily: ecs.OperatingSystemFamily.LINUX, cpuArchitecture },
      // The agent's 1-second /proc source sees the app's processes only in one PID namespace per task (Linux, 1.4.0+).
      pidMode: this.procfsSampling ? ecs.PidMode.TASK : undefined,
    });
    this.appContainer = addAppContainer(this.taskDefinition, c, this.logGroup, props.portMappings);

    const agent = new MonitoringAgent(this, 'Agent', {
      taskDefinition: this.taskDefinition,
      cpuArchitecture,
      appContainer: this.appContainer,
      logGroup: this.logGroup,
      namespace: props.namespace,
      agentImage: props.agentImage,
      agentMemoryLimitMiB: props.agentMemoryLimitMiB,
      metricsPublisher: props.metricsPublisher,
      procfsSampling: this.procfsSampling,
      serviceName: this._serviceName,
      flushInterval: props.flushInterval,
      fastFlushCpuThresholdPercent: props.fastFlushCpuThresholdPercent,
      fastFlushInterval: props.fastFlushInterval,
    });
    this.agentContainer = agent.container;
    this.namespace = agent.namespace;
    this.taskMetrics = new TaskMetrics({
      namespace: agent.namespace,
      clusterName: this.cluster.clusterName,
      ...this._serviceName !== undefined ? { serviceName: this._serviceName } : { taskDefinitionFamily: this.taskDefinition.family },
    });
  }

  /**
   * `CPUUtilization`, percent of the task's vCPU, of the tasks (or of one container). See {@link TaskMetrics}.
   *
   * @param containerName the container, or undefined for the whole task
   */
  public metricCpuUtilization(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricCpuUtilization(containerName, props);
  }

  /**
   * `MemoryUtilized`, MiB, of the tasks (or of one container). See {@link TaskMetrics}.
   *
   * @param containerName the container, or undefined for the whole task
   */
  public metricMemoryUtilized(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricMemoryUtilized(containerName, props);
  }

  /**
   * `MemoryUtilization`, percent of the limit, of the tasks (or of one container). See {@link TaskMetrics}.
   *
   * @param containerName the container, or undefined for the whole task
   */
  public metricMemoryUtilization(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.taskMetrics.metricMemoryUtilization(containerName, props);
  }
}
