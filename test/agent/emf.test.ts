/**
 * Embedded Metric Format publisher: the bundled agent with FARGATE_MONITOR_PUBLISHER=emf writes one EMF JSON
 * line per sample and dimension set, makes no PutMetricData call, and the lines follow the EMF specification
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { motoUrl } from '../support/moto';
import { AgentProcess, BUNDLE, ensureBundle, FAKE_AWS_ENV } from './support/agent-process';
import { CwProxy } from './support/cw-proxy';
import { FakeTmde, sequenceHandler } from './support/fake-tmde';
import { fargateSequence, fargateTask, FARGATE_TASK, loadFixture, tsMs } from './support/payloads';

const EXPORTER = '04d558ed038d41bb9de115aab248e4f9-4159844948';
const MAIN = '04d558ed038d41bb9de115aab248e4f9-3935363592';
const MiB = 1048576;
// CloudWatch's StandardUnit values.
const UNITS = new Set(['Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second',
  'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second',
  'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None']);

/** Validates one EMF document against the specification's rules; returns the problems found. */
function emfProblems(doc: any): string[] {
  const p: string[] = [];
  const aws = doc._aws;
  if (!aws || typeof aws !== 'object') return ['no _aws object'];
  if (!Number.isInteger(aws.Timestamp) || aws.Timestamp <= 0) p.push('_aws.Timestamp is not a positive integer (epoch ms)');
  if (!Array.isArray(aws.CloudWatchMetrics) || aws.CloudWatchMetrics.length === 0) return [...p, 'no CloudWatchMetrics'];
  for (const dir of aws.CloudWatchMetrics) {
    if (typeof dir.Namespace !== 'string' || dir.Namespace.length < 1 || dir.Namespace.length > 1024) p.push('bad Namespace');
    if (!Array.isArray(dir.Dimensions)) p.push('Dimensions is not an array');
    for (const set of dir.Dimensions ?? []) {
      if (!Array.isArray(set) || set.length > 30) p.push('a dimension set is not an array of ≤ 30');
      for (const k of set ?? []) if (typeof doc[k] !== 'string') p.push(`dimension ${k} has no string member`);
    }
    if (!Array.isArray(dir.Metrics) || dir.Metrics.length > 100) p.push('Metrics is not an array of ≤ 100');
    for (const m of dir.Metrics ?? []) {
      if (typeof m.Name !== 'string' || m.Name.length < 1 || m.Name.length > 1024) p.push('bad metric Name');
      if (m.Unit !== undefined && !UNITS.has(m.Unit)) p.push(`bad Unit ${m.Unit}`);
      if (m.StorageResolution !== undefined && m.StorageResolution !== 1 && m.StorageResolution !== 60) p.push('bad StorageResolution');
      const v = doc[m.Name];
      const vals = Array.isArray(v) ? v : [v];
      if (vals.length === 0 || vals.length > 100 || !vals.every((x) => typeof x === 'number' && Number.isFinite(x))) p.push(`metric ${m.Name} has no finite number member`);
    }
  }
  return p;
}

beforeAll(() => ensureBundle());

