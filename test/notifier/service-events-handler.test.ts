import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GateProxy } from './gate-proxy';
import { awsConfig, BUNDLE, createLogs, createTable, REGION, reportLine, slackWithWebhookSecrets, unique } from './support';
import {
  addCrash, applyAlarmState, CeilingState, ceilingTold, checkCeiling, flushWindows, judgeServiceStop, ServiceWindowState, summaryLine, summaryPosted,
} from '../../lib/notifier/service-incident';
import { motoUrl } from '../support/moto';

// The service side of the run-outcome handler, through the real bundle (assets/lib/notifier/run-outcome.lambda) against
// moto and the Slack stand-in, on real ECS events (test/fixtures/service-events, PROVENANCE.md there).

const hooks = slackWithWebhookSecrets();
const slack = hooks.slack;
const FIXTURES = path.join(__dirname, '..', 'fixtures', 'service-events');

function load(file: string): any {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text);
  // A Python dict literal (arkime): Python's own parser.
  const py = spawnSync(process.env.PYTHON ?? 'python3',
    ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(sys.stdin.read())))'], { input: text, encoding: 'utf8' });
  return JSON.parse(py.stdout);
}

const F = {
  healthCheck: 'kotlinx_task-state-change_STOPPED_ServiceSchedulerInitiated_failed-ELB-health-checks_fargate_service-group_v6.json',
  scaleIn: 'arkime_task-state-change_STOPPED_ServiceSchedulerInitiated_exit137_fargate_service-group_v6.python-literal.txt',
  exit2: 'fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json',
  oom: 'DERIVED-from-fivexl_task-state-change_STOPPED_EssentialContainerExited_OOM-app_fargate_service-group.json',
  deployFailed: 'awsdocs-2022_deployment-state-change_ERROR_SERVICE_DEPLOYMENT_FAILED.json',
  deployCompleted: 'awsdocs-2022_deployment-state-change_INFO_SERVICE_DEPLOYMENT_COMPLETED.json',
  rollback: 'awsdocs-current_deployment-state-change_INFO_SERVICE_DEPLOYMENT_IN_PROGRESS_circuit-breaker-rollback.json',
  placement: 'awsdocs-2022_service-action_ERROR_SERVICE_TASK_PLACEMENT_FAILURE_fargate-spot.json',
  startImpaired: 'awsdocs-2022_service-action_WARN_SERVICE_TASK_START_IMPAIRED.json',
};

function config(logGroupName: string, over: object = {}) {
  return {
    appContainer: 'app',
    namespace: unique('Test/Svc'),
    clusterName: unique('cluster'),
    family: 'web',
    serviceName: unique('web'),
    logGroupName,
    agentStreamPrefix: 'agent/fargate-monitor-agent',
    cpu: 512,
    memoryMiB: 1024,
    headroomPercent: 20,
    successWebhookSecretArn: hooks.successArn,
    failureWebhookSecretArn: hooks.failureArn,
    notifySuccess: true,
    windowSeconds: 600,
    maxCapacity: 10,
    ...over,
  };
}

/** What the service rule's input transformer sends (lib/service/service-incidents.ts). */
const input = (e: any, serviceConfig: object) => ({
  serviceEvent: { id: e.id, detailType: e['detail-type'], source: e.source, time: e.time, resources: e.resources, detail: e.detail },
  serviceConfig,
});
const headerOf = (m: any) => m.attachments[0].blocks[0].text.text;
const env = (table: string, extra: Record<string, string> = {}) => ({ DEDUP_TABLE_NAME: table, REPORT_WAIT_MS: '0', ...extra });

/**
 * Runs the bundled handler in one node process, each input at its own (fake) time: `Date.now()` in the handler reads
 * `at` plus the real time spent in that invocation. The SDK signs with the real clock (`new Date()`).
 */
