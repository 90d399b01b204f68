/**
 * Memory against the limit that kills: the example's app container has a 768 MiB hard limit in a 1,024 MiB task. At
 * 760 MiB it is about to be OOM-killed, so every place that gives its peak must say ≥ 98 % (of 768), not 74 % (of the
 * task's 1,024); the task's own peak against the task's memory is given beside it, named as the task's, for sizing.
 *
 * The REPORT comes from the real Agent (in process, an in-memory TMDE built like the real Fargate fixture: container
 * `Limits.Memory` is present only for a container with a hard limit), and the handler's parser, RUN_OUTCOME record,
 * Slack message and right-size line read that very REPORT line.
 */
import { Agent, TmdeSource } from '../../agent/src/agent';
import { loadConfig } from '../../agent/src/config';
import { setLogWriter } from '../../agent/src/log';
import { buildMessage, judge, parseReportLine, rightSize, RunOutcomeConfig, runOutcomeRecord } from '../../lib/notifier/run-outcome';
import { isoNs } from '../agent/support/payloads';

const MiB = 1048576;
const IDS = { agent: 'f00d-agent', app: 'f00d-app' };

/** The agent's REPORT lines (text, JSON) after `samples` TMDE samples with these working sets (MiB). */
async function agentReport(opts: { appLimitMiB?: number; appMiB: number; agentMiB: number; samples?: number }): Promise<[string, string]> {
  const started = Date.now() - 600_000;
  const task = {
    Cluster: 'arn:aws:ecs:eu-central-1:111111111111:cluster/batch',
    Family: 'nightly-report',
    TaskARN: 'arn:aws:ecs:eu-central-1:111111111111:task/batch/0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c',
    Limits: { CPU: 0.5, Memory: 1024 },
    Containers: [
      { DockerId: IDS.agent, Name: 'fargate-monitor-agent', KnownStatus: 'RUNNING', Limits: { CPU: 0, Memory: 128 }, StartedAt: isoNs(started) },
      {
        DockerId: IDS.app,
        Name: 'app',
        KnownStatus: 'RUNNING',
        StartedAt: isoNs(started),
        Limits: opts.appLimitMiB ? { CPU: 2, Memory: opts.appLimitMiB } : { CPU: 2 },
      },
    ],
  };
  let n = 0;
  const entry = (mib: number, readMs: number, cpuNs: number) => ({
    read: isoNs(readMs),
    preread: isoNs(readMs - 10_000),
    cpu_stats: { cpu_usage: { total_usage: cpuNs } },
    precpu_stats: { cpu_usage: { total_usage: Math.max(0, cpuNs - 1e9) } },
    // cgroup v1 as on Fargate: working set = usage − total_inactive_file.
    memory_stats: { usage: mib * MiB + 4 * MiB, limit: 9223372036854771712, stats: { total_inactive_file: 4 * MiB } },
  });
  const tmde: TmdeSource = {
    container: async () => ({ Name: 'fargate-monitor-agent', DockerId: IDS.agent }),
    task: async () => task as any,
    taskStats: async () => {
      n++;
      const readMs = Date.now() - 300_000 + n * 10_000;
      // The app climbs to its peak on the last sample.
      const appMiB = opts.appMiB - (opts.samples ?? 3) + n;
      return { [IDS.agent]: entry(opts.agentMiB, readMs, n * 1e9), [IDS.app]: entry(appMiB, readMs, n * 2e9) } as any;
    },
    close: () => undefined,
  };
  const printed: string[] = [];
  setLogWriter(() => undefined);
  try {
    const cfg = loadConfig({ ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:1/v4/x', FARGATE_MONITOR_APP_CONTAINER: 'app' }, () => undefined);
    const pub = { add: () => undefined, flush: async () => undefined, pending: () => 0, close: async () => undefined };
    const agent = new Agent(cfg, { print: (l) => printed.push(l), makePublisher: () => pub as any, tmde });
    for (let i = 0; i < (opts.samples ?? 3); i++) await agent.poll();
    agent.printReport();
  } finally {
    setLogWriter((line) => { process.stdout.write(line + '\n'); });
  }
  const text = printed.find((l) => l.startsWith('REPORT '))!;
  const json = printed.find((l) => l.startsWith('{"type":"REPORT"'))!;
  return [text, json];
}

const cfg: RunOutcomeConfig = {
  appContainer: 'app',
  namespace: 'FargateMonitor',
  clusterName: 'batch',
  family: 'nightly-report',
  logGroupName: '/g',
  agentStreamPrefix: 'agent/fargate-monitor-agent',
  cpu: 512,
  memoryMiB: 1024,
  headroomPercent: 20,
  successWebhookSecretArn: 'arn:s',
  failureWebhookSecretArn: 'arn:f',
};
const detail = {
  taskArn: 'arn:aws:ecs:eu-central-1:111111111111:task/batch/0f3c0f3c0f3c0f3c0f3c0f3c0f3c0f3c',
  clusterArn: 'arn:aws:ecs:eu-central-1:111111111111:cluster/batch',
  lastStatus: 'STOPPED',
  stopCode: 'EssentialContainerExited',
  startedAt: '2026-01-01T00:00:00Z',
  executionStoppedAt: '2026-01-01T00:10:00Z',
  stoppedAt: '2026-01-01T00:10:30Z',
  containers: [{ name: 'app', exitCode: 0 }, { name: 'fargate-monitor-agent', exitCode: 0 }],
};

describe('the example\'s 768 MiB app in a 1,024 MiB task, at 760 MiB', () => {
  let text: string;
  let json: string;
  beforeAll(async () => { [text, json] = await agentReport({ appLimitMiB: 768, appMiB: 760, agentMiB: 40 }); });

  test('REPORT: the app container\'s peak against its hard limit (≥ 98 %), the task\'s against the task\'s memory', () => {
    const r = JSON.parse(json);
    expect(r).toMatchObject({
      appContainer: 'app',
      maxMemoryUsedMiB: 760,
      memoryLimitMiB: 768,
      memoryLimitScope: 'container',
      maxMemoryUtilizationPercent: 99,
      taskMaxMemoryUsedMiB: 800,
      taskMemoryMiB: 1024,
      taskMaxMemoryUtilizationPercent: 78.1,
      memorySource: 'tmde',
      taskMemorySource: 'tmde',
    });
    expect(r.maxMemoryUtilizationPercent).toBeGreaterThanOrEqual(98);
    expect(text).toContain('\tApp Max Memory Used: 760 MiB (99.0% of 768 MiB hard limit)\tTask Max Memory Used: 800 MiB (78.1% of 1024 MiB)\t');
  });

  test('RUN_OUTCOME: peakMemoryPercent ≥ 98 against memoryLimitMiB 768; the task\'s figures in their own fields', () => {
    const report = parseReportLine(json)!;
    const rec = runOutcomeRecord(detail, judge(detail, 'app'), cfg, report);
    expect(rec).toMatchObject({
      memoryMiB: 1024,
      peakMemoryMiB: 760,
      memoryLimitMiB: 768,
      peakMemoryPercent: 99,
      taskPeakMemoryMiB: 800,
      taskPeakMemoryPercent: 78.1,
    });
    expect(rec.peakMemoryPercent).toBeGreaterThanOrEqual(98);
  });

  test('Slack: the app container against its hard limit, the task against its memory, and a size that lifts both', () => {
    const report = parseReportLine(json)!;
    const message = JSON.stringify(buildMessage(detail, judge(detail, 'app'), cfg, report, undefined));
    expect(message).toContain('Peak memory: app container 760 MiB (99.0 % of its 768 MiB hard limit)\\nTask peak memory: 800 MiB (78.1 % of 1024 MiB task memory)');
    // The right-size line: the app is at its limit; its peak with 20 % headroom (912 MiB) plus the 256 MiB the task
    // keeps beside the app's limit needs 1,168 MiB of task memory, so 2 GiB, not the 1 GiB the task's 800 MiB suggests.
    const line = rightSize(report, cfg)!;
    expect(line).toBe('At its limit: the app container\'s memory peaked at 99 % of its 768 MiB hard limit. With 20 % headroom it needs ' +
      '256 CPU units / 2048 MiB (now 512 CPU units / 1024 MiB); memory drives the size: the app container\'s peak of 760 MiB needs ' +
      '1168 MiB of task memory with the headroom (its hard limit raised to match).');
    expect(message).toContain(line);
  });
});

test('without a hard limit the app is measured against the task\'s memory, and says so', async () => {
  const [text, json] = await agentReport({ appMiB: 700, agentMiB: 40 });
  const r = JSON.parse(json);
  expect(r).toMatchObject({
    maxMemoryUsedMiB: 700,
    memoryLimitMiB: 1024,
    memoryLimitScope: 'task',
    maxMemoryUtilizationPercent: 68.4,
    taskMaxMemoryUsedMiB: 740,
    taskMemoryMiB: 1024,
    taskMaxMemoryUtilizationPercent: 72.3,
  });
  expect(text).toContain('App Max Memory Used: 700 MiB (68.4% of 1024 MiB task memory)');
  const message = JSON.stringify(buildMessage(detail, judge(detail, 'app'), cfg, parseReportLine(json)!, undefined));
  expect(message).toContain('Peak memory: app container 700 MiB (68.4 % of the task\'s 1024 MiB: no hard limit)');
});

test('a REPORT from an agent before the task-level fields: its figures are the task\'s, against the task\'s memory', () => {
  const old = '{"type":"REPORT","taskArn":null,"appContainer":"app","appExitCode":0,"appRunningAtShutdown":false,"durationSeconds":60,'
    + '"maxMemoryUsedMiB":900,"memoryLimitMiB":1024,"maxMemoryUtilizationPercent":87.9,"cpuAverageUtilizationPercent":10,'
    + '"cpuMaxUtilizationPercent":20,"samples":6,"memorySource":"procfs"}';
  expect(parseReportLine(old)).toMatchObject({
    maxMemoryUsedMiB: 900,
    memoryLimitMiB: 1024,
    memoryLimitScope: 'task',
    taskMaxMemoryUsedMiB: 900,
    taskMemoryMiB: 1024,
    taskMaxMemoryUtilizationPercent: 87.9,
    taskMemorySource: 'procfs',
  });
});
