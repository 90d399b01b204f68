/**
 * How often the agent reads /task/stats with the metadata endpoint as its source (no /proc): the real Agent on jest's
 * fake clock (timers, Date and performance.now), against an in-memory endpoint that refreshes its stats on its own
 * schedule, like Fargate (every ~10 s, whether or not anyone reads it) or EC2 (every second). Deterministic: no real
 * time passes, so no load can change the figures.
 */
import { isoNs } from './support/payloads';
import { Agent, TmdeSource } from '../../agent/src/agent';
import { loadConfig } from '../../agent/src/config';
import { setLogWriter } from '../../agent/src/log';
import type { Publisher } from '../../agent/src/publisher';

afterEach(() => {
  jest.useRealTimers();
  setLogWriter((line) => { process.stdout.write(line + '\n'); });
});

/** Runs an agent for `seconds` (fake time) against an endpoint whose k-th sample appears at refreshes[k] (ms). */
async function run(refreshes: number[], seconds: number): Promise<{ reads: number[]; firstSeen: Map<number, number>; datums: number }> {
  jest.useFakeTimers({ now: 1_700_000_000_000 });
  setLogWriter(() => undefined);
  const t0 = Date.now();
  const reads: number[] = [];
  const firstSeen = new Map<number, number>();
  const task = {
    Cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/poll',
    Family: 'poll',
    TaskARN: 'arn:aws:ecs:us-east-1:123456789012:task/poll/1',
    Limits: { CPU: 1, Memory: 1024 },
    Containers: [{ DockerId: 'agent-1', Name: 'agent' }, { DockerId: 'app-1', Name: 'app', StartedAt: isoNs(t0 - 60_000) }],
  };
  let cache: { k: number; value: any } | undefined;
  const tmde: TmdeSource = {
    container: async () => ({ Name: 'agent', DockerId: 'agent-1' }),
    task: async () => task as any,
    taskStats: async () => {
      const now = Date.now() - t0;
      reads.push(now);
      let k = -1;
      while (k + 1 < refreshes.length && refreshes[k + 1] <= now) k++;
      if (!firstSeen.has(k)) firstSeen.set(k, now);
      // Byte-identical bodies come back as the same object, as from TmdeClient.
      if (cache?.k !== k) {
        const readMs = t0 + (k < 0 ? -10_000 : refreshes[k]);
        const entry = (total: number) => ({
          read: isoNs(readMs),
          preread: isoNs(readMs - 10_000),
          cpu_stats: { cpu_usage: { total_usage: total + 1e9 } },
          precpu_stats: { cpu_usage: { total_usage: total } },
          memory_stats: { usage: 100e6, stats: { inactive_file: 0 } },
        });
        cache = { k, value: { 'agent-1': entry(1e9 * (k + 2)), 'app-1': entry(5e9 * (k + 2)) } };
      }
      return cache.value;
    },
    close: () => undefined,
  };
  let datums = 0;
  const pub: Publisher = {
    add: (d: unknown[]) => { datums += d.length; }, flush: async () => undefined, pending: () => 0, close: () => undefined,
  } as any;
  const cfg = loadConfig({ ECS_CONTAINER_METADATA_URI_V4: 'http://127.0.0.1:1/v4/x' }, () => undefined);
  const agent = new Agent(cfg, { print: () => undefined, makePublisher: () => pub, tmde });
  agent.start();
  for (let ms = 0; ms < seconds * 1000; ms += 50) await jest.advanceTimersByTimeAsync(50);
  await agent.shutdownSteps(1000);
  return { reads: reads.filter((r) => r < seconds * 1000), firstSeen, datums };
}

test('Fargate-like 10 s refresh: every sample read within one poll interval of its refresh, ~3 reads per sample instead of 10', async () => {
  // A sample every 10 s, starting 3.4 s in (not on the poll grid), with a little jitter in the refresh period.
  const refreshes = Array.from({ length: 30 }, (_, k) => 3_400 + k * 10_000 + (k % 3) * 40);
  const r = await run(refreshes, 200);
  const inWindow = refreshes.filter((t) => t < 199_000);
  for (let k = 0; k < inWindow.length; k++) {
    expect(r.firstSeen.has(k)).toBe(true);
    const latency = r.firstSeen.get(k)! - refreshes[k];
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency).toBeLessThanOrEqual(1_000); // the poll interval: no later than polling every second
  }
  // Reads from the third sample on (once two periods were seen): at most 4 per 10 s sample (polling every second: 10).
  const steady = r.reads.filter((t) => t >= refreshes[3] && t < refreshes[19]);
  expect(steady.length).toBeLessThanOrEqual(4 * 16);
  expect(steady.length).toBeGreaterThanOrEqual(16);
  expect(r.datums).toBeGreaterThan(0);
});

test('a late sample (one refresh 6 s late) is still read within a poll interval; then the cadence comes back', async () => {
  const refreshes = Array.from({ length: 20 }, (_, k) => 3_400 + k * 10_000 + (k >= 8 ? 6_000 : 0));
  const r = await run(refreshes, 150);
  for (let k = 0; k < refreshes.filter((t) => t < 149_000).length; k++) {
    expect(r.firstSeen.get(k)! - refreshes[k]).toBeLessThanOrEqual(1_000);
  }
  const steady = r.reads.filter((t) => t >= refreshes[11] && t < refreshes[14]);
  expect(steady.length).toBeLessThanOrEqual(4 * 3);
});

test('EC2-like 1 s refresh: read every poll (nothing to skip), each sample seen', async () => {
  const refreshes = Array.from({ length: 70 }, (_, k) => 300 + k * 1_000);
  const r = await run(refreshes, 60);
  for (let k = 0; k < 55; k++) expect(r.firstSeen.get(k)! - refreshes[k]).toBeLessThanOrEqual(1_000);
  expect(r.reads.filter((t) => t >= 5_000 && t < 55_000).length).toBeGreaterThanOrEqual(48);
});
