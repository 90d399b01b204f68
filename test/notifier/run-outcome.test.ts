import { withTaskFigures } from './support';
import {
  AgentReport, buildMessage, clip, escapeMrkdwn, judge, parseReportLine, rightSize, runDurationSeconds, runOutcomeRecord, TaskStateDetail,
} from '../../lib/notifier/run-outcome';
import { smallestFargateSize } from '../../lib/shared/fargate-sizes';

const cfg = {
  appContainer: 'app',
  namespace: 'N',
  clusterName: 'c',
  family: 'f',
  logGroupName: '/g',
  agentStreamPrefix: 'agent/fargate-monitor-agent',
  cpu: 256,
  memoryMiB: 512,
  headroomPercent: 20,
};
/** A REPORT; unless given, the task's figures equal the app's (an app without a hard limit, alone in the task). */
const report = (over: Partial<AgentReport> = {}): AgentReport => {
  const r = {
    type: 'REPORT' as const,
    taskArn: null,
    appContainer: 'app',
    appExitCode: 0,
    appRunningAtShutdown: false,
    memorySource: 'tmde' as const,
    durationSeconds: 1,
    maxMemoryUsedMiB: 100,
    memoryLimitMiB: 512,
    maxMemoryUtilizationPercent: 19.5,
    cpuAverageUtilizationPercent: 10,
    cpuMaxUtilizationPercent: 20,
    samples: 3,
    ...over,
  };
  return withTaskFigures(r);
};

test('the message stays within Slack\'s limits whatever the event carries', () => {
  const detail = {
    taskArn: 'arn:aws:ecs:eu-central-1:111111111111:task/c/abc',
    clusterArn: 'arn:aws:ecs:eu-central-1:111111111111:cluster/c',
    lastStatus: 'STOPPED',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'x'.repeat(10_000),
    containers: [{ name: 'app', exitCode: 1, reason: 'y'.repeat(5_000) },
      ...Array.from({ length: 200 }, (_, i) => ({ name: `sidecar-${i}-${'z'.repeat(50)}`, exitCode: 0 }))],
  };
  const m = buildMessage(detail, judge(detail, 'app'), { ...cfg, family: 'F'.repeat(300) }, report(), undefined);
  const blocks = m.attachments[0].blocks as any[];
  expect(blocks.length).toBeLessThanOrEqual(50);
  expect(blocks[0].text.text.length).toBeLessThanOrEqual(150);
  for (const b of blocks) {
    if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    if (b.fields) {
      expect(b.fields.length).toBeLessThanOrEqual(10);
      for (const f of b.fields) expect(f.text.length).toBeLessThanOrEqual(2000);
    }
    for (const e of b.elements ?? []) expect(e.text.length).toBeLessThanOrEqual(3000);
  }
  expect(m.text.length).toBeLessThanOrEqual(3000);
});

test('run time: startedAt → executionStoppedAt, else stoppedAt; undefined when never started; never negative', () => {
  expect(runDurationSeconds({ startedAt: '2026-01-01T00:00:00Z', executionStoppedAt: '2026-01-01T00:01:30Z', stoppedAt: '2026-01-01T00:05:00Z' })).toBe(90);
  expect(runDurationSeconds({ startedAt: '2026-01-01T00:00:00Z', stoppedAt: '2026-01-01T00:00:10Z' })).toBe(10);
  expect(runDurationSeconds({ stoppedAt: '2026-01-01T00:00:10Z' })).toBeUndefined();
  expect(runDurationSeconds({ startedAt: '2026-01-01T00:01:00Z', executionStoppedAt: '2026-01-01T00:00:00Z' })).toBe(0);
});

test('right-size: the cheapest valid Fargate size that holds the peaks with headroom', () => {
  expect(smallestFargateSize(0, 100)).toEqual({ cpu: 256, memoryMiB: 512 });
  expect(smallestFargateSize(300, 100)).toEqual({ cpu: 512, memoryMiB: 1024 });
  expect(smallestFargateSize(256, 3000)).toEqual({ cpu: 512, memoryMiB: 3072 });
  expect(smallestFargateSize(20_000, 100)).toBeUndefined();
  expect(rightSize(report({ cpuMaxUtilizationPercent: null }), cfg)).toBeUndefined();
  expect(rightSize(report({ maxMemoryUsedMiB: 470 }), cfg)).toBe('At its limit: the task\'s memory peaked at 92 % of its 512 MiB. With 20 % headroom it needs ' +
    '256 CPU units / 1024 MiB (now 256 CPU units / 512 MiB); memory drives the size: the task\'s peak of 470 MiB needs 564 MiB with the headroom.');
  // 5 % of 4 vCPU × 1.2 = 246 CPU units, 3000 MiB × 1.2 = 3600 MiB: 256 CPU allows at most 2048 MiB, so 512 / 4096
  expect(rightSize(report({ maxMemoryUsedMiB: 3000, memoryLimitMiB: 16384, cpuMaxUtilizationPercent: 5 }), { ...cfg, cpu: 4096, memoryMiB: 16384 }))
    .toBe('Right-size: 512 CPU units / 4096 MiB would hold the peaks (CPU 5 %, 3000 MiB) with 20 % headroom (now 4096 CPU units / 16384 MiB); ' +
      'memory drives the size: the task\'s peak of 3000 MiB needs 3600 MiB with the headroom.');
});

