import { Token } from 'aws-cdk-lib';

/**
 * The task sizes Fargate accepts: for each CPU value (CPU units), the allowed memory values (MiB).
 * Source: Amazon ECS Developer Guide, "Task CPU and memory" (Linux).
 */
const FARGATE_SIZES: ReadonlyArray<[cpu: number, memory: number[]]> = [
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
 * Throws an error naming the props when `cpu`/`memoryLimitMiB` is not a Fargate task size.
 * Unresolved tokens are not checked.
 */
export function validateFargateTaskSize(cpu: number, memoryLimitMiB: number, owner: string): void {
  if (Token.isUnresolved(cpu) || Token.isUnresolved(memoryLimitMiB)) return;
  const row = FARGATE_SIZES.find(([c]) => c === cpu);
  if (!row) {
    throw new Error(`${owner}: cpu ${cpu} is not a Fargate task CPU value; use one of ${FARGATE_SIZES.map(([c]) => c).join(', ')}`);
  }
  if (!row[1].includes(memoryLimitMiB)) {
    const [lo, hi] = [row[1][0], row[1][row[1].length - 1]];
    throw new Error(
      `${owner}: memoryLimitMiB ${memoryLimitMiB} is not valid with cpu ${cpu} on Fargate; ` +
      `use ${lo}–${hi} MiB in steps of ${row[1].length > 1 ? row[1][1] - row[1][0] : 0} (${row[1].slice(0, 4).join(', ')}${row[1].length > 4 ? ', …' : ''})`,
    );
  }
}