test('EMF lines: _aws block, dimensions, units, StorageResolution 1, values, one line per sample and dimension set', async () => {
  const cluster = `emf-${Date.now()}`;
  const ns = `Emf/${cluster}`;
  const N = 4;
  const endMs = Date.now() - 5_000;
  const mainStarted = tsMs(loadFixture(FARGATE_TASK).Containers.find((c: any) => c.Name === 'main').StartedAt);
  const task = fargateTask(cluster, endMs - 600_000 - mainStarted); // main started 600 s before the last sample
  const dE = [1e8, 2e8, 3e8, 4e8];
  const dM = [5e8, 0, 25e7, 1e9];
  const uE = [50e6, 51e6, 52e6, 53e6];
  const uM = [80e6, 90e6, 100e6, 110e6];
  const seq = fargateSequence({ [EXPORTER]: { cpuDeltaNs: dE, usage: uE }, [MAIN]: { cpuDeltaNs: dM, usage: uM } }, N, endMs);
  const tmde = new FakeTmde(sequenceHandler(task, seq, 'ecs-exporter', 2));
  const proxy = new CwProxy(motoUrl());
  await proxy.start();
  // agent.js alone, without dist/cloudwatch-sdk.js beside it: the EMF publisher must never load the AWS SDK.
  const alone = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fm-emf-')), 'agent.js');
  fs.copyFileSync(BUNDLE, alone);
  const agent = new AgentProcess({
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL_CLOUDWATCH: proxy.url,
    ECS_CONTAINER_METADATA_URI_V4: await tmde.start(),
    FARGATE_MONITOR_PUBLISHER: 'emf',
    FARGATE_MONITOR_NAMESPACE: ns,
    FARGATE_MONITOR_POLL_INTERVAL_MS: '40',
    FARGATE_MONITOR_FLUSH_INTERVAL_MS: '100',
  }, [], process.execPath, alone);
  try {
    await agent.waitFor(() => (tmde.hits['/task/stats'] ?? 0) >= N * 2 + 3, 60_000, 'samples served');
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);
  } finally {
    agent.kill();
    await tmde.stop();
    await proxy.stop();
    fs.rmSync(path.dirname(alone), { recursive: true, force: true });
  }
  expect(proxy.requests).toEqual([]); // no API calls at all

  const docs = agent.lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l));
  for (const d of docs) expect(emfProblems(d)).toEqual([]);
  // 3 dimension sets (task, ecs-exporter, main) × N samples; nothing for the stopped `nonessential`.
  expect(docs).toHaveLength(3 * N);
  const fam = 'ecs-exporter-fixtures-fargate';
  for (const d of docs) {
    const dir = d._aws.CloudWatchMetrics[0];
    expect(d._aws.CloudWatchMetrics).toHaveLength(1);
    expect(dir.Namespace).toBe(ns);
    expect(d.ClusterName).toBe(cluster);
    expect(d.TaskDefinitionFamily).toBe(fam);
    expect(d.TaskId).toBeUndefined();
    for (const m of dir.Metrics) expect(m.StorageResolution).toBe(1);
    // Only our dimensions: the library's defaults (ServiceName, ServiceType, LogGroup) must not leak in.
    expect(dir.Dimensions).toEqual(d.ContainerName ? [['ClusterName', 'TaskDefinitionFamily', 'ContainerName']] : [['ClusterName', 'TaskDefinitionFamily']]);
  }
  const task0 = docs.filter((d) => !d.ContainerName);
  const byName = (a: any, b: any) => a.Name.localeCompare(b.Name);
  expect(task0.map((d) => [...d._aws.CloudWatchMetrics[0].Metrics].sort(byName))).toEqual(Array(N).fill([
    { Name: 'CPUUtilization', Unit: 'Percent', StorageResolution: 1 },
    { Name: 'MemoryUtilization', Unit: 'Percent', StorageResolution: 1 },
    { Name: 'MemoryUtilized', Unit: 'Megabytes', StorageResolution: 1 },
    { Name: 'RunDuration', Unit: 'Seconds', StorageResolution: 1 },
  ]));
  // Values, from the raw numbers: 0.25 vCPU, 10 s windows, total_inactive_file 946,176 / 270,336, 512 MiB task.
  task0.forEach((d, i) => {
    expect(d.CPUUtilization).toBeCloseTo((100 * ((dE[i] + dM[i]) / 1e10)) / 0.25, 9); // e.g. (1e8 + 5e8) / 1e10 / 0.25 = 24 %
    expect(d.MemoryUtilized).toBeCloseTo((uE[i] - 946_176 + uM[i] - 270_336) / MiB, 9);
    expect(d.MemoryUtilization).toBeCloseTo((100 * ((uE[i] - 946_176 + uM[i] - 270_336) / MiB)) / 512, 9);
    expect(d.RunDuration).toBeCloseTo(600 - (N - 1 - i) * 10, 3);
    expect(d._aws.Timestamp).toBe(Math.round(endMs - (N - 1 - i) * 10_000));
  });
  const exp = docs.filter((d) => d.ContainerName === 'ecs-exporter');
  exp.forEach((d, i) => {
    expect(d.CPUUtilization).toBeCloseTo((100 * (dE[i] / 1e10)) / 0.25, 9);
    expect(d.MemoryUtilization).toBeCloseTo((100 * ((uE[i] - 946_176) / MiB)) / 128, 9); // its own 128 MiB limit
    expect(d.RunDuration).toBeUndefined();
  });
  expect(agent.reportJson().samples).toBe(N);
});
