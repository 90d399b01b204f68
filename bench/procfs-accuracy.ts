/**
 * Benchmark (not a unit test): the /proc source's 1-second CPU against the kernel's cgroup counter (the figures
 * test/agent/procfs-accuracy.test.ts holds only to load-proof bounds). Runs the churning and the steady workloads of
 * test/agent/support/cpu-accuracy.ts for BENCH_DURATION_S (default 30) each, sampled once a second by the nanosecond
 * (schedstat) source and by the clock-tick source, and prints |error| p10/p50/p90/p95/max in points of one vCPU, the
 * signed mean, and how well the truth was known (it widens on a busy machine). Needs root and a writable cgroup fs.
 *
 *   npx ts-node --transpile-only bench/procfs-accuracy.ts
 */
import * as os from 'node:os';
import { CPU_WORKLOAD, measureCpuAccuracy, STEADY_CPU_WORKLOAD, summarize } from '../test/agent/support/cpu-accuracy';

const SECONDS = Number(process.env.BENCH_DURATION_S ?? 30);

async function main(): Promise<void> {
  for (const [name, workload] of [['steady', STEADY_CPU_WORKLOAD], ['churn', CPU_WORKLOAD]] as const) {
    const load = os.loadavg()[0];
    const r = await measureCpuAccuracy(SECONDS, { schedstat: { cpuSource: 'auto' }, ticks: { cpuSource: 'ticks' } }, workload);
    if (typeof r === 'string') throw new Error(`no CPU cgroup can be made here: ${r}`);
    for (const [src, s] of Object.entries(r.series)) {
      process.stdout.write(`procfs-accuracy ${name} (${SECONDS} s, load average ${load.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}): ${summarize(src, s)}\n`);
    }
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
