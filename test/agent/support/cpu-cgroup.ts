/**
 * A CPU-accounting cgroup of its own for a workload under test (cgroup v1 `cpuacct`, or v2 with the `cpu`
 * controller), as ECS gives each container: its counter (`cpuacct.usage`, ns; v2 `cpu.stat` `usage_usec`) is what
 * the Task Metadata Endpoint reports as `cpu_usage.total_usage`, the truth the agent's /proc CPU is measured against.
 * Needs root and a writable cgroup filesystem; `createCpuCgroup` says why not when the machine does not allow it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = '/sys/fs/cgroup';

export interface CpuCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
  /** Shell words that move the shell into the cgroup, then exec "$0" "$@" (for `spawn('/bin/sh', [...])`). */
  shellPrefix(): string[];
  /** CPU used by every task that ever ran in the cgroup, in nanoseconds (v2: microseconds × 1,000). */
  usageNs(): number;
  /** Removes the cgroup once it is empty; best effort (kills what is left in it first). */
  remove(): void;
}

function detect(): { version: 1 | 2; base: string } | undefined {
  const v1 = path.join(ROOT, 'cpuacct');
  if (fs.existsSync(path.join(v1, 'cpuacct.usage'))) {
    const own = /^\d+:(?:[^:]*,)?cpuacct(?:,[^:]*)?:(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
    return { version: 1, base: path.join(v1, own) };
  }
  try {
    if (fs.readFileSync(path.join(ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) return { version: 2, base: ROOT };
  } catch { /* not v2 at the root */ }
  return undefined;
}

/** Creates a cgroup named `name` that counts CPU; returns a string saying why when the machine does not allow it. */
export function createCpuCgroup(name: string): CpuCgroup | string {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const d = detect();
  if (!d) return `no CPU accounting cgroup under ${ROOT} (neither a v1 cpuacct hierarchy nor cgroup v2 with "cpu")`;
  const dir = path.join(d.base, name);
  try {
    if (d.version === 2) {
      const sub = path.join(d.base, 'cgroup.subtree_control');
      if (!fs.readFileSync(sub, 'utf8').split(/\s+/).includes('cpu')) fs.writeFileSync(sub, '+cpu');
    }
    fs.mkdirSync(dir);
  } catch (e) {
    return `cannot create a cgroup at ${dir}: ${(e as Error).message}`;
  }
  const procs = path.join(dir, 'cgroup.procs');
  const usageFile = path.join(dir, d.version === 1 ? 'cpuacct.usage' : 'cpu.stat');
  return {
    version: d.version,
    dir,
    shellPrefix: () => ['-c', `echo $$ > '${procs}' && exec "$0" "$@"`],
    usageNs: () => {
      const text = fs.readFileSync(usageFile, 'utf8');
      if (d.version === 1) return Number(text);
      return Number(/^usage_usec (\d+)/m.exec(text)?.[1] ?? NaN) * 1000;
    },
    remove: () => {
      for (let i = 0; i < 40; i++) {
        try {
          for (const p of fs.readFileSync(procs, 'utf8').split('\n').filter(Boolean)) {
            try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ }
          }
          fs.rmdirSync(dir);
          return;
        } catch { execFileSync('sleep', ['0.05']); }
      }
    },
  };
}
