/**
 * A memory cgroup of its own for a process under test (cgroup v2, or v1's memory controller), as ECS gives each
 * container: a hard limit, and the figures a task pays for (the working set: usage − inactive file pages). Needs
 * root and a writable cgroup filesystem; `createMemoryCgroup` says why not when the machine does not allow it.
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = '/sys/fs/cgroup';

export interface MemoryCgroupFigures {
  /** memory.current (v2) / memory.usage_in_bytes (v1), bytes. */
  usageBytes: number;
  /** inactive_file (v2) / total_inactive_file (v1), bytes. */
  inactiveFileBytes: number;
  /** usage − inactive file (when smaller than usage): what ECS/`docker stats` call memory in use. */
  workingSetBytes: number;
  /** Anonymous memory charged to the cgroup (v2 `anon`, v1 `total_rss`), bytes. */
  anonBytes: number;
  /** File pages charged to the cgroup (v2 `file`, v1 `total_cache`), bytes. */
  fileBytes: number;
  /** Processes of the cgroup killed by the OOM killer so far. */
  oomKills: number;
}

export interface MemoryCgroup {
  readonly version: 1 | 2;
  readonly dir: string;
  /** The hard limit in bytes, or undefined for none. */
  readonly limitBytes?: number;
  /** Shell words that move the shell into the cgroup, then exec "$0" "$@" (for `spawn('/bin/sh', [...])`). */
  shellPrefix(): string[];
  figures(): MemoryCgroupFigures;
  /** Removes the (empty) cgroup; best effort. */
  remove(): void;
}

function readKv(file: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

/** The memory controller's mount: v2 unified root, or v1 `memory` hierarchy; undefined if neither. */
function detect(): { version: 1 | 2; base: string } | undefined {
  try {
    if (fs.readFileSync(path.join(ROOT, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory')) return { version: 2, base: ROOT };
  } catch { /* not v2 at the root */ }
  const v1 = path.join(ROOT, 'memory');
  if (fs.existsSync(path.join(v1, 'memory.limit_in_bytes'))) {
    // Our own place in the v1 hierarchy (the line `N:memory:/path` of /proc/self/cgroup).
    const own = /^\d+:memory:(.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
    return { version: 1, base: path.join(v1, own) };
  }
  return undefined;
}

/**
 * Creates a memory cgroup named `name` with a hard limit of `limitMiB` (0: no limit, only accounting) and no swap.
 * Returns a string saying why when the machine does not allow it (not root, read-only cgroupfs, no memory controller).
 */
export function createMemoryCgroup(name: string, limitMiB: number): MemoryCgroup | string {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const d = detect();
  if (!d) return `no memory cgroup controller under ${ROOT} (neither cgroup v2 with "memory" nor a v1 memory hierarchy)`;
  const dir = path.join(d.base, name);
  const limitBytes = limitMiB > 0 ? limitMiB * 1048576 : undefined;
  try {
    if (d.version === 2) {
      const sub = path.join(d.base, 'cgroup.subtree_control');
      if (!fs.readFileSync(sub, 'utf8').split(/\s+/).includes('memory')) fs.writeFileSync(sub, '+memory');
    }
    fs.mkdirSync(dir);
  } catch (e) {
    return `cannot create a cgroup at ${dir}: ${(e as Error).message}`;
  }
  try {
    if (d.version === 2) {
      fs.writeFileSync(path.join(dir, 'memory.max'), limitBytes === undefined ? 'max' : String(limitBytes));
      try { fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0'); } catch { /* no swap accounting */ }
    } else if (limitBytes !== undefined) {
      fs.writeFileSync(path.join(dir, 'memory.limit_in_bytes'), String(limitBytes));
      try { fs.writeFileSync(path.join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)); } catch { /* no swap accounting */ }
    }
  } catch (e) {
    try { fs.rmdirSync(dir); } catch { /* ignore */ }
    return `cannot set the memory limit of ${dir}: ${(e as Error).message}`;
  }
  const procs = path.join(dir, 'cgroup.procs');
  return {
    version: d.version,
    dir,
    limitBytes,
    shellPrefix: () => ['-c', `echo $$ > '${procs}' && exec "$0" "$@"`],
    figures: () => {
      if (d.version === 2) {
        const st = readKv(path.join(dir, 'memory.stat'));
        const usage = Number(fs.readFileSync(path.join(dir, 'memory.current'), 'utf8'));
        const inactive = st.inactive_file ?? 0;
        return {
          usageBytes: usage,
          inactiveFileBytes: inactive,
          workingSetBytes: inactive < usage ? usage - inactive : usage,
          anonBytes: st.anon ?? 0,
          fileBytes: st.file ?? 0,
          oomKills: readKv(path.join(dir, 'memory.events')).oom_kill ?? 0,
        };
      }
      const st = readKv(path.join(dir, 'memory.stat'));
      const usage = Number(fs.readFileSync(path.join(dir, 'memory.usage_in_bytes'), 'utf8'));
      const inactive = st.total_inactive_file ?? 0;
      return {
        usageBytes: usage,
        inactiveFileBytes: inactive,
        workingSetBytes: inactive < usage ? usage - inactive : usage,
        anonBytes: st.total_rss ?? 0,
        fileBytes: st.total_cache ?? 0,
        oomKills: readKv(path.join(dir, 'memory.oom_control')).oom_kill ?? 0,
      };
    },
    remove: () => {
      for (let i = 0; i < 20; i++) {
        try { fs.rmdirSync(dir); return; } catch { execFileSync('sleep', ['0.05']); }
      }
    },
  };
}

/**
 * A private copy of a node binary whose pages are NOT in the page cache, so that a process started from it in a
 * memory cgroup gets node's code pages charged to that cgroup, as a container reading its own image does (a binary
 * other processes already run from is charged to whoever read it first, which would flatter the figures).
 * Each call makes its own copy (two processes sharing one would share its pages, charged to whichever read first),
 * drops it from the page cache (fsync + POSIX_FADV_DONTNEED) and returns its path with a `remove` for afterwards.
 */
export function uncachedNodeCopy(nodeBinary: string): { path: string; remove: () => void } {
  const copy = path.join(os.tmpdir(), `fm-node-${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  fs.copyFileSync(nodeBinary, copy);
  fs.chmodSync(copy, 0o755);
  execFileSync('python3', ['-c',
    'import os,sys\nfd=os.open(sys.argv[1], os.O_RDONLY)\nos.fsync(fd)\nos.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)\nos.close(fd)', copy]);
  return { path: copy, remove: () => fs.rmSync(copy, { force: true }) };
}

/** Anonymous and resident memory of a process from /proc/<pid>/status, bytes, and its major page faults. */
export function processMemory(pid: number): { rssBytes: number; anonBytes: number; fileBytes: number; majorFaults: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile'), majorFaults: Number(f[9]) };
  } catch {
    return undefined;
  }
}
