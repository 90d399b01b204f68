// No imports: the run-outcome Lambda bundles this file.

/**
 * The task sizes Fargate accepts: for each CPU value (CPU units), the allowed memory values (MiB).
 * Source: Amazon ECS Developer Guide, "Task CPU and memory" (Linux).
 */
export const FARGATE_SIZES: ReadonlyArray<[cpu: number, memory: number[]]> = [
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/**
 * Relative hourly price of a Fargate size (Linux/x86, us-east-1 list prices: $0.04048 per vCPU-hour,
 * $0.004445 per GB-hour); only the ordering matters.
 */
export function fargateSizePrice(cpu: number, memoryMiB: number): number {
  return (cpu / 1024) * 0.04048 + (memoryMiB / 1024) * 0.004445;
}

/**
 * The cheapest valid Fargate size with at least `cpuUnits` CPU units and `memoryMiB` MiB, or undefined when none
 * is large enough.
 */
export function smallestFargateSize(cpuUnits: number, memoryMiB: number): { cpu: number; memoryMiB: number } | undefined {
  let best: { cpu: number; memoryMiB: number } | undefined;
  for (const [cpu, memories] of FARGATE_SIZES) {
    if (cpu < cpuUnits) continue;
    const memory = memories.find((m) => m >= memoryMiB);
    if (memory === undefined) continue;
    if (!best || fargateSizePrice(cpu, memory) < fargateSizePrice(best.cpu, best.memoryMiB)) best = { cpu, memoryMiB: memory };
  }
  return best;
}
