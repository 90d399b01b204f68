/**
 * Benchmark (not a unit test): what the agent costs in CPU, against baselines measured IN THE SAME RUN, so that a
 * slower or busier host can neither hide nor fake a change. Side by side, at the same time, on one host:
 * - `current`: this tree's bundled agent (agent/dist/agent.js), at its defaults (poll 1 s, flush 10 s, PutMetricData);
 * - `baseline`: another build of the agent: BENCH_BASELINE_REV=<git revision> checks that revision out in a temporary
 *   worktree and bundles it with its own `npx projen bundle:agent` (this tree's node_modules); or
 *   BENCH_BASELINE_SCRIPT names a bundle already built;
 * - `floor`: the least any node agent does, on the same binary and flags: one HTTP GET to the TMDE and one small
 *   /proc read per second, nothing else.
 * All read one local TMDE stand-in that refreshes its stats every 10 s like Fargate (the TMDE source: no /proc), and
 * put to moto behind a counting proxy (plain HTTP with static keys: TLS and the credentials endpoint are left out, the
 * same for every agent). After a warm-up, the run is cut into BENCH_TRIALS windows of BENCH_TRIAL_S seconds; in each,
 * every process's CPU is the sum of its threads' schedstat nanoseconds (utime+stime ticks when a thread came or went),
 * as % of one core. Printed: p10/p50/p90 over the windows of each process, and of the paired ratio current/baseline
 * and current − floor per window (paired: both measured over the same seconds).
 *
 *   npx ts-node --transpile-only bench/agent-cpu.ts
 *   BENCH_BASELINE_REV=b8768f1^1 npx ts-node --transpile-only bench/agent-cpu.ts   # against the agent before b8768f1
 *   BENCH_BASELINE_SCRIPT=/tmp/oldagent/agent/dist/agent.js BENCH_TRIALS=6 BENCH_TRIAL_S=40 npx ts-node --transpile-only bench/agent-cpu.ts
 *   BENCH_AGENT_ENV='{"FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT":"70"}' ...   # extra environment for both agents
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentProcess, BUNDLE, dockerfileNodeArgs, ensureBundle, FAKE_AWS_ENV, REPO } from '../test/agent/support/agent-process';
import { CwProxy } from '../test/agent/support/cw-proxy';
import { fargateLikeHandler, FakeTmde } from '../test/agent/support/fake-tmde';
import { syntheticTask } from '../test/agent/support/payloads';
import { startMoto } from '../test/support/moto';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 6);
const TRIAL_S = Number(process.env.BENCH_TRIAL_S ?? 40);
// 30 s: module load, the first flush (the SDK loads), and the three samples after which the agent reads the endpoint
// only near each refresh.
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 30);
const BASELINE_REV = process.env.BENCH_BASELINE_REV;
let BASELINE = process.env.BENCH_BASELINE_SCRIPT;
const EXTRA_ENV: Record<string, string> = process.env.BENCH_AGENT_ENV ? JSON.parse(process.env.BENCH_AGENT_ENV) : {};
const TASK_ID = 'c9c4c9c4c9c4c9c4c9c4c9c4c9c4c9c4';
const IDS = { agent: `${TASK_ID}-1000000001`, app: `${TASK_ID}-1000000002` };
const FLOOR = "const http = require('http'), fs = require('fs'); setInterval(() => { http.get(process.env.FLOOR_URL, (r) => r.resume()); " +
  "fs.readFile('/proc/self/stat', () => {}); }, 1000);";

interface CpuReading { ticks: number; threads: Map<string, number> }

/** utime+stime (ticks, all threads dead or alive) and each live thread's schedstat ns. */
function readCpu(pid: number): CpuReading | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const threads = new Map<string, number>();
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try { threads.set(tid, Number(fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])); } catch { /* exited */ }
    }
    return { ticks: Number(f[11]) + Number(f[12]), threads };
  } catch {
    return undefined;
  }
}

/** CPU seconds between two readings: nanoseconds when the same threads lived throughout, else ticks. */
function cpuSeconds(a: CpuReading, b: CpuReading): { s: number; ns: boolean } {
  const same = a.threads.size === b.threads.size && [...a.threads.keys()].every((t) => b.threads.has(t));
  if (same) {
    let ns = 0;
    for (const [t, v] of b.threads) ns += v - a.threads.get(t)!;
    return { s: ns / 1e9, ns: true };
  }
  return { s: (b.ticks - a.ticks) / 100, ns: false };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))];
}
const f3 = (x: number) => x.toFixed(3);
const spread = (xs: number[]) => `${f3(percentile(xs, 10))} / ${f3(percentile(xs, 50))} / ${f3(percentile(xs, 90))}`;

