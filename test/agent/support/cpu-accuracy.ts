/**
 * Measures the /proc source's 1-second CPU against the kernel's own cgroup counter on a real workload: a node
 * process in a CPU cgroup of its own (support/cpu-cgroup.ts) whose main thread busy-loops at loads that change every
 * few seconds, with worker threads that start, burn 50–400 ms and exit, a steady busy child process, and a shell
 * loop that spawns short-lived processes (`sha1sum`, `sleep`) all the time. The cgroup is named like a DockerId so the
 * source maps its processes by `/proc/<pid>/cgroup`, as on ECS; the source reads this machine's real /proc.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as os from 'node:os';
import { createCpuCgroup } from './cpu-cgroup';
import { ProcfsSource, ProcfsSourceOptions } from '../../../agent/src/procfs';

// Main thread: duty cycles changing every 4 s; a worker every ~300 ms burning 50-400 ms then exiting; a steady child
// at ~20 %; a shell loop forking short-lived processes (~60 a second).
export const CPU_WORKLOAD = `
const { Worker } = require('worker_threads');
const { spawn } = require('child_process');
const duties = [0.1, 0.45, 0.05, 0.3, 0.6, 0.2];
const t0 = Date.now();
const burn = () => { const d = duties[Math.floor((Date.now() - t0) / 4000) % duties.length];
  const end = Date.now() + 100 * d; while (Date.now() < end) {} setTimeout(burn, 100 * (1 - d)); };
burn();
const work = 'const ms = 50 + Math.random() * 350; const end = Date.now() + ms; while (Date.now() < end) {}';
setInterval(() => { new Worker(work, { eval: true }); }, 300);
const steady = 'const t = () => { const e = Date.now() + 20; while (Date.now() < e) {} setTimeout(t, 80); }; t();';
const kids = [spawn(process.execPath, ['-e', steady], { stdio: 'ignore' }),
  spawn('/bin/sh', ['-c', 'while :; do sha1sum /bin/sh /bin/ls > /dev/null; sleep 0.03; done'], { stdio: 'ignore' })];
process.on('SIGTERM', () => { kids.forEach((k) => k.kill('SIGKILL')); process.exit(0); });
process.stdout.write('ready\\n');
`;

// Steady, multi-threaded: the main thread's duty cycle changes every 4 s (10–60 % of a core), two worker threads run
// all along at 15 % and 35 %, and a child process at 20 %. Nothing starts or exits while it is measured.
export const STEADY_CPU_WORKLOAD = `
const { Worker } = require('worker_threads');
const { spawn } = require('child_process');
const loop = (duty) => \`const t = () => { const e = Date.now() + \${100 * duty}; while (Date.now() < e) {} setTimeout(t, \${100 * (1 - duty)}); }; t();\`;
const duties = [0.1, 0.45, 0.05, 0.3, 0.6, 0.2];
const t0 = Date.now();
const burn = () => { const d = duties[Math.floor((Date.now() - t0) / 4000) % duties.length];
  const end = Date.now() + 100 * d; while (Date.now() < end) {} setTimeout(burn, 100 * (1 - d)); };
burn();
new Worker(loop(0.15), { eval: true }); new Worker(loop(0.35), { eval: true });
const kid = spawn(process.execPath, ['-e', loop(0.2)], { stdio: 'ignore' });
process.on('SIGTERM', () => { kid.kill('SIGKILL'); process.exit(0); });
setTimeout(() => process.stdout.write('ready\\n'), 500);
`;

export interface AccuracySeries {
  /** Error of each 1 s sample in percentage points of one vCPU: 100 × (source cores − cgroup cores). */
  errors: number[];
  /** The cgroup's own figure for each sample, percent of one vCPU. */
  truth: number[];
  /** Milliseconds the source's sample() took (the agent pays this every poll). */
  sampleMs: number[];
  /**
   * How well the truth is known for each sample, in points: the cgroup counter is read just before and just after
   * sample() (the truth is their mean, so it is known to half their difference at each end), and the source reads its
   * clock somewhere between the same two instants (so the interval is known to half of sample()'s duration at each
   * end). On a busy machine a preempted sample() widens both; measured in the same run, sample by sample.
   */
  uncertainty: number[];
}

export interface AccuracyRun {
  series: Record<string, AccuracySeries>;
  seconds: number;
}

/** p-th percentile (0–100) by nearest rank. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Runs the workload for `seconds` and samples it once a second with each source in `sources` (one after the other,
 * each bracketed by two reads of the cgroup counter; the truth for a sample is their mean). Returns a string saying
 * why when no cgroup can be made here.
 */
