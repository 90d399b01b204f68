import type { ChildProcess } from 'node:child_process';

/**
 * Stops the moto server the global setup started, and waits for it: werkzeug may take seconds to exit on SIGTERM, and
 * until it does its stderr pipe keeps jest's main process alive ("Jest did not exit one second after the test run
 * has completed"). SIGKILL after 5 s.
 */
export default async function globalTeardown(): Promise<void> {
  const child = (globalThis as any).__fargateMonitorMoto as ChildProcess | undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killer);
  child.stderr?.destroy();
}
