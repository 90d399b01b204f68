/** Shapes of the ECS Task Metadata Endpoint v4 payloads, as far as the agent reads them. Every field is optional. */

export interface TmdeLimits {
  CPU?: number;
  Memory?: number;
}

export interface TmdeContainer {
  DockerId?: string;
  Name?: string;
  Type?: string;
  KnownStatus?: string;
  ExitCode?: number | null;
  StartedAt?: string;
  FinishedAt?: string;
  Limits?: TmdeLimits;
}

export interface TmdeTask {
  Cluster?: string;
  TaskARN?: string;
  Family?: string;
  Revision?: string;
  Limits?: TmdeLimits;
  Containers?: TmdeContainer[];
  ServiceName?: string;
}

export interface CpuStats {
  cpu_usage?: { total_usage?: number };
  system_cpu_usage?: number;
  online_cpus?: number;
}

export interface MemoryStats {
  usage?: number;
  limit?: number;
  privateworkingset?: number;
  stats?: Record<string, number | undefined>;
}

export interface ContainerStats {
  read?: string;
  preread?: string;
  cpu_stats?: CpuStats;
  precpu_stats?: CpuStats;
  memory_stats?: MemoryStats;
  name?: string;
}

/** `/task/stats`: keyed by DockerId; a stopped container is `null` (Fargate) or `{}` (EC2). */
export type TaskStats = Record<string, ContainerStats | null | Record<string, never>>;

/** One CloudWatch datum, independent of the publisher that sends it. */
export interface Datum {
  name: 'CPUUtilization' | 'MemoryUtilized' | 'MemoryUtilization' | 'RunDuration';
  unit: 'Percent' | 'Megabytes' | 'Seconds';
  value: number;
  timestampMs: number;
  dimensions: Array<[string, string]>;
}
