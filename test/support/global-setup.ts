import { MOTO_URL_ENV, startMoto } from './moto';

/**
 * Starts one moto server for the whole run unless `.ci/run` (or the developer) already started one and
 * exported FARGATE_MONITOR_TEST_MOTO_URL. Workers inherit the variable.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env[MOTO_URL_ENV]) return;
  const moto = await startMoto();
  process.env[MOTO_URL_ENV] = moto.url;
  (globalThis as any).__fargateMonitorMoto = moto.process;
}
