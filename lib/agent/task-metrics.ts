import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The CloudWatch namespace the agent publishes to unless told otherwise. */
export const DEFAULT_NAMESPACE = 'FargateMonitor';

/**
 * Which task the metrics describe: the dimensions the agent puts on every datum.
 */
export interface TaskMetricsProps {
  /**
   * CloudWatch namespace the agent publishes to.
   *
   * @default 'FargateMonitor'
   */
  readonly namespace?: string;

  /** Name of the ECS cluster the task runs in (dimension `ClusterName`). */
  readonly clusterName: string;

  /**
   * Task definition family (dimension `TaskDefinitionFamily`), for standalone and scheduled tasks.
   * Exactly one of `taskDefinitionFamily` and `serviceName` must be given.
   *
   * @default - none: `serviceName` must be given
   */
  readonly taskDefinitionFamily?: string;

  /**
   * ECS service name (dimension `ServiceName`), for tasks that belong to a service.
   *
   * @default - none: `taskDefinitionFamily` must be given
   */
  readonly serviceName?: string;
}

/**
 * Metric factory for the metrics the cdk-fargate-monitor agent publishes.
 *
 * Every metric is high resolution (the agent writes `StorageResolution: 1`, one datum per sample, timestamped
 * with the sample's `read` time). Task-level metrics carry `ClusterName` and `TaskDefinitionFamily`
 * (or `ServiceName`); pass a container name for the same metric with an added `ContainerName` dimension.
 *
 * @throws if neither or both of `taskDefinitionFamily` and `serviceName` are given
 */
export class TaskMetrics {
  /** CloudWatch namespace of the agent's metrics. */
  public readonly namespace: string;
  private readonly dimensions: { [name: string]: string };

  constructor(props: TaskMetricsProps) {
    if ((props.taskDefinitionFamily === undefined) === (props.serviceName === undefined)) {
      throw new Error('TaskMetrics: give exactly one of taskDefinitionFamily and serviceName');
    }
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    this.dimensions = props.serviceName !== undefined
      ? { ClusterName: props.clusterName, ServiceName: props.serviceName }
      : { ClusterName: props.clusterName, TaskDefinitionFamily: props.taskDefinitionFamily! };
  }

  /**
   * `CPUUtilization`, unit Percent: CPU time used as a percent of the task's vCPU (task-level `Limits.CPU`),
   * so 100 means the whole task allocation is busy. For one container, that container's share of the task's vCPU.
   * Formula: Δ`cpu_usage.total_usage` / Δ`read` time, over the task's vCPU (not the `docker stats` host formula).
   *
   * @param containerName the container, or undefined for the whole task
   * @default statistic Average, period 10 seconds
   */
  public metricCpuUtilization(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('CPUUtilization', containerName, { statistic: 'Average', ...props });
  }

  /**
   * `MemoryUtilized`, unit Megabytes, value in MiB as ECS reports it: memory in use without reclaimable page cache,
   * `usage − inactive_file` (cgroup v2) or `usage − total_inactive_file` (v1), the formula of `docker stats` ≥ 20.10.
   *
   * @param containerName the container, or undefined for the sum over the task's containers
   * @default statistic Maximum, period 10 seconds
   */
  public metricMemoryUtilized(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MemoryUtilized', containerName, { statistic: 'Maximum', ...props });
  }

  /**
   * `MemoryUtilization`, unit Percent: `MemoryUtilized` as a percent of the container's own hard limit when it has one,
   * else of the task's memory. An out-of-memory kill happens at 100.
   *
   * @param containerName the container, or undefined for the task against the task's memory
   * @default statistic Maximum, period 10 seconds
   */
  public metricMemoryUtilization(containerName?: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('MemoryUtilization', containerName, { statistic: 'Maximum', ...props });
  }

  /**
   * `RunDuration`, unit Seconds: time since the app container's `StartedAt`, published with every sample while
   * the task runs (task level only).
   *
   * @default statistic Maximum, period 10 seconds
   */
  public metricRunDuration(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RunDuration', undefined, { statistic: 'Maximum', ...props });
  }

  private metric(metricName: string, containerName: string | undefined, props: cloudwatch.MetricOptions) {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      period: Duration.seconds(10),
      ...props,
      dimensionsMap: {
        ...this.dimensions,
        ...(containerName !== undefined ? { ContainerName: containerName } : {}),
        ...props.dimensionsMap,
      },
    });
  }
}
