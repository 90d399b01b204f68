/**
 * End to end: the BUNDLED agent as a real child process, a local TMDE replaying a sequence built from the real
 * Fargate fixtures, and moto as CloudWatch. Metrics are read back with the real SDK.
 */
import { randomUUID } from 'node:crypto';
import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { motoUrl } from '../support/moto';
import { AgentProcess, ensureBundle, FAKE_AWS_ENV } from './support/agent-process';
import { FakeTmde, sequenceHandler } from './support/fake-tmde';
import { fargateSequence, fargateTask, isoNs, loadFixture, FARGATE_TASK, tsMs } from './support/payloads';

const EXPORTER = '04d558ed038d41bb9de115aab248e4f9-4159844948'; // the "agent" here (self), Limits.Memory 128
const MAIN = '04d558ed038d41bb9de115aab248e4f9-3935363592'; // the app: no container memory limit
const MiB = 1048576;

function cw(): CloudWatchClient {
  return new CloudWatchClient({
    endpoint: motoUrl(),
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

type Dims = Array<[string, string]>;

async function series(client: CloudWatchClient, ns: string, name: string, unit: string, dims: Dims, fromMs: number): Promise<number[]> {
  const r = await client.send(new GetMetricDataCommand({
    StartTime: new Date(fromMs),
    EndTime: new Date(Date.now() + 60_000),
    ScanBy: 'TimestampAscending',
    MetricDataQueries: [{
      Id: 'q',
      MetricStat: {
        Metric: { Namespace: ns, MetricName: name, Dimensions: dims.map(([Name, Value]) => ({ Name, Value })) },
        Period: 1,
        Stat: 'Average',
        Unit: unit as any,
      },
    }],
  }));
  return r.MetricDataResults?.[0]?.Values ?? [];
}

async function listMetrics(client: CloudWatchClient, ns: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(new ListMetricsCommand({ Namespace: ns, NextToken: token }));
    for (const m of r.Metrics ?? []) {
      const dims = (m.Dimensions ?? []).map((d) => `${d.Name}=${d.Value}`).sort().join(',');
      out.push(`${m.MetricName}|${dims}`);
    }
    token = r.NextToken;
  } while (token);
  return [...new Set(out)].sort();
}

beforeAll(() => ensureBundle());

describe('bundled agent against a replayed Fargate task and moto', () => {
  const tmdes: FakeTmde[] = [];
  const agents: AgentProcess[] = [];
  afterEach(async () => {
    agents.forEach((a) => a.kill());
    await Promise.all(tmdes.map((t) => t.stop()));
    agents.length = 0;
    tmdes.length = 0;
  });

  test('publishes task and container metrics with the right values, units and dimensions, then REPORTs', async () => {
    const id = randomUUID().slice(0, 8);
    const ns = `E2E/${id}`;
    const cluster = `e2e-${id}`;
    const N = 6;
    const endMs = Date.now() - 5_000;
    // The app container `main` started exactly one hour before the last sample.
    const fixtureTask = loadFixture(FARGATE_TASK);
    const mainStarted = tsMs(fixtureTask.Containers.find((c: any) => c.Name === 'main').StartedAt);
    const shift = endMs - 3_600_000 - mainStarted;
    const task = fargateTask(cluster, shift);
    // CPU ns used per 10 s window, memory usage bytes per sample (synthetic, on top of the real fixture).
    const dE = [39_821_345, 50e6, 100e6, 25e6, 0, 75e6];
    const dM = [0, 500e6, 250e6, 1000e6, 125e6, 0];
    const uE = [40_611_840, 41e6, 42e6, 43e6, 44e6, 45e6];
    const uM = [24_264_704, 30e6, 100e6, 60e6, 50e6, 40e6];
    const seq = fargateSequence({ [EXPORTER]: { cpuDeltaNs: dE, usage: uE }, [MAIN]: { cpuDeltaNs: dM, usage: uM } }, N, endMs);

    // Expected figures from the raw numbers (task: 0.25 vCPU, 512 MiB; windows are exactly 10 s = 1e10 ns).
    // total_inactive_file from the fixture: ecs-exporter 946,176; main 270,336 (cgroup v1).
    const cpuE = dE.map((d) => (100 * (d / 1e10)) / 0.25); // e.g. 39,821,345 ns / 1e10 ns = 0.00398 cores → 1.593 %
    const cpuM = dM.map((d) => (100 * (d / 1e10)) / 0.25); // e.g. 1e9 / 1e10 = 0.1 cores → 40 %
    const cpuT = dE.map((d, i) => (100 * ((d + dM[i]) / 1e10)) / 0.25);
    const memE = uE.map((u) => (u - 946_176) / MiB); // 40,611,840 − 946,176 = 39,665,664 B = 37.83 MiB
    const memM = uM.map((u) => (u - 270_336) / MiB);
    const memT = memE.map((m, i) => m + memM[i]);
    const run = seq.map((_, i) => 3600 - (N - 1 - i) * 10);

    const tmde = new FakeTmde(sequenceHandler(task, seq, 'ecs-exporter', 2));
    tmdes.push(tmde);
    const uri = await tmde.start();
    const agent = new AgentProcess({
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL_CLOUDWATCH: motoUrl(),
      ECS_CONTAINER_METADATA_URI_V4: uri,
      FARGATE_MONITOR_NAMESPACE: ns,
      FARGATE_MONITOR_POLL_INTERVAL_MS: '40',
      FARGATE_MONITOR_FLUSH_INTERVAL_MS: '300',
    });
    agents.push(agent);
    const client = cw();
    // All samples served (plus repeats), then the periodic flush (not the shutdown one) must deliver everything.
    await agent.waitFor(() => (tmde.hits['/task/stats'] ?? 0) >= N * 2 + 2, 60_000, 'all samples served');
    const deadline = Date.now() + 15_000;
    let metrics: string[] = [];
    while (Date.now() < deadline) {
      metrics = await listMetrics(client, ns);
      if (metrics.length >= 10 && (await series(client, ns, 'CPUUtilization', 'Percent', [['ClusterName', cluster], ['TaskDefinitionFamily', task.Family]], endMs - 120_000)).length >= N) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(agent.alive).toBe(true);
    const fam = 'ecs-exporter-fixtures-fargate';
    const taskDims = `ClusterName=${cluster},TaskDefinitionFamily=${fam}`;
    expect(metrics).toEqual([
      `CPUUtilization|${taskDims}`,
      `CPUUtilization|ClusterName=${cluster},ContainerName=ecs-exporter,TaskDefinitionFamily=${fam}`,
      `CPUUtilization|ClusterName=${cluster},ContainerName=main,TaskDefinitionFamily=${fam}`,
      `MemoryUtilization|${taskDims}`,
      `MemoryUtilization|ClusterName=${cluster},ContainerName=ecs-exporter,TaskDefinitionFamily=${fam}`,
      `MemoryUtilization|ClusterName=${cluster},ContainerName=main,TaskDefinitionFamily=${fam}`,
      `MemoryUtilized|${taskDims}`,
      `MemoryUtilized|ClusterName=${cluster},ContainerName=ecs-exporter,TaskDefinitionFamily=${fam}`,
      `MemoryUtilized|ClusterName=${cluster},ContainerName=main,TaskDefinitionFamily=${fam}`,
      `RunDuration|${taskDims}`,
    ].sort());

    const from = endMs - 120_000;
    const T: Array<[string, string]> = [['ClusterName', cluster], ['TaskDefinitionFamily', fam]];
    const C = (name: string): Array<[string, string]> => [...T, ['ContainerName', name]];
    const close = (actual: number[], expected: number[], digits = 6) => {
      expect(actual).toHaveLength(expected.length);
      actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i], digits));
    };
    close(await series(client, ns, 'CPUUtilization', 'Percent', T, from), cpuT);
    close(await series(client, ns, 'CPUUtilization', 'Percent', C('ecs-exporter'), from), cpuE);
    close(await series(client, ns, 'CPUUtilization', 'Percent', C('main'), from), cpuM);
    close(await series(client, ns, 'MemoryUtilized', 'Megabytes', T, from), memT);
    close(await series(client, ns, 'MemoryUtilized', 'Megabytes', C('ecs-exporter'), from), memE);
    close(await series(client, ns, 'MemoryUtilized', 'Megabytes', C('main'), from), memM);
    close(await series(client, ns, 'MemoryUtilization', 'Percent', T, from), memT.map((m) => (100 * m) / 512));
    close(await series(client, ns, 'MemoryUtilization', 'Percent', C('ecs-exporter'), from), memE.map((m) => (100 * m) / 128));
    close(await series(client, ns, 'MemoryUtilization', 'Percent', C('main'), from), memM.map((m) => (100 * m) / 512));
    close(await series(client, ns, 'RunDuration', 'Seconds', T, from), run, 3);
    // Units are part of the data: the same metric under another unit has nothing.
    expect(await series(client, ns, 'CPUUtilization', 'Count', T, from)).toEqual([]);
    expect(await series(client, ns, 'MemoryUtilized', 'Bytes', T, from)).toEqual([]);

    const mainStartedMs = tsMs(task.Containers.find((c: any) => c.Name === 'main').StartedAt);
    const sigMs = Date.now();
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);
    // The app (`main`) is still RUNNING in /task: the agent keeps to the 3 s deadline for that case, and its clean
    // shutdown reached nothing of it (no datum left unsent, no shutdown error). Measured from outside the time also
    // holds how long a busy machine takes to run the process: bounded only against a hang (the figure is printed).
    expect(agent.logs().filter((l) => l.message.startsWith('shutdown'))).toEqual([]);
    expect(exit.tookMs).toBeLessThan(3_000 + 5_000);
    process.stderr.write(`e2e: clean shutdown with the app running took ${exit.tookMs} ms\n`);
    const appMax = Math.max(...memM); // the app container (`main`, no hard limit: measured against the task's 512 MiB)
    const maxMem = Math.max(...memT); // sample 2: (42e6 − 946,176 + 100e6 − 270,336) = 140,783,488 B / 1,048,576 = 134.26 MiB
    const avgCpu = cpuT.reduce((a, b) => a + b, 0) / N;
    const maxCpu = Math.max(...cpuT); // sample 3: (25e6 + 1e9) / 1e10 / 0.25 = 41 %
    expect(maxMem).toBeCloseTo(134.26, 2);
    expect(maxCpu).toBeCloseTo(41, 6);
    // Duration: main's StartedAt → the agent's shutdown (the app had not finished), i.e. one hour to the last
    // sample plus the time since then.
    const j = agent.reportJson();
    expect(j.durationSeconds * 1000).toBeGreaterThanOrEqual(sigMs - mainStartedMs - 1);
    expect(j.durationSeconds * 1000).toBeLessThanOrEqual(sigMs + exit.tookMs - mainStartedMs + 1);
    expect(agent.reportText()).toBe(
      `REPORT TaskArn: ${task.TaskARN}\tDuration: ${j.durationSeconds.toFixed(1)} s\tApp Exit Code: -\t` +
      'App: still running at agent shutdown (ECS stops the agent before the app)\t' +
      `App Max Memory Used: ${Math.round(appMax)} MiB (${((100 * appMax) / 512).toFixed(1)}% of 512 MiB task memory)\t` +
      `Task Max Memory Used: ${Math.round(maxMem)} MiB (${((100 * maxMem) / 512).toFixed(1)}% of 512 MiB)\t` +
      `CPU Average: ${avgCpu.toFixed(1)}%\tCPU Max: ${maxCpu.toFixed(1)}%\tSamples: ${N}`,
    );
    expect(j).toEqual({
      type: 'REPORT',
      taskArn: task.TaskARN,
      appContainer: 'main',
      appExitCode: null,
      appRunningAtShutdown: true,
      durationSeconds: expect.any(Number),
      maxMemoryUsedMiB: expect.any(Number),
      memoryLimitMiB: 512,
      memoryLimitScope: 'task',
      maxMemoryUtilizationPercent: expect.any(Number),
      taskMaxMemoryUsedMiB: expect.any(Number),
      taskMemoryMiB: 512,
      taskMaxMemoryUtilizationPercent: expect.any(Number),
      cpuAverageUtilizationPercent: expect.any(Number),
      cpuMaxUtilizationPercent: expect.any(Number),
      samples: N,
      memorySource: 'tmde',
      taskMemorySource: 'tmde',
    });
    expect(j.maxMemoryUsedMiB).toBeCloseTo(appMax, 1);
    expect(j.maxMemoryUtilizationPercent).toBeCloseTo((100 * appMax) / 512, 1);
    expect(j.taskMaxMemoryUsedMiB).toBeCloseTo(maxMem, 1);
    expect(j.taskMaxMemoryUtilizationPercent).toBeCloseTo((100 * maxMem) / 512, 1);
    expect(j.cpuAverageUtilizationPercent).toBeCloseTo(avgCpu, 1);
    expect(j.cpuMaxUtilizationPercent).toBeCloseTo(maxCpu, 1);
    // Quiet: no line per sample (start line + SIGTERM line, nothing else at info level for a healthy run).
    expect(agent.logs().filter((l) => l.level !== 'info')).toEqual([]);
    expect(agent.logs().length).toBeLessThanOrEqual(3);
  });

  test('ServiceName dimension, RunDuration off, explicit stopped app container, bad env values warn and default', async () => {
    const id = randomUUID().slice(0, 8);
    const ns = `E2E/${id}`;
    const cluster = `e2e-${id}`;
    const endMs = Date.now() - 5_000;
    const task = fargateTask(cluster, endMs - tsMs(loadFixture(FARGATE_TASK).Containers[0].StartedAt) - 600_000);
    const seq = fargateSequence({
      [EXPORTER]: { cpuDeltaNs: [1e8, 2e8], usage: [50e6, 60e6] },
      [MAIN]: { cpuDeltaNs: [0, 0], usage: [20e6, 20e6] },
    }, 2, endMs);
    const tmde = new FakeTmde(sequenceHandler(task, seq, 'ecs-exporter', 3));
    tmdes.push(tmde);
    const agent = new AgentProcess({
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL_CLOUDWATCH: motoUrl(),
      ECS_CONTAINER_METADATA_URI_V4: await tmde.start(),
      FARGATE_MONITOR_NAMESPACE: ns,
      FARGATE_MONITOR_SERVICE_NAME: 'web',
      FARGATE_MONITOR_RUN_DURATION: 'false',
      FARGATE_MONITOR_APP_CONTAINER: 'nonessential',
      FARGATE_MONITOR_POLL_INTERVAL_MS: '40',
      FARGATE_MONITOR_FLUSH_INTERVAL_MS: 'soon', // invalid → warning, default 10 s (so only the SIGTERM flush sends)
      FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS: '-5', // invalid → warning, default 10 s
    });
    agents.push(agent);
    await agent.waitFor(() => (tmde.hits['/task/stats'] ?? 0) >= 8, 60_000, 'samples served');
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);
    const warnings = agent.logs().filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^FARGATE_MONITOR_FLUSH_INTERVAL_MS="soon" is invalid.*default 10000/);
    expect(warnings[1]).toMatch(/^FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS="-5" is invalid.*default 10000/);
    const metrics = await listMetrics(cw(), ns);
    expect(metrics.filter((m) => m.startsWith('RunDuration'))).toEqual([]);
    expect(metrics).toContain(`CPUUtilization|ClusterName=${cluster},ServiceName=web`);
    expect(metrics).toContain(`MemoryUtilized|ClusterName=${cluster},ContainerName=main,ServiceName=web`);
    expect(metrics.every((m) => !m.includes('TaskDefinitionFamily') && !m.includes('TaskId'))).toBe(true);
    expect(metrics).toHaveLength(9);
    // nonessential: StartedAt …22.240922754, FinishedAt …22.270452337 → 0.0295 s, ExitCode 0.
    const j = agent.reportJson();
    expect(j.appContainer).toBe('nonessential');
    expect(j.appExitCode).toBe(0);
    expect(j.appRunningAtShutdown).toBe(false);
    expect(j.durationSeconds).toBe(0.03); // 0.029529583 s rounded to 3 decimals
    expect(j.samples).toBe(2);
    expect(agent.reportText()).toMatch(/\tDuration: 0\.0 s\tApp Exit Code: 0\t/);
  });

  test('shutdown order: the app exits just before the agent\'s SIGTERM; the shutdown re-read of /task finds its exit code', async () => {
    const id = randomUUID().slice(0, 8);
    const cluster = `e2e-${id}`;
    const endMs = Date.now() - 5_000;
    const task = fargateTask(cluster, endMs - 3_600_000 - tsMs(loadFixture(FARGATE_TASK).Containers.find((c: any) => c.Name === 'main').StartedAt));
    const seq = fargateSequence({
      [EXPORTER]: { cpuDeltaNs: [1e8, 1e8], usage: [50e6, 50e6] },
      [MAIN]: { cpuDeltaNs: [1e9, 1e9], usage: [90e6, 90e6] },
    }, 2, endMs);
    // /task says RUNNING until `stopped` flips; the stats keep main's last entry (no null entry to trigger a re-read),
    // so only the agent's shutdown re-read can learn that main has exited.
    let stopped = false;
    const finishedAt = isoNs(endMs + 2_000);
    const stoppedTask = JSON.parse(JSON.stringify(task));
    Object.assign(stoppedTask.Containers.find((c: any) => c.Name === 'main'), { KnownStatus: 'STOPPED', ExitCode: 137, FinishedAt: finishedAt });
    const seqHandler = sequenceHandler(task, seq, 'ecs-exporter', 2);
    const tmde = new FakeTmde((p, hit) => (p === '/task' && stopped ? { status: 200, body: JSON.stringify(stoppedTask) } : seqHandler(p, hit)));
    tmdes.push(tmde);
    const agent = new AgentProcess({
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL_CLOUDWATCH: motoUrl(),
      ECS_CONTAINER_METADATA_URI_V4: await tmde.start(),
      FARGATE_MONITOR_NAMESPACE: `E2E/${id}`,
      FARGATE_MONITOR_POLL_INTERVAL_MS: '40',
      FARGATE_MONITOR_FLUSH_INTERVAL_MS: '300',
    });
    agents.push(agent);
    await agent.waitFor(() => (tmde.hits['/task/stats'] ?? 0) >= 6, 60_000, 'samples served');
    const taskReads = tmde.hits['/task'] ?? 0;
    stopped = true;
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);
    expect(tmde.hits['/task']).toBeGreaterThan(taskReads); // re-read at shutdown
    const j = agent.reportJson();
    expect(j.appContainer).toBe('main');
    expect(j.appExitCode).toBe(137);
    expect(j.appRunningAtShutdown).toBe(false);
    expect(j.durationSeconds).toBeCloseTo(3602, 3); // StartedAt → FinishedAt, not → the shutdown
    expect(agent.reportText()).toMatch(/\tDuration: 3602\.0 s\tApp Exit Code: 137\tApp Max Memory Used: /);
    expect(agent.reportText()).not.toContain('still running');
    // RunDuration agrees with the REPORT: its last datum, at FinishedAt, is the same 3602 s (before: 3600 − 10, 3600).
    const rd = await series(cw(), `E2E/${id}`, 'RunDuration', 'Seconds', [['ClusterName', cluster], ['TaskDefinitionFamily', task.Family]], endMs - 120_000);
    expect(rd).toHaveLength(3);
    expect(rd[0]).toBeCloseTo(3590, 3);
    expect(rd[1]).toBeCloseTo(3600, 3);
    expect(rd[2]).toBeCloseTo(3602, 3);
    // The SIGTERM line says which deadline applied: the app was running per the last /task read before SIGTERM.
    expect(agent.logs().find((l) => l.message.startsWith('SIGTERM received'))).toMatchObject({ appRunning: true, shutdownTimeoutMs: 3000 });
  });

  test('without ECS_CONTAINER_METADATA_URI_V4: one clear line, idles, REPORT of unknowns and exit 0 on SIGTERM', async () => {
    const agent = new AgentProcess({ ...FAKE_AWS_ENV, AWS_ENDPOINT_URL_CLOUDWATCH: motoUrl() });
    agents.push(agent);
    await agent.waitFor(() => agent.lines.length >= 1, 60_000, 'first line');
    expect(agent.alive).toBe(true);
    expect(agent.logs()).toEqual([{ level: 'warn', message: expect.stringContaining('ECS_CONTAINER_METADATA_URI_V4 is not set') }]);
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);
    expect(agent.reportText()).toBe('REPORT TaskArn: -\tDuration: -\tApp Exit Code: -\tApp Max Memory Used: -\tTask Max Memory Used: -\tCPU Average: -\tCPU Max: -\tSamples: 0');
    expect(agent.reportJson()).toEqual({
      type: 'REPORT',
      taskArn: null,
      appContainer: null,
      appExitCode: null,
      appRunningAtShutdown: null,
      durationSeconds: null,
      maxMemoryUsedMiB: null,
      memoryLimitMiB: null,
      memoryLimitScope: null,
      maxMemoryUtilizationPercent: null,
      taskMaxMemoryUsedMiB: null,
      taskMemoryMiB: null,
      taskMaxMemoryUtilizationPercent: null,
      cpuAverageUtilizationPercent: null,
      cpuMaxUtilizationPercent: null,
      samples: 0,
      memorySource: 'tmde',
      taskMemorySource: 'tmde',
    });
  });
});
