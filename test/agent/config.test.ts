/** Environment parsing: defaults, valid values, and a warning naming the variable for every invalid one. */
import { syntheticTask } from './support/payloads';
import { DEFAULTS, loadConfig } from '../../agent/src/config';
import { Sampler } from '../../agent/src/sampler';

function load(env: Record<string, string>) {
  const warnings: string[] = [];
  const cfg = loadConfig(env, (m) => warnings.push(m));
  return { cfg, warnings };
}

test('defaults', () => {
  const { cfg, warnings } = load({});
  expect(warnings).toEqual([]);
  expect(cfg).toEqual({
    metadataUri: undefined,
    namespace: 'FargateMonitor',
    appContainer: undefined,
    serviceName: undefined,
    runDuration: true,
    pollIntervalMs: 1000,
    flushIntervalMs: 10000,
    shutdownTimeoutMs: 10000,
    shutdownTimeoutAppRunningMs: 3000,
    metadataTimeoutMs: 2000,
    cloudwatchTimeoutMs: 5000,
    publisher: 'cloudwatch',
    procfs: false,
    procRoot: '/proc',
    bufferMaxDatums: 20000,
    fastFlushCpuPercent: undefined,
    fastFlushIntervalMs: 1000,
  });
});

test('valid values', () => {
  const { cfg, warnings } = load({
    ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc/',
    FARGATE_MONITOR_NAMESPACE: 'My/App',
    FARGATE_MONITOR_APP_CONTAINER: 'web',
    FARGATE_MONITOR_SERVICE_NAME: 'svc',
    FARGATE_MONITOR_RUN_DURATION: 'FALSE',
    FARGATE_MONITOR_POLL_INTERVAL_MS: '250',
    FARGATE_MONITOR_FLUSH_INTERVAL_MS: '5000',
    FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS: '3000',
    FARGATE_MONITOR_SHUTDOWN_TIMEOUT_APP_RUNNING_MS: '1500',
    FARGATE_MONITOR_PUBLISHER: 'EMF',
    FARGATE_MONITOR_PROCFS: 'true',
    FARGATE_MONITOR_PROC_ROOT: '/host/proc',
    FARGATE_MONITOR_BUFFER_MAX_DATUMS: '5000',
    FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '62.5',
    FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS: '2000',
  });
  expect(warnings).toEqual([]);
  expect(cfg).toMatchObject({
    metadataUri: 'http://169.254.170.2/v4/abc',
    namespace: 'My/App',
    appContainer: 'web',
    serviceName: 'svc',
    runDuration: false,
    pollIntervalMs: 250,
    flushIntervalMs: 5000,
    shutdownTimeoutMs: 3000,
    shutdownTimeoutAppRunningMs: 1500,
    publisher: 'emf',
    procfs: true,
    procRoot: '/host/proc',
    bufferMaxDatums: 5000,
    fastFlushCpuPercent: 62.5,
    fastFlushIntervalMs: 2000,
  });
  expect(load({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '100' }).cfg.fastFlushCpuPercent).toBe(100);
  expect(load({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: ' 70 ' }).cfg.fastFlushCpuPercent).toBe(70);
});

test.each([
  ['FARGATE_MONITOR_NAMESPACE', 'AWS/ECS', 'namespace', 'FargateMonitor'],
  ['FARGATE_MONITOR_NAMESPACE', 'bad namespace!', 'namespace', 'FargateMonitor'],
  ['FARGATE_MONITOR_RUN_DURATION', 'maybe', 'runDuration', true],
  ['FARGATE_MONITOR_POLL_INTERVAL_MS', '1.5', 'pollIntervalMs', 1000],
  ['FARGATE_MONITOR_POLL_INTERVAL_MS', '0', 'pollIntervalMs', 1000],
  ['FARGATE_MONITOR_FLUSH_INTERVAL_MS', '1e4', 'flushIntervalMs', 10000],
  ['FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS', '200000', 'shutdownTimeoutMs', 10000],
  ['FARGATE_MONITOR_SHUTDOWN_TIMEOUT_APP_RUNNING_MS', '100', 'shutdownTimeoutAppRunningMs', 3000],
  ['FARGATE_MONITOR_PUBLISHER', 'stdout', 'publisher', 'cloudwatch'],
  ['FARGATE_MONITOR_PROCFS', 'on', 'procfs', false],
  ['FARGATE_MONITOR_BUFFER_MAX_DATUMS', '10', 'bufferMaxDatums', 20000],
  ['FARGATE_MONITOR_BUFFER_MAX_DATUMS', '-1', 'bufferMaxDatums', 20000],
  ['FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT', '0', 'fastFlushCpuPercent', undefined],
  ['FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT', '100.5', 'fastFlushCpuPercent', undefined],
  ['FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT', '-5', 'fastFlushCpuPercent', undefined],
  ['FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT', '70%', 'fastFlushCpuPercent', undefined],
  ['FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT', 'high', 'fastFlushCpuPercent', undefined],
  ['FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS', '0.5', 'fastFlushIntervalMs', 1000],
  ['FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS', '5', 'fastFlushIntervalMs', 1000],
])('%s=%j warns and uses the default', (name, value, key, def) => {
  const { cfg, warnings } = load({ [name]: value });
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain(name);
  expect(warnings[0]).toContain(JSON.stringify(value));
  expect((cfg as any)[key]).toEqual(def);
});

test('the default buffer holds more than 15 minutes of data at the default rate, /proc source on', () => {
  // Datums per TMDE sample (every 10 s on Fargate) for a 3-container task, counted from the real sampler.
  const syn = syntheticTask({
    containers: ['agent', 'app', 'log-router'].map((name, i) => ({ name, dockerId: `id-${i}`, cpuNsPerSample: 1e8, usage: 1e7 })),
  });
  const out = new Sampler({ runDuration: true }).ingest(syn.task, syn.next(), 'agent', Date.now())!;
  expect(out.datums).toHaveLength(4 + 3 * 3); // task: CPU, MemoryUtilized, MemoryUtilization, RunDuration; containers: 3 each
  const tmdePerSecond = out.datums.length / 10;
  const procfsPerSecond = 1 + 3; // task + per-container CPUUtilization every 1 s poll
  const seconds = DEFAULTS.bufferMaxDatums / (tmdePerSecond + procfsPerSecond);
  expect(seconds).toBeGreaterThan(15 * 60); // 20,000 / 5.3 ≈ 3,774 s ≈ 63 min
});