const ARN = 'arn:aws:ecs:eu-central-1:111111111111:task/c/abc';
const detailOf = (over: Partial<TaskStateDetail> = {}): TaskStateDetail => ({
  taskArn: ARN,
  clusterArn: 'arn:aws:ecs:eu-central-1:111111111111:cluster/c',
  lastStatus: 'STOPPED',
  stopCode: 'EssentialContainerExited',
  stoppedReason: 'Essential container in task exited',
  startedAt: '2026-01-01T00:00:00Z',
  executionStoppedAt: '2026-01-01T00:01:00Z',
  stoppedAt: '2026-01-01T00:01:30Z',
  containers: [{ name: 'app', exitCode: 0 }, { name: 'fargate-monitor-agent', exitCode: 0 }],
  ...over,
});
const allText = (m: object) => JSON.stringify(m);

describe('judge: a run completes only when the app ends on its own', () => {
  test.each([
    ['UserInitiated'], ['SpotInterruption'], ['TerminationNotice'], ['ServiceSchedulerInitiated'], ['InfrastructureHealth'],
  ])('stop code %s with app exit 0 (SIGTERM handled) is INTERRUPTED, not SUCCEEDED', (stopCode) => {
    const outcome = judge(detailOf({ stopCode }), 'app');
    expect(outcome.kind).toBe('INTERRUPTED');
    expect(outcome.summary).toContain(`(${stopCode}); the app then exited 0, but the run did not complete`);
  });

  test('an OOM wins over an interruption stop code and over exit 0; exit 0 on its own is SUCCEEDED', () => {
    const oomReason = 'OutOfMemoryError: Container killed due to memory usage';
    expect(judge(detailOf({ stopCode: 'UserInitiated', containers: [{ name: 'app', exitCode: 0, reason: oomReason }] }), 'app'))
      .toMatchObject({ kind: 'FAILED', oom: true });
    expect(judge(detailOf(), 'app').kind).toBe('SUCCEEDED');
    expect(judge(detailOf({ stopCode: undefined }), 'app').kind).toBe('SUCCEEDED'); // older events: no stop code
  });

  test('older events without stopCode: "Task failed to start" and no startedAt is FAILED_TO_START', () => {
    const old = detailOf({ stopCode: undefined, startedAt: undefined, stoppedReason: 'Task failed to start', containers: [{ name: 'app' }] });
    expect(judge(old, 'app')).toMatchObject({ kind: 'FAILED_TO_START', summary: 'The task failed to start: Task failed to start' });
    // With a startedAt the task ran: the reason alone does not make it a start failure.
    expect(judge({ ...old, startedAt: '2026-01-01T00:00:00Z' }, 'app').kind).toBe('FAILED');
  });
});