async function runAt(steps: Array<{ at: number; input: object }>, extraEnv: Record<string, string>): Promise<{ results: any[]; stdout: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-'));
  const inFile = path.join(dir, 'in.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(inFile, JSON.stringify(steps));
  const driver = `
    const fs = require('fs');
    const realNow = Date.now.bind(Date);
    let offset = 0;
    Date.now = () => realNow() + offset;
    const { handler } = require(${JSON.stringify(BUNDLE)});
    const steps = JSON.parse(fs.readFileSync(${JSON.stringify(inFile)}, 'utf8'));
    const ctx = { getRemainingTimeInMillis: () => 60000 };
    (async () => {
      const results = [];
      for (const s of steps) {
        offset = s.at - realNow();
        results.push(await handler(s.input, ctx).catch((e) => ({ error: String(e && e.message || e) })));
      }
      fs.writeFileSync(${JSON.stringify(outFile)}, JSON.stringify(results));
    })();`;
  const child = spawn(process.execPath, ['-e', driver], {
    env: {
      PATH: process.env.PATH ?? '', AWS_REGION: REGION, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_ENDPOINT_URL: motoUrl(), ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stdout += d; });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0 || !fs.existsSync(outFile)) throw new Error(`handler process exited ${code}: ${stdout}`);
  return { results: JSON.parse(fs.readFileSync(outFile, 'utf8')), stdout };
}

describe('judgements on real events (pure)', () => {
  test.each([
    [F.healthCheck, 'sin-web_container-dev', 'HealthCheck'],
    [F.exit2, 'app', 'ExitCode'],
    [F.oom, 'app', 'OutOfMemory'],
  ])('%s is an incident: %s → %s', (file, app, reason) => {
    const s = judgeServiceStop(load(file).detail, app);
    expect(s).toMatchObject({ incident: true, reason });
  });

  test('scale-in / deployment replacement (ServiceSchedulerInitiated, "Scaling activity initiated by (deployment …)", exit 137) is not', () => {
    const e = load(F.scaleIn);
    const app = e.detail.containers[0].name;
    const s = judgeServiceStop(e.detail, app);
    expect(s.incident).toBe(false);
    expect((s as any).why).toContain('Scaling activity initiated by (deployment ecs-svc/');
  });

  test('user stops and AWS interruptions are not; TaskFailedToStart is (derived from the fivexl event: stop code changed)', () => {
    const e = load(F.exit2);
    expect(judgeServiceStop({ ...e.detail, stopCode: 'UserInitiated' }, 'app').incident).toBe(false);
    expect(judgeServiceStop({ ...e.detail, stopCode: 'SpotInterruption' }, 'app').incident).toBe(false);
    const notStarted = { ...e.detail, stopCode: 'TaskFailedToStart', stoppedReason: 'ResourceInitializationError: unable to pull secrets', startedAt: undefined };
    expect(judgeServiceStop(notStarted, 'app')).toMatchObject({ incident: true, reason: 'FailedToStart' });
    // An OOM wins over the scheduler's stop code (a task killed out of memory during a scale-in still was).
    const oom = load(F.oom);
    expect(judgeServiceStop({ ...oom.detail, stopCode: 'ServiceSchedulerInitiated', stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/1)' }, 'app'))
      .toMatchObject({ incident: true, reason: 'OutOfMemory' });
  });
});

describe('the crash window (pure model of the timeline)', () => {
  test('a crash a minute for 30 minutes, flush every minute: one post at once, then one summary per 10-minute window', () => {
    const W = 600_000;
    let s: ServiceWindowState = {};
    const posts: string[] = [];
    const flush = (now: number) => {
      s = flushWindows(s, now, W).state;
      for (const w of s.pending ?? []) {
        posts.push(`${now / 60_000} summary: ${summaryLine(w)}`);
        s = summaryPosted(s, w.start);
      }
    };
    for (let minute = 0; minute < 45; minute++) {
      const now = minute * 60_000;
      if (minute < 30) {
        const reason = minute % 2 ? 'OutOfMemory' : 'HealthCheck';
        const step = addCrash(s, `task-${minute}`, reason === 'OutOfMemory' ? { reason, peakMiB: 1010, limitMiB: 1024 } : { reason }, now, W);
        s = step.state;
        if (step.postAtOnce) posts.push(`${minute} crash`);
        // At-least-once delivery: the same stop again changes nothing.
        const again = addCrash(s, `task-${minute}`, { reason }, now + 1, W);
        expect(again.state).toEqual(s);
      }
      flush(now + 30_000);
    }
    expect(posts).toEqual([
      '0 crash',
      '10.5 summary: 9 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 4 failed health checks',
      '20.5 summary: 10 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 5 failed health checks',
      '30.5 summary: 10 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 5 failed health checks',
    ]);
    // Quiet for more than a window: the state is idle, and the next crash is a new episode, posted at once.
    expect(flushWindows(s, 45 * 60_000, W).idle).toBe(true);
    expect(addCrash(s, 'task-later', { reason: 'ExitCode' }, 45 * 60_000, W).postAtOnce).toBe(true);
  });

  test('a lone crash posts once and never a summary', () => {
    const step = addCrash({}, 't1', { reason: 'ExitCode' }, 0, 600_000);
    expect(step.postAtOnce).toBe(true);
    expect(flushWindows(step.state, 700_000, 600_000).state.pending ?? []).toEqual([]);
  });
});

describe('through the bundled handler', () => {
  test('every fixture: crashes posted at once with their reason, non-incidents never, deployments and actions to their channels', async () => {
    const table = await createTable();
    const oom = load(F.oom);
    const group = await createLogs({
      [oom.detail.taskArn.split('/').pop()]: [reportLine(oom.detail.taskArn, { maxMemoryUsedMiB: 1010, memoryLimitMiB: 1024, appExitCode: 137 })],
    });
    const hc = load(F.healthCheck);
    const cases: Array<[string, any, string]> = [
      [F.healthCheck, config(group, { appContainer: 'sin-web_container-dev' }), 'handled HealthCheck posted'],
      [F.exit2, config(group), 'handled ExitCode posted'],
      [F.oom, config(group), 'handled OutOfMemory posted'],
      [F.scaleIn, config(group, { appContainer: load(F.scaleIn).detail.containers[0].name }), 'not-incident'],
      [F.deployFailed, config(group), 'handled posted'],
      [F.rollback, config(group), 'handled posted'],
      [F.deployCompleted, config(group), 'handled posted'],
      [F.placement, config(group), 'handled posted'],
      [F.startImpaired, config(group), 'handled posted'],
    ];
    const inputs = cases.map(([file, cfg]) => input(load(file), cfg));
    // At-least-once: the health-check stop and the placement failure delivered again.
    inputs.push(inputs[0], inputs[7]);
    const run = await runAt(inputs.map((i) => ({ at: Date.now(), input: i })), env(table));
    const got = run.results.map((r) => [r.result, r.reason, r.slack].filter(Boolean).join(' '));
    expect(got).toEqual([...cases.map((c) => c[2]), 'duplicate', 'duplicate']);

    const failures = slack.posts('/failure').map(headerOf);
    expect(failures).toEqual([
      expect.stringMatching(/^:x: Task crashed: web-/),
      expect.stringMatching(/^:x: Task crashed: web-/),
      expect.stringMatching(/^:x: Task crashed: web-/),
      expect.stringMatching(/^:x: Deployment failed: web-/),
      expect.stringMatching(/^:rewind: Rolling back: web-/),
      expect.stringMatching(/^:no_entry: Tasks cannot start: web-/),
      expect.stringMatching(/^:no_entry: Tasks cannot start: web-/),
    ]);
    expect(slack.posts('/success').map(headerOf)).toEqual([expect.stringMatching(/^:rocket: Deployed: web-/)]);
    const text = slack.posts('/failure').map((m) => JSON.stringify(m));
    expect(text[0]).toContain('failed its load balancer health checks');
    expect(text[0]).toContain(hc.detail.stoppedReason.slice(0, 60));
    expect(text[1]).toContain('exited 2');
    expect(text[2]).toContain('OUT OF MEMORY');
    expect(text[2]).toContain('app container 1010 MiB (98.6 % of the task\'s 1024 MiB: no hard limit)'); // the agent's REPORT: peak against the limit that killed it
    expect(text[3]).toContain('ECS deployment circuit breaker: task failed to start.');
    expect(text[4]).toContain('rolling back to deployment deploymentID');
    expect(text[5]).toContain('RESOURCE:FARGATE');
  }, 180_000);

  test('other service actions (SERVICE_STEADY_STATE) are ignored', async () => {
    const table = await createTable();
    const cfg = config(await createLogs({}));
    // Derived: the AWS docs' START_IMPAIRED event renamed to SERVICE_STEADY_STATE (never posted).
    const steady = load(F.startImpaired);
    steady.detail.eventName = 'SERVICE_STEADY_STATE';
    steady.detail.eventType = 'INFO';
    const run = await runAt([{ at: Date.now(), input: input(steady, cfg) }], env(table));
    expect(run.results.map((r) => r.result)).toEqual(['ignored']);
    expect(slack.posts('/failure').filter((m) => JSON.stringify(m).includes(cfg.serviceName))).toEqual([]);
  }, 120_000);

  test('TaskCrashes: one per crash, with and without Reason, in the service\'s namespace', async () => {
    const table = await createTable();
    const group = await createLogs({});
    const cfg = config(group, { successWebhookSecretArn: undefined, failureWebhookSecretArn: undefined });
    const e = load(F.exit2);
    const second = JSON.parse(JSON.stringify(e));
    second.detail.taskArn = `${e.detail.taskArn}x`;
    await runAt([e, second, e].map((ev) => ({ at: Date.now(), input: input(ev, cfg) })), env(table));
    const cw = new CloudWatchClient(awsConfig());
    const base = [{ Name: 'ClusterName', Value: cfg.clusterName }, { Name: 'ServiceName', Value: cfg.serviceName }];
    const q = (Id: string, Dimensions: any[]) => ({ Id, MetricStat: { Metric: { Namespace: cfg.namespace, MetricName: 'TaskCrashes', Dimensions }, Period: 3600, Stat: 'Sum' } });
    const res = await cw.send(new GetMetricDataCommand({
      StartTime: new Date(Date.now() - 3600_000),
      EndTime: new Date(Date.now() + 3600_000),
      MetricDataQueries: [q('all', base), q('exit', [...base, { Name: 'Reason', Value: 'ExitCode' }])],
    }));
    const sum = (id: string) => (res.MetricDataResults ?? []).find((r) => r.Id === id)!.Values!.reduce((a, b) => a + b, 0);
    expect([sum('all'), sum('exit')]).toEqual([2, 2]); // the redelivered stop is not counted again
  }, 120_000);

  test('timeline: a crash loop of a task a minute for 30 minutes, the flush every minute: one post at once, then one summary per window', async () => {
    const table = await createTable();
    const base = load(F.oom);
    const streams: Record<string, string[]> = {};
    const events: any[] = [];
    for (let minute = 0; minute < 30; minute++) {
      const e = JSON.parse(JSON.stringify(base));
      const id = `loop${minute}${unique('t').replace(/[^a-z0-9]/gi, '')}`;
      e.id = `event-${id}`;
      e.detail.taskArn = `arn:aws:ecs:eu-central-1:111111111111:task/test/${id}`;
      if (minute % 2 === 0) {
        // Derived from the kotlinx event's fields: the scheduler stopping the task for failed ELB health checks.
        const app = e.detail.containers.find((c: any) => c.name === 'app');
        delete app.reason;
        app.exitCode = 143;
        e.detail.stopCode = 'ServiceSchedulerInitiated';
        e.detail.stoppedReason = load(F.healthCheck).detail.stoppedReason;
      } else {
        streams[id] = [reportLine(e.detail.taskArn, { maxMemoryUsedMiB: 1010, memoryLimitMiB: 1024, appExitCode: 137 })];
      }
      events.push(e);
    }
    const group = await createLogs(streams);
    const cfg = config(group);
    const t0 = Math.floor(Date.now() / 1000) * 1000; // EventBridge's `time` has whole seconds
    events.forEach((e, minute) => { e.time = new Date(t0 + minute * 60_000).toISOString().replace('.000Z', 'Z'); });
    const steps: Array<{ at: number; input: object }> = [];
    for (let minute = 0; minute < 45; minute++) {
      if (minute < 30) steps.push({ at: t0 + minute * 60_000, input: input(events[minute], cfg) });
      if (minute === 5) steps.push({ at: t0 + minute * 60_000 + 1_000, input: input(events[3], cfg) }); // redelivered late
      steps.push({ at: t0 + minute * 60_000 + 30_000, input: { serviceFlush: true } });
    }
    const run = await runAt(steps, env(table));
    expect(run.results.filter((r) => r.error)).toEqual([]);
    const posts = slack.posts('/failure');
    expect(posts.map(headerOf)).toEqual([
      `:x: Task crashed: ${cfg.serviceName}`,
      `:repeat: Crash loop: ${cfg.serviceName}`,
      `:repeat: Crash loop: ${cfg.serviceName}`,
      `:repeat: Crash loop: ${cfg.serviceName}`,
    ]);
    const lines = posts.slice(1).map((m) => m.attachments[0].blocks[1].text.text.split('\n')[0]);
    expect(lines).toEqual([
      '9 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 4 failed health checks',
      '10 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 5 failed health checks',
      '10 more tasks stopped in 10 min: 5 OOM at ~1,010 of 1,024 MiB, 5 failed health checks',
    ]);
    // When each went out: the crash at minute 0; the first summary with the crash that opened the second window
    // (minute 10), the others with the crash at 20 and the flush at 30.5.
    expect(run.results[0]).toMatchObject({ result: 'handled', slack: 'posted' });
    expect(run.results.filter((r) => r.result === 'flushed').every((r) => r.summaries <= 1)).toBe(true);
    expect(run.results.filter((r) => r.result === 'flushed' && r.summaries === 1)).toHaveLength(1);
    expect(run.results.filter((r) => r.result === 'duplicate')).toHaveLength(1);
  }, 300_000);
});

describe('the ceiling: at maxCapacity while the scale-out alarm stays in ALARM', () => {
  const MIN = 60_000;
  const ceilingHeader = (cfg: { serviceName: string }) => `:chart_with_upwards_trend: At its ceiling: ${cfg.serviceName}`;

  describe('pure model', () => {
    const T = 5 * MIN;
    /** Applies the events, then looks once a minute (at :30) with the given desired count per minute; returns the minutes told. */
    function told(events: Array<[string, number]>, desiredAt: (minute: number) => number, minutes = 20, max = 10): number[] {
      let s: CeilingState = {};
      const out: number[] = [];
      const byMinute = new Map<number, Array<[string, number]>>();
      for (const e of events) byMinute.set(Math.floor(e[1] / MIN), [...byMinute.get(Math.floor(e[1] / MIN)) ?? [], e]);
      for (let m = 0; m < minutes; m++) {
        for (const [value, at] of byMinute.get(m) ?? []) s = applyAlarmState(s, value, at).state;
        const r = checkCeiling(s, desiredAt(m), m * MIN + 30_000, max, T);
        s = r.state;
        if (r.tell) { out.push(m + 0.5); s = ceilingTold(s, s.alarmSince!); }
      }
      return out;
    }

    test('in ALARM from 0 and at the ceiling: told once, at the first look 5 minutes after both began', () => {
      expect(told([['ALARM', 0]], () => 10)).toEqual([5.5]);
    });
    test('at the ceiling only from minute 3: 5 minutes from then', () => {
      expect(told([['ALARM', 0]], (m) => (m < 3 ? 8 : 10))).toEqual([8.5]);
    });
    test('below maxCapacity: never; a look below it starts the time again', () => {
      expect(told([['ALARM', 0]], () => 9)).toEqual([]);
      expect(told([['ALARM', 0]], (m) => (m === 4 ? 9 : 10))).toEqual([10.5]);
    });
    test('the alarm flaps (OK at 3, ALARM at 4): the time starts again at 4', () => {
      expect(told([['ALARM', 0], ['OK', 3 * MIN], ['ALARM', 4 * MIN]], () => 10)).toEqual([9.5]);
    });
    test('out of order: an OK newer than the ALARM, delivered first, wins; a redelivered ALARM changes nothing', () => {
      let s = applyAlarmState({}, 'OK', 60_000).state;
      expect(applyAlarmState(s, 'ALARM', 0).applied).toBe(false);
      s = applyAlarmState(s, 'ALARM', 120_000).state;
      expect(applyAlarmState(s, 'ALARM', 120_000)).toEqual({ state: s, applied: false });
      expect(s).toMatchObject({ alarm: 'ALARM', alarmSince: 120_000 });
    });
    test('two episodes, two messages; INSUFFICIENT_DATA ends an episode like OK', () => {
      expect(told([['ALARM', 0], ['OK', 7 * MIN], ['ALARM', 8 * MIN]], () => 10)).toEqual([5.5, 13.5]);
      expect(told([['ALARM', 0], ['INSUFFICIENT_DATA', 3 * MIN], ['ALARM', 4 * MIN]], () => 10)).toEqual([9.5]);
    });
  });

  describe('through the bundled handler, against moto\'s ECS', () => {
    const ecsClient = new ECSClient(awsConfig());

    /** A cluster and a service with `desired` tasks in moto; returns the names and a setter. */
    async function ecsService(desired: number) {
      const clusterName = unique('cluster');
      const serviceName = unique('web');
      await ecsClient.send(new CreateClusterCommand({ clusterName }));
      const td = await ecsClient.send(new RegisterTaskDefinitionCommand({
        family: unique('web'), containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/nginx/nginx:1.27', memory: 512 }],
      }));
      await ecsClient.send(new CreateServiceCommand({
        cluster: clusterName, serviceName, taskDefinition: td.taskDefinition!.taskDefinitionArn, desiredCount: desired,
      }));
      const setDesired = (n: number) => ecsClient.send(new UpdateServiceCommand({ cluster: clusterName, service: serviceName, desiredCount: n }));
      return { clusterName, serviceName, setDesired };
    }

    /** A fresh table, a service with `desired` tasks in moto, and its handler config (maxCapacity 10, 5 minutes). */
    async function watched(desired: number, over: object = {}) {
      const table = await createTable();
      const svc = await ecsService(desired);
      const cfg = config(await createLogs({}), {
        clusterName: svc.clusterName, serviceName: svc.serviceName, maxCapacity: 10, ceilingSeconds: 300, ...over,
      });
      return { table, svc, cfg };
    }

    // Derived: a "CloudWatch Alarm State Change" with the fields of the CloudWatch User Guide's example event
    // ("Alarm events and EventBridge"): detail.state.value / .timestamp / .reason, previousState.
    const alarmEvent = (value: string, at: number, id: string) => ({
      'version': '0',
      id,
      'detail-type': 'CloudWatch Alarm State Change',
      'source': 'aws.cloudwatch',
      'account': '111111111111',
      'time': new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'region': 'eu-central-1',
      'resources': ['arn:aws:cloudwatch:eu-central-1:111111111111:alarm:web-scale-out'],
      'detail': {
        alarmName: 'web-scale-out',
        state: { value, timestamp: new Date(at).toISOString().replace('Z', '+0000'), reason: 'Threshold Crossed: 1 out of the last 1 datapoints [92.0] was greater than or equal to the threshold (70.0).' },
        previousState: { value: value === 'ALARM' ? 'OK' : 'ALARM' },
      },
    });
    const flushAt = (at: number) => ({ at, input: { serviceFlush: true } });
    const mine = (cfg: { serviceName: string }) => slack.posts('/failure').filter((m) => headerOf(m) === ceilingHeader(cfg));

    test('held at maxCapacity in ALARM: nothing for 5 minutes, then one message; redelivery and later flushes add none', async () => {
      const { table, cfg } = await watched(10, { scaleOutThreshold: 70 });
      const t0 = Math.floor(Date.now() / 1000) * 1000;
      const a = alarmEvent('ALARM', t0, unique('ev'));
      const first = await runAt([
        { at: t0 + 2_000, input: input(a, cfg) },
        ...[0, 1, 2, 3, 4].map((m) => flushAt(t0 + m * MIN + 30_000)),
      ], env(table));
      expect(first.results.map((r) => r.error)).toEqual(Array(6).fill(undefined));
      expect(first.results[0]).toMatchObject({ result: 'handled', alarm: 'ALARM', told: 0 });
      expect(mine(cfg)).toEqual([]);
      const second = await runAt([
        flushAt(t0 + 5 * MIN + 30_000),
        { at: t0 + 5 * MIN + 40_000, input: input(a, cfg) }, // the same event again
        flushAt(t0 + 6 * MIN + 30_000),
        flushAt(t0 + 7 * MIN + 30_000),
      ], env(table));
      expect(second.results.map((r) => r.ceilings ?? r.result)).toEqual([1, 'ignored', 0, 0]);
      const posts = mine(cfg);
      expect(posts).toHaveLength(1);
      const text = JSON.stringify(posts[0]);
      expect(text).toContain('maxCapacity (10 tasks, desired 10)');
      expect(text).toContain('(70 % CPU)');
      expect(text).toContain(`In ALARM since ${new Date(t0).toISOString()}`);
    }, 180_000);

    test('below maxCapacity nothing is told; reaching it starts the time; OK ends the watch', async () => {
      const { table, svc, cfg } = await watched(8);
      const t0 = Math.floor(Date.now() / 1000) * 1000;
      await runAt([
        { at: t0 + 1_000, input: input(alarmEvent('ALARM', t0, unique('ev')), cfg) },
        ...[0, 1, 2, 3, 4, 5, 6, 7].map((m) => flushAt(t0 + m * MIN + 30_000)),
      ], env(table));
      expect(mine(cfg)).toEqual([]);
      await svc.setDesired(10); // scaled out to the ceiling just before minute 8
      const at = await runAt([flushAt(t0 + 8 * MIN), ...[9, 10, 11, 12, 13, 14].map((m) => flushAt(t0 + m * MIN + 30_000))], env(table));
      // First seen at the ceiling at 8:00: not at 12:30 (4.5 min), told at 13:30 (5.5 min), the first look 5 minutes on.
      expect(at.results.map((r) => r.ceilings)).toEqual([0, 0, 0, 0, 0, 1, 0]);
      expect(mine(cfg)).toHaveLength(1);
      // OK: the watch ends (the flush no longer looks at the service) and nothing more is told.
      const ok = await runAt([
        { at: t0 + 15 * MIN, input: input(alarmEvent('OK', t0 + 15 * MIN - 5_000, unique('ev')), cfg) },
        flushAt(t0 + 15 * MIN + 30_000),
      ], env(table));
      expect(ok.results[0]).toMatchObject({ result: 'handled', alarm: 'OK' });
      expect(ok.results[1].ceilings).toBe(0);
      expect(mine(cfg)).toHaveLength(1);
    }, 180_000);

    test('a re-arming ALARM racing the OK that takes the service off the flush\'s index: the service stays watched and is told', async () => {
      const { table, cfg } = await watched(10);
      const gate = new GateProxy(motoUrl());
      await gate.start();
      try {
        const t0 = Math.floor(Date.now() / 1000) * 1000;
        await runAt([{ at: t0 + 1_000, input: input(alarmEvent('ALARM', t0, unique('ev')), cfg) }], env(table));
        // The OK of minute 1 writes its state, then its DELETE from the index is held back...
        gate.arm((body) => body.includes('"UpdateExpression":"DELETE #k :k"'));
        const ok = runAt([{ at: t0 + MIN + 1_000, input: input(alarmEvent('OK', t0 + MIN, unique('ev')), cfg) }], env(table, { AWS_ENDPOINT_URL: gate.url }));
        await gate.caught;
        // ...while the ALARM of minute 2 writes its state and adds the service to the index; then the DELETE lands.
        const rearm = await runAt([{ at: t0 + 2 * MIN + 1_000, input: input(alarmEvent('ALARM', t0 + 2 * MIN, unique('ev')), cfg) }], env(table));
        expect(rearm.results[0]).toMatchObject({ result: 'handled', alarm: 'ALARM', told: 0 });
        gate.release();
        expect((await ok).results[0]).toMatchObject({ result: 'handled', alarm: 'OK' });
        // The flush still visits the service: told at 7:30, 5 minutes after the ALARM of minute 2 was first looked at.
        const flushes = await runAt([3, 4, 5, 6, 7].map((m) => flushAt(t0 + m * MIN + 30_000)), env(table));
        expect(flushes.results.map((r) => r.ceilings)).toEqual([0, 0, 0, 0, 1]);
        expect(mine(cfg)).toHaveLength(1);
      } finally {
        await gate.stop();
      }
    }, 180_000);

    test('out of order and flapping, as EventBridge may deliver: the newest state wins, a flap starts the time again', async () => {
      const { table, cfg } = await watched(10);
      const t0 = Math.floor(Date.now() / 1000) * 1000;
      const run = await runAt([
        // The OK at 2 min arrives before the ALARM of 0 min it followed: the ALARM is older, and ignored.
        { at: t0 + 2 * MIN + 5_000, input: input(alarmEvent('OK', t0 + 2 * MIN, unique('ev')), cfg) },
        { at: t0 + 2 * MIN + 6_000, input: input(alarmEvent('ALARM', t0, unique('ev')), cfg) },
        flushAt(t0 + 2 * MIN + 30_000),
        // ALARM again at 3 min, OK at 5, ALARM at 6 (a flap): the time counts from 6.
        { at: t0 + 3 * MIN + 1_000, input: input(alarmEvent('ALARM', t0 + 3 * MIN, unique('ev')), cfg) },
        ...[3, 4].map((m) => flushAt(t0 + m * MIN + 30_000)),
        { at: t0 + 5 * MIN + 1_000, input: input(alarmEvent('OK', t0 + 5 * MIN, unique('ev')), cfg) },
        { at: t0 + 6 * MIN + 1_000, input: input(alarmEvent('ALARM', t0 + 6 * MIN, unique('ev')), cfg) },
        ...[6, 7, 8, 9, 10, 11, 12].map((m) => flushAt(t0 + m * MIN + 30_000)),
      ], env(table));
      expect(run.results.slice(0, 2).map((r) => r.result)).toEqual(['handled', 'ignored']);
      const flushes = run.results.filter((r) => r.result === 'flushed').map((r) => r.ceilings);
      expect(flushes).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 0]); // told at 11.5 (6 min + 1 s + 5 min)
      expect(mine(cfg)).toHaveLength(1);
    }, 180_000);
  });
});
