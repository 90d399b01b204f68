import { Token } from 'aws-cdk-lib';
import { FARGATE_SIZES } from './fargate-sizes';

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
