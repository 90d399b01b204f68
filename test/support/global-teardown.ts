import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as any).__fargateMonitorMoto as ChildProcess | undefined;
  if (child && child.exitCode === null) child.kill('SIGTERM');
}
