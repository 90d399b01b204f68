/**
 * Fault matrix: the bundled agent as a real process against a misbehaving TMDE and a fault-injecting proxy in
 * front of moto. Each case asserts what was published, what was logged, and that the process stayed alive.
 * Time is accelerated with small intervals (poll 25–30 ms, flush 100–250 ms) instead of long sleeps.
 */
import { freePort, motoUrl } from '../support/moto';
import { AgentProcess, ensureBundle, FAKE_AWS_ENV } from './support/agent-process';
import { CwProxy } from './support/cw-proxy';
import { FakeTmde, json, Reply } from './support/fake-tmde';
import { syntheticTask } from './support/payloads';

const AGENT_ID = 'fa017fa017fa017fa017fa017fa017fa-0000000001';
const APP_ID = 'fa017fa017fa017fa017fa017fa017fa-0000000002';

/** 1 vCPU task; per 10 s sample: agent 1e8 ns = 1 %, app 2.5e9 ns = 25 %; task = 26 %. */
function makeTask(cluster: string) {
  return syntheticTask({
    cluster,
    cpu: 1,
    memory: 512,
    containers: [
      { name: 'agent', dockerId: AGENT_ID, cpuNsPerSample: 1e8, usage: 10 * 1048576 },
      { name: 'app', dockerId: APP_ID, cpuNsPerSample: 2.5e9, usage: 100 * 1048576, limitMiB: 256 },
    ],
  });
}

function dim(d: any, name: string): string | undefined {
  return d.Dimensions?.find((x: any) => x.Name === name)?.Value;
}

beforeAll(() => ensureBundle());

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/**
 * A fake TMDE serving the synthetic task (its stats advance one sample per request) and a fault-injecting proxy in
 * front of moto, both stopped after the test. `hang()` makes TMDE hang from then on.
 */
async function harness(cluster: string, appStopped = false) {
  const syn = makeTask(cluster);
  if (appStopped) {
    // The app has exited (a finished batch run): /task says STOPPED with its exit code and FinishedAt.
    const app = syn.task.Containers.find((c: any) => c.Name === 'app') as any;
    Object.assign(app, { KnownStatus: 'STOPPED', ExitCode: 0, FinishedAt: new Date(Date.now() - 60_000).toISOString() });
  }
  let hanging = false;
  const tmde = new FakeTmde((p) => {
    if (p === '/') return json(200, { Name: 'agent', DockerId: AGENT_ID });
    if (hanging) return { kind: 'hang' };
    if (p === '/task') return json(200, syn.task);
    return json(200, syn.next());
  });
  const uri = await tmde.start();
  cleanup.push(() => tmde.stop());
  const proxy = new CwProxy(motoUrl());
  await proxy.start();
  cleanup.push(() => proxy.stop());
  return { syn, uri, proxy, hang: () => { hanging = true; } };
}

