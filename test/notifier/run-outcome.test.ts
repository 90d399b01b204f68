import { AgentReport, buildMessage, judge, rightSize, runDurationSeconds } from '../../lib/notifier/run-outcome';
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
const report = (over: object = {}): AgentReport => ({
  type: 'REPORT' as const,
  taskArn: null,
  appContainer: 'app',
  appExitCode: 0,
  appRunningAtShutdown: false,
  memorySource: 'tmde',
  durationSeconds: 1,
  maxMemoryUsedMiB: 100,
  memoryLimitMiB: 512,
  maxMemoryUtilizationPercent: 19.5,
  cpuAverageUtilizationPercent: 10,
  cpuMaxUtilizationPercent: 20,
  samples: 3,
  ...over,
});

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
  expect(rightSize(report({ maxMemoryUsedMiB: 470 }), cfg)).toMatch(/^At its limit: memory peaked at 92 % of its limit of 256 CPU units \/ 512 MiB\. With 20 % headroom it needs 256 CPU units \/ 1024 MiB\.$/);
  // 5 % of 4 vCPU × 1.2 = 246 CPU units, 3000 MiB × 1.2 = 3600 MiB: 256 CPU allows at most 2048 MiB, so 512 / 4096
  expect(rightSize(report({ maxMemoryUsedMiB: 3000, memoryLimitMiB: 16384, cpuMaxUtilizationPercent: 5 }), { ...cfg, cpu: 4096, memoryMiB: 16384 }))
    .toBe('Right-size: 512 CPU units / 4096 MiB would hold the peaks (CPU 5 %, 3000 MiB) with 20 % headroom (now 4096 CPU units / 16384 MiB).');
});
