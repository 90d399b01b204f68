/**
 * Soak (accelerated): 50,000 samples through the real Agent (sampler, REPORT tracker, CloudWatch publisher with
 * its bounded buffer) with an in-memory TMDE and an in-memory PutMetricData client that is down for 20,000 of
 * them. Containers restart (new DockerIds) every 1,000 samples. Heap must level off, not grow with the samples.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { isoNs } from './support/payloads';
import { Agent, TmdeSource } from '../../agent/src/agent';
import { loadConfig } from '../../agent/src/config';
import { setLogWriter } from '../../agent/src/log';
import { CloudWatchPublisher } from '../../agent/src/publisher-cloudwatch';

v8.setFlagsFromString('--expose-gc');
const gc: () => void = vm.runInNewContext('gc');

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1048576;
}

test('50,000 samples: bounded buffer, bounded state, heap levels off, only a handful of log lines', async () => {
  const logs: any[] = [];
  setLogWriter((l) => logs.push(JSON.parse(l)));
  const printed: string[] = [];
  const cfg = loadConfig({ ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:1/v4/x', FARGATE_MONITOR_BUFFER_MAX_DATUMS: '5000' }, () => undefined);

  let n = 0;
  let generation = 0;
  const agentId = 'aaaa-1';
  const appId = () => `bbbb-${generation}`;
  let task: any;
  const makeTask = () => ({
    Cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/soak',
    Family: 'soak',
    TaskARN: 'arn:aws:ecs:us-east-1:123456789012:task/soak/1',
    Limits: { CPU: 0.5, Memory: 1024 },
    Containers: [
      { DockerId: agentId, Name: 'agent', StartedAt: isoNs(Date.now() - 3_600_000) },
      { DockerId: appId(), Name: 'app', StartedAt: isoNs(Date.now() - 3_600_000) },
      { DockerId: 'pause', Name: '~internal~ecs~pause', Type: 'CNI_PAUSE' },
    ],
  });
  task = makeTask();
  const t0 = Date.now() - 1_000_000;
  const entry = (total: number, pre: number, readMs: number, usage: number) => ({
    read: isoNs(readMs),
    preread: isoNs(readMs - 10),
    cpu_stats: { cpu_usage: { total_usage: total } },
    precpu_stats: { cpu_usage: { total_usage: pre } },
    memory_stats: { usage, stats: { inactive_file: 1000 } },
  });
  const tmde: TmdeSource = {
    container: async () => ({ Name: 'agent', DockerId: agentId }),
    task: async () => task,
    taskStats: async () => {
      n++;
      if (n % 1000 === 0) { generation++; task = makeTask(); } // app restarted: new DockerId, counters from 0
      const readMs = t0 + n * 10; // 10 ms apart: 50,000 samples stay within 500 s, so timestamps stay plausible
      const k = n % 1000;
      return {
        [agentId]: entry(1e9 + n * 1e5, 1e9 + (n - 1) * 1e5, readMs, 30e6 + (n % 7) * 1e5),
        [appId()]: k === 0 ? null : entry(k * 2e6, (k - 1) * 2e6, readMs, 200e6 + (n % 13) * 1e6),
      } as any;
    },
    close: () => undefined,
  };
  let down = false;
  let sent = 0;
  let calls = 0;
  const client = {
    send: async (cmd: any) => {
      calls++;
      if (down) throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling' });
      for (const d of cmd.input.MetricData) if (!Number.isFinite(d.Value)) throw new Error('non-finite value published');
      sent += cmd.input.MetricData.length;
      return {};
    },
    destroy: () => undefined,
  };
  const pub = new CloudWatchPublisher({ namespace: 'Soak', maxBufferedDatums: cfg.bufferMaxDatums, client: client as any });
  const agent = new Agent(cfg, { print: (l) => printed.push(l), makePublisher: () => pub, tmde });

  const heap: Record<number, number> = {};
  let maxPending = 0;
  for (let i = 1; i <= 50_000; i++) {
    await agent.poll();
    if (i % 100 === 0) {
      down = i > 10_000 && i <= 30_000;
      await agent.flush();
      maxPending = Math.max(maxPending, pub.pending());
    }
    if (i === 5_000 || i === 25_000 || i === 50_000) heap[i] = heapMiB();
  }
  await agent.flush();
  await agent.shutdown();
  setLogWriter((line) => { process.stdout.write(line + '\n'); });

  // Heap after 50,000 samples is within a few MiB of the heap after 5,000 (the buffer is full in between).
  expect(heap[50_000] - heap[5_000]).toBeLessThan(6);
  expect(heap[25_000] - heap[5_000]).toBeLessThan(8);
  expect(maxPending).toBeLessThanOrEqual(5000);
  expect(pub.pending()).toBe(0);
  // Every sample was counted; what was not sent was dropped and counted.
  const report = JSON.parse(printed[1]);
  expect(report.samples).toBe(n); // 50,000 + the last sample taken at shutdown
  expect(sent + pub.droppedTotal).toBeGreaterThan(0);
  expect(pub.droppedTotal).toBeGreaterThan(0);
  const droppedLogged = logs.filter((l) => l.message.startsWith('buffer full')).reduce((a, l) => a + l.dropped, 0);
  expect(droppedLogged).toBe(pub.droppedTotal);
  // One call per flush while healthy (≤ 1,000 datums per flush here), retries are inside the SDK (not this fake).
  expect(calls).toBeLessThanOrEqual(50_000 / 100 + 30);
  // 50 restarts: one reset line? No: a new DockerId is a new container, not a reset — and never a line per sample.
  expect(logs.length).toBeLessThan(100);
  expect(logs.filter((l) => l.level === 'error')).toEqual([]);
}, 120_000);