test('TMDE faults: absent at start, 500, hang, truncated, non-JSON, wrong-shaped JSON, null/{} entries, counter reset, unchanged read', async () => {
  const cluster = `faults-tmde-${Date.now()}`;
  const syn = makeTask(cluster);
  type Mode = 'good' | 'error500' | 'hang' | 'truncate' | 'nonjson' | 'garbage' | 'null' | 'empty' | 'reset' | 'repeat';
  // Valid JSON of the wrong shape: must be ignored without an error line or a bogus datum.
  const garbage = [[1, 2, 3], 42, 'stats', { [APP_ID]: 'x', [AGENT_ID]: [] },
    { [APP_ID]: { read: 7, cpu_stats: 'hot', memory_stats: { usage: 'lots' } } }, { [AGENT_ID]: { cpu_stats: {}, precpu_stats: null } }];
  let garbageHits = 0;
  let mode: Mode = 'good';
  let last: any;
  const handler = (p: string): Reply => {
    if (p === '/') return json(200, { Name: 'agent', DockerId: AGENT_ID });
    if (p === '/task') return json(200, syn.task);
    switch (mode) {
      case 'error500': return { status: 500, body: '{"message":"internal"}' };
      case 'hang': return { kind: 'hang' };
      case 'truncate': return { kind: 'truncate', body: JSON.stringify(last ?? {}).slice(0, 200) };
      case 'nonjson': return { status: 200, body: '<html>502 Bad Gateway</html>' };
      case 'garbage': return json(200, garbage[garbageHits++ % garbage.length]);
      case 'repeat': return json(200, last);
      case 'null': last = syn.next((s) => { s[APP_ID] = null; }); return json(200, last);
      case 'empty': last = syn.next((s) => { s[APP_ID] = {}; }); return json(200, last);
      case 'reset':
        // Only the first sample of the phase goes backwards (a restarted container); the next ones are consistent.
        mode = 'good';
        last = syn.next((s) => { s[APP_ID].cpu_stats.cpu_usage.total_usage = 5; });
        return json(200, last);
      default: last = syn.next(); return json(200, last);
    }
  };
  const proxy = new CwProxy(motoUrl());
  await proxy.start();
  cleanup.push(() => proxy.stop());
  const port = await freePort();
  const tmde = new FakeTmde(handler);
  cleanup.push(() => tmde.stop());
  const uri = `http://127.0.0.1:${port}/v4/0123456789abcdef-1234567890`;
  const agent = new AgentProcess({
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL_CLOUDWATCH: proxy.url,
    ECS_CONTAINER_METADATA_URI_V4: uri,
    FARGATE_MONITOR_NAMESPACE: `Faults/${cluster}`,
    FARGATE_MONITOR_POLL_INTERVAL_MS: '30',
    FARGATE_MONITOR_FLUSH_INTERVAL_MS: '150',
    FARGATE_MONITOR_METADATA_TIMEOUT_MS: '150',
  });
  cleanup.push(() => agent.kill());

  // Absent at start: nothing listens on the port yet. The endpoint comes up only once the agent has logged the
  // refused connection (a condition, not a fixed sleep: a loaded machine may take seconds to start node).
  const refused = () => agent.logs().some((l) => l.message.startsWith('task metadata endpoint /task/stats unavailable') && /ECONNREFUSED/.test(l.message));
  await agent.waitFor(refused, 60_000, 'the ECONNREFUSED line of "absent at start"');
  expect(agent.alive).toBe(true);
  await tmde.start(port);
  const phases: Mode[] = ['good', 'error500', 'good', 'hang', 'good', 'truncate', 'good', 'nonjson', 'good',
    'garbage', 'good', 'null', 'good', 'empty', 'good', 'reset', 'good', 'repeat', 'good'];
  for (const m of phases) {
    mode = m;
    const before = tmde.hits['/task/stats'] ?? 0;
    await agent.waitFor(() => (tmde.hits['/task/stats'] ?? 0) >= before + 6, 60_000, `6 polls in ${m}`);
    expect(agent.alive).toBe(true);
  }
  // Let a periodic flush carry the last phase's samples: wait for a PutMetricData call that starts after it.
  const putsAfterPhases = proxy.puts().length;
  await agent.waitFor(() => proxy.puts().length > putsAfterPhases, 60_000, 'a periodic flush after the last phase');
  expect(agent.alive).toBe(true);
  const exit = await agent.terminate();
  expect(exit.code).toBe(0);

  // Logged: each endpoint failure once when it starts, and once when it recovers — never once per poll. A loaded
  // machine may also make a healthy read outlast the 150 ms timeout: such a timeout is a real failure of that read, so
  // it may stand between the injected ones (each with its recovery), but the six injected faults must all be there, in
  // their order, each once.
  const logs = agent.logs();
  const down = logs.filter((l) => l.message.startsWith('task metadata endpoint /task/stats unavailable') && !l.message.includes('recovered'))
    .map((l) => l.message);
  const injected = [/ECONNREFUSED/, /HTTP 500/, /timed out after 150 ms/, /cut short|aborted|not JSON|socket hang up/, /not JSON/,
    /did not return a JSON object/]; // [1,2,3], 42, "stats"; the wrong-shaped objects are skipped
  let next = 0;
  const extra: string[] = [];
  for (const m of down) {
    if (next < injected.length && injected[next].test(m)) next++;
    else extra.push(m);
  }
  expect(next).toBe(injected.length);
  for (const m of extra) expect(m).toMatch(/timed out after 150 ms/);
  expect(logs.filter((l) => /\/task\/stats unavailable: recovered/.test(l.message))).toHaveLength(down.length);
  expect(logs.filter((l) => l.message.startsWith('CPU counter went backwards'))).toEqual([
    expect.objectContaining({ containers: ['app'] }),
  ]);
  expect(logs.filter((l) => l.level === 'error')).toEqual([]);
  expect(logs.length).toBeLessThan(30 + 2 * extra.length);

  // Published: only exact values; every sample counted once; nothing for null/{} entries or the reset pair.
  const data = proxy.delivered();
  for (const d of data) expect(typeof d.Value === 'number' && Number.isFinite(d.Value)).toBe(true);
  const cpu = data.filter((d) => d.MetricName === 'CPUUtilization');
  for (const d of cpu.filter((x) => dim(x, 'ContainerName') === 'app')) expect(d.Value).toBeCloseTo(25, 9);
  for (const d of cpu.filter((x) => dim(x, 'ContainerName') === 'agent')) expect(d.Value).toBeCloseTo(1, 9);
  // Task level: 26 % with both containers; 1 % while app is stopped (null / {}: it contributes nothing).
  const taskCpu = cpu.filter((x) => !dim(x, 'ContainerName')).map((d) => Math.round(d.Value * 1e6) / 1e6);
  expect(new Set(taskCpu)).toEqual(new Set([26, 1]));
  const report = agent.reportJson();
  const taskMem = data.filter((d) => d.MetricName === 'MemoryUtilized' && !dim(d, 'ContainerName'));
  expect(report.samples).toBe(syn.samples());
  expect(taskMem).toHaveLength(syn.samples());
  // app CPU datums: every sample except the null/{} ones (6+ each) and the reset pair (exactly 1).
  const appCpu = cpu.filter((x) => dim(x, 'ContainerName') === 'app').length;
  const appMem = data.filter((d) => d.MetricName === 'MemoryUtilized' && dim(d, 'ContainerName') === 'app').length;
  expect(appMem - appCpu).toBe(1);
  expect(taskMem.length - appMem).toBeGreaterThanOrEqual(12);
  expect(taskCpu.length).toBe(taskMem.length - 1);
});

