/**
 * Adaptive flush, end to end: the BUNDLED agent at its default cadence (poll 1 s, flush 10 s) with
 * FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT=50, the /proc source on this machine's real /proc (a workload process that
 * idles, then burns ~80 % of a core on a signal, then idles again), a Fargate-like TMDE, and moto behind a counting
 * proxy. Measures PutMetricData calls per minute at idle and while loaded, and the time from the CPU step to the first
 * PutMetricData that carries a task CPUUtilization at or above the threshold. About 65 s of real time.
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
const THRESHOLD = 50;

// Idle until SIGUSR1, then busy 80 ms of every 100 ms until SIGUSR2.
const WORKLOAD = `
let busy = false;
process.on('SIGUSR1', () => { busy = true; }); process.on('SIGUSR2', () => { busy = false; });
const t = () => { if (busy) { const e = Date.now() + 80; while (Date.now() < e) {} } setTimeout(t, busy ? 20 : 100); }; t();
process.stdout.write('ready\\n');
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => ensureBundle());

test('idle: one PutMetricData per 10 s flush (6 a minute); at or above the threshold: one a second, the first right away', async () => {
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
    await agent.waitFor(() => agent.logs().some((l) => l.message.startsWith('/proc source active')), 10_000, '/proc source active');
    expect(agent.logs()[0]).toMatchObject({ fastFlushCpuPercent: THRESHOLD, fastFlushIntervalMs: 1000 });

    // Idle, 30 s.
    const idle0 = Date.now();
    await sleep(30_000);
    const idle1 = Date.now();
    // Loaded, 10 s.
    child.kill('SIGUSR1');
    const stepAt = Date.now();
    await sleep(10_000);
    child.kill('SIGUSR2');
    const loaded1 = Date.now();
    // Idle again, 20 s.
    await sleep(20_000);
    const end = Date.now();
    const exit = await agent.terminate();
    expect(exit.code).toBe(0);

    const puts = proxy.puts();
    const taskCpu = (body: string) => (JSON.parse(body).MetricData as any[])
      .filter((m) => m.MetricName === 'CPUUtilization' && !(m.Dimensions ?? []).some((x: any) => x.Name === 'ContainerName'))
      .map((m) => m.Value as number);
    const within = (a: number, b: number) => puts.filter((p) => p.at >= a && p.at < b);
    const perMinute = (a: number, b: number) => (within(a, b).length * 60_000) / (b - a);
    const first = puts.find((p) => p.at >= stepAt && taskCpu(p.body).some((v) => v >= THRESHOLD));
    expect(first).toBeDefined();
    const loaded = within(stepAt, loaded1);
    const gaps = loaded.slice(1).map((p, i) => p.at - loaded[i].at).sort((a, b) => a - b);
    const figures = {
      idleCallsPerMinute: perMinute(idle0, idle1),
      loadedCallsPerMinute: perMinute(stepAt, loaded1),
      afterCallsPerMinute: perMinute(loaded1 + 2_000, end),
      stepToFirstPutAtOrAboveMs: first!.at - stepAt,
      loadedGapMedianMs: gaps[Math.floor(gaps.length / 2)],
      loadedTaskCpu: loaded.flatMap((p) => taskCpu(p.body)).map((v) => Math.round(v)),
    };
    process.stderr.write(`fast-flush: ${JSON.stringify(figures)}\n`);
    // Idle: the 10 s flush, 6 calls a minute (≤ 7 is the budget).
    expect(figures.idleCallsPerMinute).toBeLessThanOrEqual(7);
    expect(figures.idleCallsPerMinute).toBeGreaterThanOrEqual(4);
    // Loaded: one call a second (each carrying that second's datum), the first within ~2 s of the step (the /proc
    // sample that sees it comes within 1 s; the flush follows at once).
    expect(figures.stepToFirstPutAtOrAboveMs).toBeLessThanOrEqual(2_500);
    expect(figures.loadedCallsPerMinute).toBeGreaterThanOrEqual(40);
    expect(figures.loadedGapMedianMs).toBeLessThanOrEqual(1_300);
    // Back below the threshold: the 10 s cadence again.
    expect(figures.afterCallsPerMinute).toBeLessThanOrEqual(7);
  } finally {
    for (const f of cleanup.reverse()) await f();
  }
}, 120_000);
