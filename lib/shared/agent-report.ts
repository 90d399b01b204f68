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
  maxMemoryUsedMiB: number | null;
  memoryLimitMiB: number | null;
  maxMemoryUtilizationPercent: number | null;
  cpuAverageUtilizationPercent: number | null;
  cpuMaxUtilizationPercent: number | null;
  /** Distinct metadata samples the agent took. */
  samples: number;
  /** Where the peak memory came from: the metadata endpoint (10 s samples) or /proc (1 s). */
  memorySource: 'tmde' | 'procfs';
}