describe('the message', () => {
  test('a task that never started: no resources section, no links to log streams that cannot exist', () => {
    const detail = detailOf({ stopCode: 'TaskFailedToStart', startedAt: undefined, stoppedReason: 'CannotPullContainerError: x', containers: [{ name: 'app' }] });
    const m = buildMessage(detail, judge(detail, 'app'), { ...cfg, appStreamPrefix: 'app/app' }, undefined, undefined);
    const text = allText(m);
    expect(text).not.toContain('resources');
    expect(text).not.toContain('|App log>');
    expect(text).not.toContain('|Agent log>');
    expect(text).toContain('|Task abc>');
    // An older event: no stop code, no startedAt
    const old = detailOf({ stopCode: undefined, startedAt: undefined, stoppedReason: 'Task failed to start', containers: [{ name: 'app' }] });
    const oldText = allText(buildMessage(old, judge(old, 'app'), cfg, undefined, undefined));
    expect(oldText).toContain(':x: FAILED TO START: f');
    expect(oldText).not.toContain('has no exit code');
    expect(oldText).not.toContain('|Agent log>');
  });

  test('a run stopped with StopTask whose app exited 0 is Interrupted, not "Succeeded"', () => {
    const detail = detailOf({ stopCode: 'UserInitiated', stoppedReason: 'Task stopped by user' });
    const m = buildMessage(detail, judge(detail, 'app'), cfg, report({ appRunningAtShutdown: true }), undefined);
    expect((m.attachments[0].blocks[0] as any).text.text).toBe(':warning: Interrupted: f');
    expect(allText(m)).not.toContain('Succeeded');
  });

  test('"1 sample"; a missing REPORT always says why', () => {
    const detail = detailOf();
    expect(allText(buildMessage(detail, judge(detail, 'app'), cfg, report({ samples: 1 }), undefined))).toContain('(agent REPORT, 1 sample)');
    expect(allText(buildMessage(detail, judge(detail, 'app'), cfg, report({ samples: 2 }), undefined))).toContain('(agent REPORT, 2 samples)');
    const missing = allText(buildMessage(detail, judge(detail, 'app'), cfg, undefined, undefined));
    expect(missing).toMatch(/REPORT missing: \w/);
  });

  test('text from the event is escaped for mrkdwn: a StopTask reason can neither ping the channel nor make a link', () => {
    const reason = '<!channel> <https://example.com|Open the AWS console>';
    const detail = detailOf({
      stopCode: 'TaskFailedToStart',
      startedAt: undefined,
      stoppedReason: reason,
      containers: [{ name: 'app', reason: 'R&D <b>' }, { name: '<@U123>', exitCode: 0, reason: '<!here>' }],
    });
    const m = buildMessage(detail, judge(detail, 'app'), cfg, undefined, undefined);
    const text = allText(m);
    expect(text).not.toMatch(/<!channel>|<!here>|<@U123>|<https:\/\/example\.com/);
    expect(text).toContain('&lt;!channel&gt; &lt;https://example.com|Open the AWS console&gt;');
    expect(m.text).toContain('&lt;!channel&gt;'); // the notification text too
    expect(text).toContain('• &lt;@U123&gt;: exit 0 (&lt;!here&gt;)');
    // A started task: the app reason and the REPORT note are escaped as well
    const ran = detailOf({ stopCode: 'UserInitiated', stoppedReason: reason, containers: [{ name: 'app', exitCode: 143, reason: 'R&D <b>' }] });
    const ranText = allText(buildMessage(ran, judge(ran, 'app'), cfg, undefined, 'REPORT missing: <x>'));
    expect(ranText).toContain('App container reason: R&amp;D &lt;b&gt;');
    expect(ranText).toContain('REPORT missing: &lt;x&gt;');
    expect(ranText).not.toMatch(/<!channel>|<b>|<x>/);
  });

  test('clipping after escaping never cuts an entity', () => {
    expect(escapeMrkdwn('a & b < c > d')).toBe('a &amp; b &lt; c &gt; d');
    // The section is "*summary*\nStopped reason: " (52 characters) + the reason: the 3,000-character cut falls at every
    // position of the entities for some n.
    for (let n = 2930; n < 2960; n++) {
      const detail = detailOf({ stoppedReason: `${'x'.repeat(n)}<&>`.repeat(1) + '<'.repeat(2000) });
      const m = buildMessage(detail, judge(detail, 'app'), cfg, report(), undefined);
      for (const b of m.attachments[0].blocks as any[]) {
        const t: string = b.text?.text ?? '';
        expect(t.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
      }
      expect(m.text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
    expect(clip('ab&amp;cd', 5)).toBe('ab…');
    expect(clip('ab&amp;cd', 8)).toBe('ab&amp;…');
    expect(clip('abcdef', 4)).toBe('abc…');
  });

  test('a REPORT gives the message numbers only', () => {
    const line = 'REPORT {"type":"REPORT","taskArn":null,"maxMemoryUsedMiB":"<!channel>","memoryLimitMiB":512,"cpuMaxUtilizationPercent":20,' +
      '"cpuAverageUtilizationPercent":"<x>","samples":"1"}';
    const parsed = parseReportLine(line)!;
    expect(parsed).toMatchObject({ maxMemoryUsedMiB: null, cpuAverageUtilizationPercent: null, cpuMaxUtilizationPercent: 20, samples: 0 });
    const detail = detailOf();
    expect(allText(buildMessage(detail, judge(detail, 'app'), cfg, parsed, undefined))).not.toMatch(/<!channel>|<x>/);
    expect(parseReportLine('agent started')).toBeUndefined();
    expect(parseReportLine('{"type":"REPORT" broken')).toBeUndefined();
  });
});

describe('right-size line: which resource drives the suggestion', () => {
  test('CPU at 88 % of 512 CPU units doubles the task, and the line says CPU drives it', () => {
    expect(rightSize(report({ cpuMaxUtilizationPercent: 88, maxMemoryUsedMiB: 300, memoryLimitMiB: 1024 }), { ...cfg, cpu: 512, memoryMiB: 1024 }))
      .toBe('Right-size: 1024 CPU units / 2048 MiB would hold the peaks (CPU 88 %, 300 MiB) with 20 % headroom (now 512 CPU units / 1024 MiB); ' +
        'CPU drives the size: its peak of 451 CPU units needs 541 CPU units with the headroom.');
  });

  test('an OOM at 99 % of 8192 MiB on a 4096-unit task: the memory limit alone, memory drives it', () => {
    expect(rightSize(report({ cpuMaxUtilizationPercent: 10, maxMemoryUsedMiB: 8110, memoryLimitMiB: 8192 }), { ...cfg, cpu: 4096, memoryMiB: 8192 }))
      .toBe('At its limit: the task\'s memory peaked at 99 % of its 8192 MiB. With 20 % headroom it needs 2048 CPU units / 10240 MiB ' +
        '(now 4096 CPU units / 8192 MiB); memory drives the size: the task\'s peak of 8110 MiB needs 9732 MiB with the headroom.');
  });

  test('the smallest size holds both peaks: no driver named; nothing large enough: says which', () => {
    expect(rightSize(report({ cpuMaxUtilizationPercent: 10, maxMemoryUsedMiB: 100 }), { ...cfg, cpu: 1024, memoryMiB: 2048 }))
      .toBe('Right-size: 256 CPU units / 512 MiB would hold the peaks (CPU 10 %, 100 MiB) with 20 % headroom (now 1024 CPU units / 2048 MiB).');
    const huge = { ...cfg, cpu: 16384, memoryMiB: 32768 };
    expect(rightSize(report({ cpuMaxUtilizationPercent: 100, maxMemoryUsedMiB: 1000, memoryLimitMiB: 32768 }), huge))
      .toMatch(/it needs more than the largest Fargate size \(now 16384 CPU units \/ 32768 MiB\); CPU drives the size: its peak of 16384 CPU units needs 19661 CPU units/);
  });
});

describe('RUN_OUTCOME record', () => {
  const KEYS = ['type', 'version', 'family', 'clusterName', 'taskArn', 'taskId', 'outcome', 'oom', 'appExitCode', 'stopCode', 'summary',
    'startedAt', 'stoppedAt', 'durationSeconds', 'cpu', 'memoryMiB', 'peakMemoryMiB', 'memoryLimitMiB', 'peakMemoryPercent',
    'taskPeakMemoryMiB', 'taskPeakMemoryPercent', 'cpuAverageUtilizationPercent', 'cpuMaxUtilizationPercent', 'rightSize'];

  test('with a REPORT: every field, percent rounded to 0.1', () => {
    const detail = detailOf();
    const r = runOutcomeRecord(detail, judge(detail, 'app'), cfg, report({ maxMemoryUsedMiB: 100, memoryLimitMiB: 512 }));
    expect(Object.keys(r)).toEqual(KEYS);
    expect(r).toEqual({
      type: 'RUN_OUTCOME',
      version: 1,
      family: 'f',
      clusterName: 'c',
      taskArn: ARN,
      taskId: 'abc',
      outcome: 'SUCCEEDED',
      oom: false,
      appExitCode: 0,
      stopCode: 'EssentialContainerExited',
      summary: 'The app container "app" exited 0',
      startedAt: '2026-01-01T00:00:00Z',
      stoppedAt: '2026-01-01T00:01:30Z',
      durationSeconds: 60,
      cpu: 256,
      memoryMiB: 512,
      peakMemoryMiB: 100,
      memoryLimitMiB: 512,
      peakMemoryPercent: 19.5,
      taskPeakMemoryMiB: 100,
      taskPeakMemoryPercent: 19.5,
      cpuAverageUtilizationPercent: 10,
      cpuMaxUtilizationPercent: 20,
      rightSize: 'Right-sized: 256 CPU units / 512 MiB is the smallest Fargate size that holds the peaks with 20 % headroom.',
    });
  });

  test('never started or no REPORT: the figures are null, never absent', () => {
    const detail = detailOf({ stopCode: 'TaskFailedToStart', startedAt: undefined, executionStoppedAt: undefined, containers: [{ name: 'app' }] });
    const r = runOutcomeRecord(detail, judge(detail, 'app'), cfg, undefined);
    expect(Object.keys(r)).toEqual(KEYS);
    expect(r).toMatchObject({
      outcome: 'FAILED_TO_START',
      appExitCode: null,
      startedAt: null,
      durationSeconds: null,
      peakMemoryMiB: null,
      memoryLimitMiB: null,
      peakMemoryPercent: null,
      taskPeakMemoryMiB: null,
      taskPeakMemoryPercent: null,
      cpuAverageUtilizationPercent: null,
      cpuMaxUtilizationPercent: null,
      rightSize: null,
    });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // nothing undefined: JSON keeps every key
  });
});
