/**
 * The agent's end-of-task REPORT, as the JSON line `{"type":"REPORT", ...AgentReportData}` it prints at SIGTERM:
 * one shape for the producer (agent/src/report.ts) and the consumer (the run-outcome handler in lib/notifier).
 * No imports: the agent bundle includes this file. Internal: not exported from the package.
 */
export interface AgentReportData {
  taskArn: string | null;
  appContainer: string | null;
  appExitCode: number | null;
  /**
   * true: the app container was still running (no `FinishedAt`, not STOPPED) in the last `/task` read at the agent's
   * shutdown: ECS stops the agent before the app (it reverses `dependsOn`), so there is no exit code yet and the
   * duration runs to the agent's shutdown. false: it had ended. null: no app container known.
   */
  appRunningAtShutdown: boolean | null;
  durationSeconds: number | null;
  /**
   * The APP CONTAINER's peak memory in use, MiB (its working set from the metadata endpoint, or its resident memory
   * from /proc when higher). null when no app container is known.
   */
  maxMemoryUsedMiB: number | null;
  /**
   * The limit that kills the app container, MiB: its own hard limit (`memoryLimitMiB` of the container, `Limits.Memory`
   * in the task metadata) when set, else the task's memory. `memoryLimitScope` says which.
   */
  memoryLimitMiB: number | null;
  /** `container`: `memoryLimitMiB` is the app container's hard limit; `task`: it has none, the task's memory applies. */
  memoryLimitScope: 'container' | 'task' | null;
  /** `maxMemoryUsedMiB` as a percent of `memoryLimitMiB`: how close the app came to being killed out of memory. */
  maxMemoryUtilizationPercent: number | null;
  /** The TASK's peak memory in use, MiB: all its containers together (the agent included), for sizing the task. */
  taskMaxMemoryUsedMiB: number | null;
  /** The task's memory (`Limits.Memory` of the task), MiB. */
  taskMemoryMiB: number | null;
  /** `taskMaxMemoryUsedMiB` as a percent of `taskMemoryMiB`. */
  taskMaxMemoryUtilizationPercent: number | null;
  cpuAverageUtilizationPercent: number | null;
  cpuMaxUtilizationPercent: number | null;
  /** Distinct metadata samples the agent took. */
  samples: number;
  /** Where the app container's peak memory came from: the metadata endpoint (10 s samples) or /proc (1 s). */
  memorySource: 'tmde' | 'procfs';
  /** Where the task's peak memory came from. */
  taskMemorySource: 'tmde' | 'procfs';
}