async function main(): Promise<void> {
  ensureBundle();
  const cleanups: Array<() => unknown> = [];
  try {
    if (BASELINE_REV) {
      // The baseline agent from git: its own sources and bundle task, this tree's node_modules.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-baseline-'));
      execFileSync('git', ['worktree', 'add', '--detach', dir, BASELINE_REV], { cwd: REPO, stdio: 'ignore' });
      cleanups.push(() => execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: REPO, stdio: 'ignore' }));
      fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
      execFileSync('npx', ['projen', 'bundle:agent'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
      BASELINE = path.join(dir, 'agent', 'dist', 'agent.js');
      process.stderr.write(`agent-cpu: baseline ${BASELINE_REV} = ${execFileSync('git', ['rev-parse', '--short', BASELINE_REV], { cwd: REPO, encoding: 'utf8' }).trim()}\n`);
    }
    const moto = await startMoto();
    cleanups.push(() => moto.process.kill('SIGKILL'));
    const proxy = new CwProxy(moto.url);
    await proxy.start();
    cleanups.push(() => proxy.stop());
    const app = spawn(process.execPath, ['-e', 'const b = Buffer.alloc(32 * 1048576, 1); setInterval(() => b[0]++, 1000);'], { stdio: 'ignore' });
    cleanups.push(() => app.kill('SIGKILL'));
    const MiB = 1048576;
    const syn = syntheticTask({
      cluster: 'bench',
      family: 'bench',
      cpu: 0.25,
      memory: 512,
      containers: [
        { name: 'fargate-monitor', dockerId: IDS.agent, cpuNsPerSample: 2e7, usage: 40 * MiB },
        { name: 'app', dockerId: IDS.app, cpuNsPerSample: 2.5e8, usage: 70 * MiB },
      ],
    });
    const tmde = new FakeTmde(fargateLikeHandler(syn, { Name: 'fargate-monitor', DockerId: IDS.agent }, { everyMs: 10_000 }));
    const uri = await tmde.start();
    cleanups.push(() => tmde.stop());

    const nodeArgs = dockerfileNodeArgs();
    const env = {
      ...FAKE_AWS_ENV,
      AWS_ENDPOINT_URL_CLOUDWATCH: proxy.url,
      ECS_CONTAINER_METADATA_URI_V4: uri,
      FARGATE_MONITOR_NAMESPACE: 'BenchCpu',
      ...EXTRA_ENV,
    };
    const procs: Array<{ name: string; pid: number }> = [];
    const current = new AgentProcess(env, nodeArgs, process.execPath, BUNDLE);
    cleanups.push(() => current.kill());
    procs.push({ name: 'current', pid: current.child.pid! });
    if (BASELINE) {
      const base = new AgentProcess(env, nodeArgs, process.execPath, BASELINE);
      cleanups.push(() => base.kill());
      procs.push({ name: 'baseline', pid: base.child.pid! });
    }
    const floor = spawn(process.execPath, [...nodeArgs, '-e', FLOOR], { env: { ...process.env, FLOOR_URL: `${uri}/task/stats` }, stdio: 'ignore' });
    cleanups.push(() => floor.kill('SIGKILL'));
    procs.push({ name: 'floor', pid: floor.pid! });

    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const load0 = os.loadavg()[0];
    const pct: Record<string, number[]> = Object.fromEntries(procs.map((p) => [p.name, []]));
    let tickWindows = 0;
    for (let t = 0; t < TRIALS; t++) {
      const w0 = performance.now();
      const a = procs.map((p) => readCpu(p.pid));
      await new Promise((r) => setTimeout(r, TRIAL_S * 1000));
      const b = procs.map((p) => readCpu(p.pid));
      const wall = (performance.now() - w0) / 1000;
      procs.forEach((p, i) => {
        if (!a[i] || !b[i]) throw new Error(`${p.name} exited`);
        const c = cpuSeconds(a[i]!, b[i]!);
        if (!c.ns) tickWindows++;
        pct[p.name].push((100 * c.s) / wall);
      });
      process.stderr.write(`agent-cpu: window ${t + 1}/${TRIALS}: ${procs.map((p) => `${p.name} ${f3(pct[p.name][t])} %`).join(', ')} (load ${os.loadavg()[0].toFixed(2)})\n`);
    }
    const out = [
      `agent CPU, % of one core, p10 / p50 / p90 over ${TRIALS} windows of ${TRIAL_S} s (all processes side by side, same seconds; ` +
        `TMDE source, 10 s flush, node ${process.version}, ${os.cpus().length} CPUs ${os.cpus()[0]?.model ?? ''}, load average ${load0.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}` +
        `${tickWindows ? `; ${tickWindows} readings in clock ticks` : ''}${BASELINE_REV ? `; baseline ${BASELINE_REV}` : ''})`,
      ...procs.map((p) => `  ${p.name.padEnd(9)} ${spread(pct[p.name])}`),
    ];
    if (BASELINE) out.push(`  current / baseline (paired per window): ${spread(pct.current.map((c, i) => c / pct.baseline[i]))}`);
    out.push(`  current − floor (paired per window, points): ${spread(pct.current.map((c, i) => c - pct.floor[i]))}`);
    if (BASELINE) out.push(`  baseline − floor (paired per window, points): ${spread(pct.baseline.map((c, i) => c - pct.floor[i]))}`);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    for (const f of cleanups.reverse()) await f();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