test('CloudWatch faults: throttling, 500s, hanging, unreachable; bounded buffer drops oldest first and counts it', async () => {
  const cluster = `faults-cw-${Date.now()}`;
  const { syn, uri, proxy } = await harness(cluster);
  const agent = new AgentProcess({
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL_CLOUDWATCH: proxy.url,
    ECS_CONTAINER_METADATA_URI_V4: uri,
    FARGATE_MONITOR_NAMESPACE: `Faults/${cluster}`,
    FARGATE_MONITOR_POLL_INTERVAL_MS: '25',
    FARGATE_MONITOR_FLUSH_INTERVAL_MS: '250',
    FARGATE_MONITOR_CLOUDWATCH_TIMEOUT_MS: '600',
    FARGATE_MONITOR_BUFFER_MAX_DATUMS: '1000',
  });
  cleanup.push(() => agent.kill());
  const failures = () => agent.logs().filter((l) => l.message.startsWith('PutMetricData failing') && !l.message.includes('recovered'));
  const recoveries = () => agent.logs().filter((l) => /PutMetricData failing.*recovered/.test(l.message));
  // Each fault lasts until the agent has logged the failure (and, for `down`, until the buffer must overflow),
  // then CloudWatch comes back until the agent logs the recovery: event-driven, not timing-dependent.
  const fault = async (mode: Parameters<CwProxy['setMode']>[0], why: RegExp, until: () => boolean = () => true) => {
    const f = failures().length;
    const r = recoveries().length;
    await proxy.setMode(mode);
    // The injected fault's own line (a loaded machine may add a timeout of a healthy call before it: also a real
    // failure, but not the one this phase is about; any such extra line must be a timeout).
    await agent.waitFor(() => failures().slice(f).some((l) => why.test(l.message)) && until(), 60_000, `a logged failure in ${mode}`);
    for (const l of failures().slice(f).filter((x) => !why.test(x.message))) expect(l.message).toMatch(/TimeoutError|timed out|timeout/i);
    expect(agent.alive).toBe(true);
    await proxy.setMode('pass');
    await agent.waitFor(() => recoveries().length > r, 60_000, `a logged recovery after ${mode}`);
    expect(agent.alive).toBe(true);
  };
  await agent.waitFor(() => proxy.puts().length >= 2, 60_000, 'healthy flushes');
  await fault('throttle', /Throttling: Rate exceeded/);
  await fault('error500', /InternalService\w*: injected/);
  await fault('hang', /TimeoutError|timed out|timeout/i);
  // Unreachable "for minutes", accelerated: ≥ 200 samples × 10 datums overflow the 1,000-datum bound.
  const downFrom = syn.samples();
  let downTo = 0;
  await fault('down', /ECONNREFUSED/, () => { downTo = syn.samples(); return downTo - downFrom >= 200; });
  // One more successful flush after the recovery (the datums sampled since reach moto before SIGTERM).
  const okPuts = () => proxy.puts().filter((r) => r.answered === 'pass').length;
  const okBefore = okPuts();
  await agent.waitFor(() => okPuts() > okBefore, 60_000, 'a healthy flush after the outages');
  const exit = await agent.terminate();
  expect(exit.code).toBe(0);

  const logs = agent.logs();
  // One line per outage, however many flushes failed, each followed by its recovery. Beyond the four injected outages,
  // only a timeout of a healthy call on a loaded machine (a real outage of its own, logged the same way) may appear.
  const outages = [/Throttling: Rate exceeded/, /InternalService\w*: injected/, /ECONNREFUSED/];
  const timeouts = failures().filter((l) => !outages.some((o) => o.test(l.message)));
  for (const l of timeouts) expect(l.message).toMatch(/TimeoutError|timed out|timeout/i);
  for (const o of outages) expect(failures().filter((l) => o.test(l.message))).toHaveLength(1);
  expect(timeouts.length).toBeGreaterThanOrEqual(1); // the injected hang
  expect(recoveries()).toHaveLength(failures().length);
  // The SDK retried within one flush: identical consecutive request bodies (a new flush would add new datums). Among all
  // calls: on a busy machine an attempt may also fail by the agent's timeout while moto is slow (answered 'pass').
  const all = proxy.puts();
  expect(all.some((r, i) => i > 0 && r.body === all[i - 1].body && r.answered === 'throttle')).toBe(true);
  const throttled = all.filter((r) => r.answered === 'throttle');
  // ...with backoff: not a request storm (3 attempts per 250 ms flush at most).
  const span = throttled.length > 1 ? throttled[throttled.length - 1].at - throttled[0].at : 0;
  expect(throttled.length).toBeLessThanOrEqual(Math.ceil(span / 250) * 3 + 3);

  // Drops are counted in a log line; nothing else is lost: generated = delivered + dropped.
  const drops = logs.filter((l) => l.message.startsWith('buffer full'));
  expect(drops.length).toBeGreaterThanOrEqual(1);
  const dropped = drops.reduce((a, l) => a + (l.dropped as number), 0);
  expect(dropped).toBeGreaterThan(0);
  const data = proxy.delivered();
  const report = agent.reportJson();
  expect(report.samples).toBe(syn.samples());
  // 10 datums per sample: task CPU, MemoryUtilized, MemoryUtilization, RunDuration + 3 per container.
  const key = (d: any) => `${d.MetricName}|${d.Timestamp}|${dim(d, 'ContainerName') ?? ''}`;
  const keys = new Set(data.map(key));
  // A datum whose call was answered OK is never sent again. (A call the agent gave up on, past its 600 ms timeout,
  // may have reached moto anyway, slow on a busy machine: sending it again is right, as for any client.)
  const acked = proxy.puts().filter((r) => r.answered === 'pass' && r.acked).flatMap((r) => JSON.parse(r.body).MetricData);
  expect(new Set(acked.map(key)).size).toBe(acked.length);
  // Nothing lost without being counted, nothing invented: every sample's datums arrived or were counted as dropped
  // (exactly, unless a given-up call reached moto and its datums were later dropped as well).
  expect(keys.size).toBeLessThanOrEqual(report.samples * 10);
  expect(keys.size + dropped).toBeGreaterThanOrEqual(report.samples * 10);
  const gaveUp = proxy.puts().filter((r) => r.answered === 'pass' && !r.acked).length;
  if (gaveUp === 0) expect(data.length + dropped).toBe(report.samples * 10);
  process.stderr.write(`faults: ${gaveUp} call(s) reached moto after the agent gave up on them; ${data.length - keys.size} datum(s) arrived twice\n`);
  for (const d of data) expect(Number.isFinite(d.Value)).toBe(true);

  // Oldest first: the undelivered samples form one block inside the outage, and the newest outage data arrived.
  // (The JSON protocol carries Timestamp as epoch seconds; synthetic reads are whole ms, 10 s apart.)
  const taskMem = data.filter((d) => d.MetricName === 'MemoryUtilized' && !dim(d, 'ContainerName')).map((d) => Math.round(Number(d.Timestamp) * 1000));
  const delivered = new Set(taskMem);
  const firstRead = Math.min(...taskMem);
  const reads = Array.from({ length: report.samples }, (_, i) => firstRead + i * 10_000);
  const flags = reads.map((t) => delivered.has(t));
  const pattern = flags.map((f) => (f ? 'T' : 'F')).join('').replace(/T+/g, 'T').replace(/F+/g, 'F');
  // One block per outage that overflowed the bound (the long `down` one always does; a throttling outage with
  // its backoff sometimes does too), each followed by newer data that was kept.
  expect(pattern).toMatch(/^T(FT)+$/);
  const lastMissing = flags.lastIndexOf(false);
  expect(flags.slice(downFrom - 15, downTo).includes(false)).toBe(true); // the `down` outage dropped data...
  expect(lastMissing).toBeLessThan(downTo - 50); // ...its oldest: the newest ≥ 50 samples of the outage arrived
  expect(flags.slice(downTo - 50)).not.toContain(false);
});