export async function measureCpuAccuracy(seconds: number, sources: Record<string, ProcfsSourceOptions & { make?: () => { sample: ProcfsSource['sample'] } }>,
  workload: string = CPU_WORKLOAD): Promise<AccuracyRun | string> {
  const dockerId = `${'c9acc0de'.repeat(4)}-${process.pid}${Date.now() % 100000}`;
  const cg = createCpuCgroup(dockerId);
  if (typeof cg === 'string') return cg;
  let child: ChildProcess | undefined;
  let restorePriority = () => undefined as void;
  try {
    child = spawn('/bin/sh', [...cg.shellPrefix(), process.execPath, '-e', workload], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.once('data', () => resolve());
      child!.once('exit', (code) => reject(new Error(`workload exited with ${code}`)));
    });
    // The measurement itself must not be preempted between its two reads of the counter (the workload shares the
    // machine's cores): a higher priority for this process while it samples, when allowed (root).
    const priority = os.getPriority(0);
    try { os.setPriority(0, -15); } catch { /* not allowed: the brackets get wider, the figures noisier */ }
    restorePriority = () => { try { os.setPriority(0, priority); } catch { /* ignore */ } };
    const names = Object.keys(sources);
    const srcs = names.map((n) => sources[n].make?.() ?? new ProcfsSource('/proc', sources[n]));
    const series: Record<string, AccuracySeries> = Object.fromEntries(names.map((n) =>
      [n, { errors: [], truth: [], sampleMs: [], uncertainty: [] }]));
    const prev: Array<{ truthNs: number; wallMs: number; halfNs: number; halfMs: number } | undefined> = names.map(() => undefined);
    const tick = async () => {
      for (let i = 0; i < srcs.length; i++) {
        const a = cg.usageNs();
        const t0 = performance.now();
        const r = srcs[i].sample([dockerId], undefined);
        const t1 = performance.now();
        const b = cg.usageNs();
        const truthNs = (a + b) / 2;
        const wallMs = (t0 + t1) / 2;
        const p = prev[i];
        const halfNs = (b - a) / 2;
        const halfMs = (t1 - t0) / 2;
        prev[i] = { truthNs, wallMs, halfNs, halfMs };
        if (!p) continue;
        series[names[i]].sampleMs.push(t1 - t0);
        if (r.status !== 'ok') continue;
        const c = r.containers.find((x) => x.dockerId === dockerId);
        if (c?.cores === undefined) continue;
        const truthPct = (100 * (truthNs - p.truthNs)) / 1e6 / (wallMs - p.wallMs);
        series[names[i]].truth.push(truthPct);
        series[names[i]].errors.push(100 * c.cores - truthPct);
        const intervalMs = wallMs - p.wallMs;
        const counterPts = (100 * (halfNs + p.halfNs)) / 1e6 / intervalMs;
        series[names[i]].uncertainty.push(counterPts + (Math.abs(truthPct) * (halfMs + p.halfMs)) / intervalMs);
      }
    };
    await tick();
    const start = performance.now();
    for (let k = 1; k <= seconds; k++) {
      await new Promise((r) => setTimeout(r, Math.max(0, start + k * 1000 - performance.now())));
      await tick();
    }
    return { series, seconds };
  } finally {
    restorePriority();
    try { child?.kill('SIGTERM'); } catch { /* gone */ }
    await new Promise((r) => setTimeout(r, 200));
    cg.remove();
  }
}

/** One line of figures: p10/p50/p90/p95/max of |error| and the signed mean, in points. */
export function summarize(name: string, s: AccuracySeries): string {
  const abs = s.errors.map(Math.abs);
  const mean = s.errors.reduce((a, b) => a + b, 0) / Math.max(1, s.errors.length);
  const f = (x: number) => x.toFixed(2);
  return `${name}: ${s.errors.length} samples, |error| p10 ${f(percentile(abs, 10))} p50 ${f(percentile(abs, 50))} p90 ${f(percentile(abs, 90))} ` +
    `p95 ${f(percentile(abs, 95))} max ${f(Math.max(...abs))} points (mean signed ${f(mean)}); cgroup CPU p10/p50/p90 ` +
    `${f(percentile(s.truth, 10))}/${f(percentile(s.truth, 50))}/${f(percentile(s.truth, 90))} %; sample() p50 ${percentile(s.sampleMs, 50).toFixed(2)} ms; ` +
    `truth known to ±${f(percentile(s.uncertainty, 50))} (p50) / ±${f(Math.max(...s.uncertainty))} (max) points`;
}
