/** Environment → configuration. Invalid values log a warning naming the variable and fall back to the default. */
// The constructs validate the namespace with this same rule, so what synthesizes is what the agent accepts.
import { cloudWatchNamespaceProblem } from '../../lib/agent/cloudwatch-namespace';

export interface Config {
  metadataUri?: string;
  namespace: string;
  appContainer?: string;
  serviceName?: string;
  runDuration: boolean;
  pollIntervalMs: number;
  flushIntervalMs: number;
  shutdownTimeoutMs: number;
  /** The deadline instead, when shorter, if the app container is still running at SIGTERM (its SIGTERM waits for us). */
  shutdownTimeoutAppRunningMs: number;
  metadataTimeoutMs: number;
  cloudwatchTimeoutMs: number;
  publisher: 'cloudwatch' | 'emf';
  procfs: boolean;
  procRoot: string;
  bufferMaxDatums: number;
  /**
   * Task CPUUtilization (percent of the task's vCPU) at or above which the agent flushes every `fastFlushIntervalMs`
   * instead of every `flushIntervalMs`; undefined: always the normal interval.
   */
  fastFlushCpuPercent?: number;
  fastFlushIntervalMs: number;
}

export const DEFAULTS = {
  namespace: 'FargateMonitor',
  runDuration: true,
  pollIntervalMs: 1000,
  flushIntervalMs: 10000,
  shutdownTimeoutMs: 10000,
  shutdownTimeoutAppRunningMs: 3000,
  metadataTimeoutMs: 2000,
  cloudwatchTimeoutMs: 5000,
  publisher: 'cloudwatch' as const,
  procfs: false,
  procRoot: '/proc',
  bufferMaxDatums: 20000,
  fastFlushIntervalMs: 1000,
};

type Warn = (message: string, fields?: Record<string, unknown>) => void;

function str(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

function int(env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number, warn: Warn): number {
  const v = str(env, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    warn(`${name}=${JSON.stringify(v)} is invalid (expected an integer from ${min} to ${max}); using the default ${def}`, { variable: name });
    return def;
  }
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, def: boolean, warn: Warn): boolean {
  const v = str(env, name);
  if (v === undefined) return def;
  const l = v.toLowerCase();
  if (l === 'true' || l === '1' || l === 'yes') return true;
  if (l === 'false' || l === '0' || l === 'no') return false;
  warn(`${name}=${JSON.stringify(v)} is invalid (expected true or false); using the default ${def}`, { variable: name });
  return def;
}

/** A percentage above 0 and at most 100 (decimals allowed); unset or invalid (with a warning): undefined. */
function percent(env: NodeJS.ProcessEnv, name: string, warn: Warn): number | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0) || n > 100) {
    warn(`${name}=${JSON.stringify(v)} is invalid (expected a number above 0 and at most 100); using the default (unset: no fast flush)`, { variable: name });
    return undefined;
  }
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv, warn: Warn): Config {
  let namespace = str(env, 'FARGATE_MONITOR_NAMESPACE') ?? DEFAULTS.namespace;
  const problem = cloudWatchNamespaceProblem(namespace);
  if (problem) {
    warn(`FARGATE_MONITOR_NAMESPACE=${JSON.stringify(namespace)} is invalid (${problem}); using the default ${DEFAULTS.namespace}`, { variable: 'FARGATE_MONITOR_NAMESPACE' });
    namespace = DEFAULTS.namespace;
  }
  let publisher: Config['publisher'] = DEFAULTS.publisher;
  const p = str(env, 'FARGATE_MONITOR_PUBLISHER');
  if (p !== undefined) {
    if (p.toLowerCase() === 'cloudwatch' || p.toLowerCase() === 'emf') publisher = p.toLowerCase() as Config['publisher'];
    else warn(`FARGATE_MONITOR_PUBLISHER=${JSON.stringify(p)} is invalid (expected cloudwatch or emf); using the default ${DEFAULTS.publisher}`, { variable: 'FARGATE_MONITOR_PUBLISHER' });
  }
  const pollIntervalMs = int(env, 'FARGATE_MONITOR_POLL_INTERVAL_MS', DEFAULTS.pollIntervalMs, 10, 3_600_000, warn);
  return {
    metadataUri: str(env, 'ECS_CONTAINER_METADATA_URI_V4')?.replace(/\/+$/, ''),
    namespace,
    appContainer: str(env, 'FARGATE_MONITOR_APP_CONTAINER'),
    serviceName: str(env, 'FARGATE_MONITOR_SERVICE_NAME'),
    runDuration: bool(env, 'FARGATE_MONITOR_RUN_DURATION', DEFAULTS.runDuration, warn),
    pollIntervalMs,
    flushIntervalMs: int(env, 'FARGATE_MONITOR_FLUSH_INTERVAL_MS', DEFAULTS.flushIntervalMs, 10, 3_600_000, warn),
    shutdownTimeoutMs: int(env, 'FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS', DEFAULTS.shutdownTimeoutMs, 500, 110_000, warn),
    shutdownTimeoutAppRunningMs: int(env, 'FARGATE_MONITOR_SHUTDOWN_TIMEOUT_APP_RUNNING_MS', DEFAULTS.shutdownTimeoutAppRunningMs, 500, 110_000, warn),
    metadataTimeoutMs: int(env, 'FARGATE_MONITOR_METADATA_TIMEOUT_MS', DEFAULTS.metadataTimeoutMs, 50, 60_000, warn),
    cloudwatchTimeoutMs: int(env, 'FARGATE_MONITOR_CLOUDWATCH_TIMEOUT_MS', DEFAULTS.cloudwatchTimeoutMs, 50, 60_000, warn),
    publisher,
    procfs: bool(env, 'FARGATE_MONITOR_PROCFS', DEFAULTS.procfs, warn),
    procRoot: str(env, 'FARGATE_MONITOR_PROC_ROOT') ?? DEFAULTS.procRoot,
    bufferMaxDatums: int(env, 'FARGATE_MONITOR_BUFFER_MAX_DATUMS', DEFAULTS.bufferMaxDatums, 1000, 100_000, warn),
    fastFlushCpuPercent: percent(env, 'FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT', warn),
    fastFlushIntervalMs: int(env, 'FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS', DEFAULTS.fastFlushIntervalMs, 10, 3_600_000, warn),
  };
}