test('SIGTERM during a hung flush (and a hung TMDE) prints the REPORT and exits 0 within the deadline', async () => {
  const cluster = `faults-term-${Date.now()}`;
  const running = await harness(cluster);
  const ended = await harness(cluster, true);
  const common = (h: typeof running) => ({
    ...FAKE_AWS_ENV,
    AWS_ENDPOINT_URL_CLOUDWATCH: h.proxy.url,
    ECS_CONTAINER_METADATA_URI_V4: h.uri,
    FARGATE_MONITOR_NAMESPACE: `Faults/${cluster}`,
    FARGATE_MONITOR_POLL_INTERVAL_MS: '50',
    FARGATE_MONITOR_FLUSH_INTERVAL_MS: '200',
    FARGATE_MONITOR_CLOUDWATCH_TIMEOUT_MS: '60000', // the flush hangs for as long as the proxy does
    FARGATE_MONITOR_METADATA_TIMEOUT_MS: '60000',
  });
  // App still running: ECS holds the app's SIGTERM until the agent exits, so the agent keeps to the shorter deadline
  // (explicit 2 s; default 3 s). App already ended: the default 10 s deadline.
  const fast = new AgentProcess({ ...common(running), FARGATE_MONITOR_SHUTDOWN_TIMEOUT_MS: '2000' });
  const dflt = new AgentProcess(common(running));
  const done = new AgentProcess(common(ended));
  cleanup.push(() => fast.kill(), () => dflt.kill(), () => done.kill());
  // Wait until each agent has a flush stuck in its hanging proxy (the hung request reached the proxy), then hang TMDE.
  for (const h of [running, ended]) await fast.waitFor(() => h.proxy.puts().length >= 2, 60_000, 'first flushes');
  const stuck = running.proxy.puts().length + ended.proxy.puts().length;
  await running.proxy.setMode('hang');
  await ended.proxy.setMode('hang');
  await fast.waitFor(() => running.proxy.puts().filter((r) => r.answered === 'hang').length >= 2
    && ended.proxy.puts().some((r) => r.answered === 'hang'), 10_000, 'flushes stuck in the proxies');
  expect(running.proxy.puts().length + ended.proxy.puts().length).toBeGreaterThan(stuck);
  running.hang();
  ended.hang();
  const [a, b, c] = await Promise.all([fast.terminate(), dflt.terminate(), done.terminate()]);
  for (const [p, e, limit, appRunning] of [[fast, a, 2000, true], [dflt, b, 3000, true], [done, c, 10_000, false]] as const) {
    expect(e.code).toBe(0);
    // Which deadline it kept is in its own log line below; measured from outside, the exit also waits for a busy
    // machine to run the process, so the bound here only catches a hang (the hung TMDE and flush would hold it 60 s).
    expect(e.tookMs).toBeLessThan(limit + 5_000);
    expect(e.tookMs).toBeGreaterThan(limit / 2); // it really waited for the hung flush, then gave up
    expect(p.reportText()).toMatch(/^REPORT TaskArn: arn:aws:ecs:us-east-1:123456789012:task\/synthetic\/0123456789abcdef\tDuration: /);
    expect(p.reportJson().samples).toBeGreaterThan(0);
    expect(p.reportJson().cpuMaxUtilizationPercent).toBeCloseTo(26, 6);
    expect(p.reportJson().appRunningAtShutdown).toBe(appRunning);
    expect(p.logs().find((l) => l.message.startsWith('SIGTERM received'))).toMatchObject({ shutdownTimeoutMs: limit, appRunning });
  }
}, 60_000);
