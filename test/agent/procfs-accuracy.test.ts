/**
 * The /proc source's 1-second CPU against the kernel's own counter: a real workload in a CPU cgroup of its own
 * (cgroup v1 cpuacct.usage / v2 cpu.stat, what the Task Metadata Endpoint reports as total_usage), sampled once a
 * second from this machine's /proc by the nanosecond source (schedstat) and by the clock-tick source it falls back to.
 * Needs root and a writable cgroup filesystem: skipped, with the reason printed, where no cgroup can be made.
 * Figures are errors in percentage points of one vCPU (the workload's task would have 1 vCPU).
 *
 * Load-proof: each sample's error is held to what the source's design allows PLUS how well the truth is known for that
 * sample, measured in the same run (the counter read around sample(); a busy machine that preempts the measurement
 * widens it). The typical figures (p50/p90/max) are printed here and by bench/procfs-accuracy.ts, not asserted.
 */
import { CPU_WORKLOAD, measureCpuAccuracy, percentile, STEADY_CPU_WORKLOAD, summarize } from './support/cpu-accuracy';
import { createCpuCgroup } from './support/cpu-cgroup';

const probe = createCpuCgroup(`fm-probe-${process.pid}`);
const noCgroup = typeof probe === 'string' ? probe : undefined;
if (typeof probe !== 'string') probe.remove();
if (noCgroup) process.stderr.write(`procfs-accuracy: skipped, no CPU cgroup can be made here: ${noCgroup}\n`);
const maybe = noCgroup ? test.skip : test;

const SECONDS = 30;

maybe(`steady multi-threaded load at several levels: every 1 s error ≤ 1 point + how well the truth is known, over ${SECONDS} s (ticks for comparison)`, async () => {
  const r = await measureCpuAccuracy(SECONDS, { schedstat: { cpuSource: 'auto' }, ticks: { cpuSource: 'ticks' } }, STEADY_CPU_WORKLOAD);
  if (typeof r === 'string') throw new Error(r);
  for (const [name, s] of Object.entries(r.series)) process.stderr.write(`procfs-accuracy steady: ${summarize(name, s)}\n`);
  const ns = r.series.schedstat;
  expect(ns.errors.length).toBeGreaterThanOrEqual(SECONDS - 2);
  // The workload really loads the CPU, at more than one level (relative: a busy machine gives it less than it asks).
  expect(percentile(ns.truth, 10)).toBeGreaterThan(0);
  expect(percentile(ns.truth, 90)).toBeGreaterThan(1.3 * percentile(ns.truth, 10));
  // Nanoseconds from the same counter the cgroup adds up: off only by the scheduler's slice in flight at each read.
  ns.errors.forEach((e, i) => expect(Math.abs(e)).toBeLessThanOrEqual(1 + ns.uncertainty[i]));
}, (SECONDS + 30) * 1000);

maybe(`threads and processes starting and exiting all the time: unbiased, every 1 s error ≤ 5 points (ticks: 7) + how well the truth is known, over ${SECONDS} s`, async () => {
  const r = await measureCpuAccuracy(SECONDS, { schedstat: { cpuSource: 'auto' }, ticks: { cpuSource: 'ticks' } }, CPU_WORKLOAD);
  if (typeof r === 'string') throw new Error(r);
  for (const [name, s] of Object.entries(r.series)) process.stderr.write(`procfs-accuracy churn: ${summarize(name, s)}\n`);
  for (const s of Object.values(r.series)) {
    expect(s.errors.length).toBeGreaterThanOrEqual(SECONDS - 2);
    // CPU of threads and processes that exit between two polls is counted (from utime+stime of what they leave and
    // cutime+cstime of their reaper, in 10 ms ticks): no bias. Before, the source lost it: about -5 points here.
    const mean = s.errors.reduce((a, b) => a + b, 0) / s.errors.length;
    expect(Math.abs(mean)).toBeLessThanOrEqual(0.5);
    // What exits between two polls is known only to 10 ms ticks (1 point of a vCPU over 1 s): the node process's
    // utime+stime (its exited threads) and the reapers' cutime+cstime (the node process's and the shell's), each
    // floored at both ends (< 1 tick each), plus up to 2 ticks of reaping carried to the next second: 5 points. The
    // tick source reads two more live processes in ticks (the node process's own counter is already one): 7.
    const budget = s === r.series.schedstat ? 5 : 7;
    s.errors.forEach((e, i) => expect(Math.abs(e)).toBeLessThanOrEqual(budget + s.uncertainty[i]));
    // Never a negative figure.
    expect(Math.min(...s.truth.map((t, i) => t + s.errors[i]))).toBeGreaterThanOrEqual(0);
  }
}, (SECONDS + 30) * 1000);
