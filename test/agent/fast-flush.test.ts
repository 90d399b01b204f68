/**
 * Adaptive flush, end to end: the BUNDLED agent at its default cadence (poll 1 s, flush 10 s) with
 * FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT set, the /proc source on this machine's real /proc (a workload process that
 * sleeps, then runs a busy loop on a signal, then sleeps again), a Fargate-like TMDE, and moto behind a counting proxy.
 *
 * Load-proof by design: the workload sleeps without timers (0 CPU) or spins (whatever share a busy machine gives
 * it: far above the 2 % threshold unless ~50 processes compete for each core), every phase lasts until the agent's
 * own published samples show it (waits bounded only to catch a hang), and the assertions are about the agent's own
 * samples and calls: counts the 10 s timer cannot exceed (timers fire late, never early), and, for the fast flush,
 * bounds 5× the design's 1 s that only a broken fast flush (10 s) or a hang would miss. The tight figures (step to
 * first call, calls per minute) are printed and belong to the benchmark (bench/scaling-latency.ts).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { motoUrl } from '../support/moto';
import { AgentProcess, ensureBundle, FAKE_AWS_ENV } from './support/agent-process';
import { CwProxy } from './support/cw-proxy';
import { fargateLikeHandler, FakeTmde } from './support/fake-tmde';
import { syntheticTask } from './support/payloads';

const APP_ID = 'fa57f1a5fa57f1a5fa57f1a5fa57f1a5-1111111111';
const AGENT_ID = 'fa57f1a5fa57f1a5fa57f1a5fa57f1a5-2222222222';
const THRESHOLD = 2;

// Sleeps (one timer, due in 11 days: 0 CPU) until SIGUSR1, then spins in 50 ms slices until SIGUSR2.
const WORKLOAD = `
let busy = false;
const spin = () => { if (!busy) return; const e = Date.now() + 50; while (Date.now() < e) {} setImmediate(spin); };
process.on('SIGUSR1', () => { if (!busy) { busy = true; spin(); } }); process.on('SIGUSR2', () => { busy = false; });
setInterval(() => {}, 1e9); // keeps it alive without waking it
process.stdout.write('ready\\n');
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => ensureBundle());

test('below the threshold: at most one PutMetricData per 10 s; at or above it: each sample goes out at once', async () => {
  const cleanup: Array<() => unknown> = [];
  try {
    const child = spawn(process.execPath, ['-e', WORKLOAD], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => child.kill('SIGKILL'));
    await new Promise((r) => child.stdout!.once('data', r));
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-fast-'));
    cleanup.push(() => fs.rmSync(root, { recursive: true, force: true }));
    const d = path.join(root, String(child.pid));
    fs.mkdirSync(d);
    for (const f of ['stat', 'status', 'task']) fs.symlinkSync(`/proc/${child.pid}/${f}`, path.join(d, f));
    fs.writeFileSync(path.join(d, 'cgroup'), `0::/ecs/fa57f1a5fa57f1a5fa57f1a5fa57f1a5/${APP_ID}\n`);
    const syn = syntheticTask({
      cpu: 1,
      containers: [
        { name: 'agent', dockerId: AGENT_ID, cpuNsPerSample: 1e7, usage: 5 * 1048576 },
        { name: 'app', dockerId: APP_ID, cpuNsPerSample: 1e8, usage: 10 * 1048576 },
      ],
    });
    const tmde = new FakeTmde(fargateLikeHandler(syn, { Name: 'agent', DockerId: AGENT_ID }, { everyMs: 10_000 }));
    const uri = await tmde.start();
    cleanup.push(() => tmde.stop());
    const proxy = new CwProxy(motoUrl());
    await proxy.start();
    cleanup.push(() => proxy.stop());
    const agent = new AgentProcess({
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL_CLOUDWATCH: proxy.url,
      ECS_CONTAINER_METADATA_URI_V4: uri,
      FARGATE_MONITOR_NAMESPACE: 'FastFlush',
      FARGATE_MONITOR_PROCFS: 'true',
      FARGATE_MONITOR_PROC_ROOT: root,
      FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: String(THRESHOLD),
    });
    cleanup.push(() => agent.kill());
    await agent.waitFor(() => agent.logs().some((l) => l.message.startsWith('/proc source active')), 60_000, '/proc source active');
    expect(agent.logs()[0]).toMatchObject({ fastFlushCpuPercent: THRESHOLD, fastFlushIntervalMs: 1000 });

    const puts = () => proxy.puts();
    const ms = (t: number) => (t < 1e11 ? t * 1000 : t); // Timestamp: epoch seconds (JSON protocol) or ms
    // Task-level CPU datums of a call, with their sample time.
    const taskCpu = (body: string) => (JSON.parse(body).MetricData as any[])
      .filter((m) => m.MetricName === 'CPUUtilization' && !(m.Dimensions ?? []).some((x: any) => x.Name === 'ContainerName'))
      .map((m) => ({ value: m.Value as number, ts: ms(Number(m.Timestamp)) }));
    const samples = () => puts().flatMap((p) => taskCpu(p.body).map((s) => ({ ...s, at: p.at })));
    const within = (a: number, b: number) => puts().filter((p) => p.at >= a && p.at < b);

    // Idle, 30 s: the workload sleeps, every sample is below the threshold.
    const idle0 = Date.now();
    await sleep(30_000);
    const idle1 = Date.now();
    await agent.waitFor(() => puts().length > 0, 60_000, 'a first PutMetricData');
    // Loaded: until the agent has sent 8 samples at or above the threshold (however long a busy machine takes).
    child.kill('SIGUSR1');
    const stepAt = Date.now();
    const high = () => samples().filter((s) => s.ts >= stepAt && s.value >= THRESHOLD);
    await agent.waitFor(() => high().length >= 8, 120_000, '8 samples at or above the threshold sent');
    child.kill('SIGUSR2');
    const loaded1 = Date.now();
    // Idle again: from the first sample below the threshold taken after the workload stopped, 20 s.
    await agent.waitFor(() => samples().some((s) => s.ts > loaded1 + 1_000 && s.value < THRESHOLD), 120_000, 'a sample below the threshold');
    const after0 = Date.now();
    await sleep(20_000);
    const after1 = Date.now();
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);

    const idleSamples = samples().filter((s) => s.ts >= idle0 && s.ts < idle1);
    const highs = high().filter((s) => s.ts < loaded1);
    const figures = {
      idleCalls: within(idle0, idle1).length,
      idleMaxTaskCpu: Math.max(...idleSamples.map((s) => s.value)),
      highSamples: highs.length,
      sampleToCallMs: highs.map((s) => s.at - s.ts),
      loadedCalls: within(stepAt, loaded1).length,
      afterCalls: within(after0, after1).length,
      stepToFirstCallAtOrAboveMs: highs.length ? highs[0].at - stepAt : undefined,
    };
    process.stderr.write(`fast-flush: ${JSON.stringify(figures)}\n`);
    // Idle: the workload's samples are below the threshold (it sleeps), so the 10 s flush: at most 4 calls in 30 s.
    expect(idleSamples.length).toBeGreaterThan(0);
    expect(figures.idleMaxTaskCpu).toBeLessThan(THRESHOLD);
    expect(figures.idleCalls).toBeLessThanOrEqual(4);
    // At or above the threshold: each sample is sent as it is taken (design: at once, or within the 1 s fast interval
    // when a flush just went out). 5 s is 5× that and half the 10 s a broken fast flush would take; a median, so one
    // call slowed by a busy moto does not decide.
    const sorted = [...figures.sampleToCallMs].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)]).toBeLessThanOrEqual(5_000);
    // More calls than samples would mean flushes with nothing new; fewer than 1 per 2 samples, a fast flush not kept.
    const loadedSamples = samples().filter((s) => s.ts >= stepAt && s.ts < loaded1).length;
    expect(figures.loadedCalls).toBeLessThanOrEqual(loadedSamples + 1);
    expect(figures.loadedCalls * 2).toBeGreaterThanOrEqual(highs.length);
    // Back below the threshold: the 10 s cadence again, at most 3 calls in 20 s.
    expect(figures.afterCalls).toBeLessThanOrEqual(3);
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}, 420_000);
