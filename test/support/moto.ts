import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';

/** Environment variable through which tests find the moto server (`http://127.0.0.1:PORT`). */
export const MOTO_URL_ENV = 'FARGATE_MONITOR_TEST_MOTO_URL';

/** The moto server's base URL, as set by `.ci/run` or by the jest global setup. */
export function motoUrl(): string {
  const url = process.env[MOTO_URL_ENV];
  if (!url) throw new Error(`${MOTO_URL_ENV} is not set: run the tests through jest (global setup starts moto)`);
  return url;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `python3 -m moto.server` on a free loopback port and waits until it answers. */
export async function startMoto(): Promise<{ url: string; process: ChildProcess }> {
  const port = await freePort();
  const python = process.env.PYTHON ?? 'python3';
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr = (stderr + String(d)).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto server exited with ${child.exitCode} (is pip "moto[server]" installed?): ${stderr}`);
    }
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.status < 500) return { url, process: child };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`moto server did not answer on ${url} within 30 s: ${stderr}`);
}
