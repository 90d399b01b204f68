/**
 * The pure formulas against EVERY recorded TMDE payload in test/fixtures/task-metadata. Expected numbers are
 * written out from the raw fields (arithmetic in comments), never obtained by calling the code under test.
 */
import { fixtureNames, loadFixture } from './support/payloads';
import {
  clusterName, cpuCores, cpuCoresDocker, cpuCoresWithinSample, cpuPercentOfTask, findAppContainer, isStatsEntry,
  memoryWorkingSetBytes, parseTimestampMs, regionFromArn, statsMemoryLimitBytes,
} from '../../agent/src/formulas';
import { Sampler } from '../../agent/src/sampler';
import type { ContainerStats, Datum } from '../../agent/src/types';

const MiB = 1048576;

function cores(s: ContainerStats, prev?: ContainerStats): number {
  const r = cpuCores(s, prev);
  if (r.kind !== 'ok') throw new Error(`expected cores, got ${r.kind}`);
  return r.cores;
}

function find(datums: Datum[], name: string, container?: string): Datum | undefined {
  return datums.find((d) => d.name === name && (container === undefined
    ? !d.dimensions.some(([k]) => k === 'ContainerName')
    : d.dimensions.some(([k, v]) => k === 'ContainerName' && v === container)));
}

test('every fixture file is covered by a test below', () => {
  expect(fixtureNames()).toEqual([
    'datadog-fargate-v2-task-stats-zero-system-delta.json',
    'datadog-fargate-v4-task-metadata-2containers.json',
    'datadog-fargate-v4-task-stats-cgroupv1-2containers.json',
    'datadog-fargate-windows-task-stats.json',
    'ecs-agent-unit-test-container-stats-minimal-no-precpu-no-system.json',
    'ecs-exporter-ec2-v4-task-stats-cgroupv2-empty-entry.json',
    'ecs-exporter-fargate-v4-task-metadata-3containers-one-stopped.json',
    'ecs-exporter-fargate-v4-task-stats-cgroupv1-null-entry.json',
    'ecs-exporter-managed-instances-v4-task-stats-cgroupv2-null-entry.json',
    'otel-ec2-v4-task-stats-3containers-idle-cgroupv1.json',
  ]);
});

describe('timestamps', () => {
  test('nanosecond RFC 3339 keeps sub-millisecond precision', () => {
    // 2025-04-28T03:30:22.254837493Z − 2025-04-28T03:30:12.255515507Z = 9.999321986 s
    const a = parseTimestampMs('2025-04-28T03:30:22.254837493Z')!;
    const b = parseTimestampMs('2025-04-28T03:30:12.255515507Z')!;
    expect(a - b).toBeCloseTo(9999.321986, 3);
    expect(parseTimestampMs('2021-10-29T10:25:20.5933849Z')! - parseTimestampMs('2021-10-29T10:25:10.6403318Z')!).toBeCloseTo(9953.0531, 3);
  });
  test('"no previous read" markers and garbage are undefined', () => {
    expect(parseTimestampMs('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(parseTimestampMs('1969-12-31T23:59:59.99999999Z')).toBeUndefined();
    expect(parseTimestampMs('')).toBeUndefined();
    expect(parseTimestampMs('yesterday')).toBeUndefined();
    expect(parseTimestampMs(undefined)).toBeUndefined();
    expect(parseTimestampMs(12)).toBeUndefined();
  });
});

describe('ecs_exporter Fargate (cgroup v1, null entry, 0.25 vCPU, online_cpus 2) + its /task', () => {
  const stats = loadFixture('ecs-exporter-fargate-v4-task-stats-cgroupv1-null-entry.json');
  const task = loadFixture('ecs-exporter-fargate-v4-task-metadata-3containers-one-stopped.json');
  const EXP = '04d558ed038d41bb9de115aab248e4f9-4159844948';
  const MAIN = '04d558ed038d41bb9de115aab248e4f9-3935363592';
  const STOPPED = '04d558ed038d41bb9de115aab248e4f9-1585788040';

  test('null entry is not a stats entry', () => {
    expect(stats[STOPPED]).toBeNull();
    expect(isStatsEntry(stats[STOPPED])).toBe(false);
    expect(isStatsEntry(stats[EXP])).toBe(true);
  });

  test('CPU: Δtotal_usage over read − preread, as % of the task vCPU (not online_cpus)', () => {
    // ecs-exporter: 2,445,096,927 − 2,405,275,582 = 39,821,345 ns over 9.999321986 s
    const c = cores(stats[EXP]);
    expect(c).toBeCloseTo(39_821_345 / 9_999_321_986, 12); // 0.0039824 cores
    expect(cpuPercentOfTask(c, task.Limits.CPU)).toBeCloseTo((100 * 39_821_345 / 9_999_321_986) / 0.25, 9); // 1.5929 %
    // The docker formula would say Δcpu/Δsystem × online_cpus = 39,821,345 / 19,940,000,000 × 2 = 0.003994 cores
    // ("% of one host CPU" = 0.40 %): a different number, used only as a fallback.
    const d = cpuCoresDocker(stats[EXP]);
    expect(d.kind === 'ok' && d.cores).toBeCloseTo((39_821_345 / 19_940_000_000) * 2, 12);
    // main is idle: Δ = 609,984,441 − 609,984,441 = 0
    expect(cores(stats[MAIN])).toBe(0);
  });

  test('memory: usage − total_inactive_file (v1); 2^63 limit means no container limit', () => {
    expect(memoryWorkingSetBytes(stats[EXP].memory_stats)).toBe(40_611_840 - 946_176); // 39,665,664
    expect(memoryWorkingSetBytes(stats[MAIN].memory_stats)).toBe(24_264_704 - 270_336); // 23,994,368
    expect(statsMemoryLimitBytes(stats[EXP].memory_stats)).toBe(134_217_728);
    expect(stats[MAIN].memory_stats.limit).toBeGreaterThan(2 ** 62);
    expect(statsMemoryLimitBytes(stats[MAIN].memory_stats)).toBeUndefined();
  });

  test('/task: cluster name, app container, dimensions', () => {
    expect(clusterName(task.Cluster)).toBe('prom-ecs-exporter-fixtures');
    expect(regionFromArn(task.TaskARN)).toBe('us-east-1');
    expect(findAppContainer(task, undefined, 'ecs-exporter')?.Name).toBe('main');
    expect(findAppContainer(task, undefined, undefined)?.Name).toBe('ecs-exporter');
    expect(findAppContainer(task, 'nonessential', 'ecs-exporter')?.ExitCode).toBe(0);
  });

  test('sampler: every datum, with dimensions and units; nothing for the stopped container', () => {
    const s = new Sampler({ runDuration: true });
    const out = s.ingest(task, stats, 'ecs-exporter', Date.now())!;
    expect(out).toBeDefined();
    const T = [['ClusterName', 'prom-ecs-exporter-fixtures'], ['TaskDefinitionFamily', 'ecs-exporter-fixtures-fargate']];
    // Task CPU: (39,821,345 / 9.999321986e9 + 0) cores / 0.25 vCPU × 100
    const taskCpu = find(out.datums, 'CPUUtilization')!;
    expect(taskCpu.value).toBeCloseTo((100 * 39_821_345 / 9_999_321_986) / 0.25, 9);
    expect(taskCpu.unit).toBe('Percent');
    expect(taskCpu.dimensions).toEqual(T);
    // Task memory: 39,665,664 + 23,994,368 = 63,660,032 B = 60.711 MiB; of 512 MiB = 11.858 %
    expect(find(out.datums, 'MemoryUtilized')!.value).toBeCloseTo(63_660_032 / MiB, 9);
    expect(find(out.datums, 'MemoryUtilized')!.unit).toBe('Megabytes');
    expect(find(out.datums, 'MemoryUtilization')!.value).toBeCloseTo((100 * 63_660_032 / MiB) / 512, 9);
    // Container memory %: ecs-exporter against its own 128 MiB; main (no limit) against the task's 512 MiB
    expect(find(out.datums, 'MemoryUtilization', 'ecs-exporter')!.value).toBeCloseTo((100 * 39_665_664 / MiB) / 128, 9); // 29.55 %
    expect(find(out.datums, 'MemoryUtilization', 'main')!.value).toBeCloseTo((100 * 23_994_368 / MiB) / 512, 9); // 4.47 %
    expect(find(out.datums, 'CPUUtilization', 'main')!.value).toBe(0);
    expect(find(out.datums, 'CPUUtilization', 'ecs-exporter')!.dimensions).toEqual([...T, ['ContainerName', 'ecs-exporter']]);
    // RunDuration: main StartedAt 02:04:22.279743113 → latest read 03:30:22.287279291 = 5160.007536178 s
    const rd = find(out.datums, 'RunDuration')!;
    expect(rd.value).toBeCloseTo(5160.007536178, 4);
    expect(rd.unit).toBe('Seconds');
    expect(rd.timestampMs).toBe(Date.parse('2025-04-28T03:30:22.287Z') + 0.279291);
    expect(out.datums.filter((d) => d.dimensions.some(([, v]) => v === 'nonessential'))).toEqual([]);
    expect(out.datums).toHaveLength(4 + 3 + 3);
    expect(out.datums.every((d) => Number.isFinite(d.value))).toBe(true);
    // The same payload again (same `read`) is a repeated sample: nothing.
    expect(s.ingest(task, stats, 'ecs-exporter', Date.now())).toBeUndefined();
  });

  test('ServiceName replaces TaskDefinitionFamily; never TaskId', () => {
    const out = new Sampler({ runDuration: false, serviceName: 'web' }).ingest(task, stats, 'ecs-exporter', Date.now())!;
    expect(find(out.datums, 'CPUUtilization')!.dimensions).toEqual([['ClusterName', 'prom-ecs-exporter-fixtures'], ['ServiceName', 'web']]);
    expect(find(out.datums, 'RunDuration')).toBeUndefined();
    expect(out.datums.some((d) => d.dimensions.some(([k]) => k === 'TaskId' || k === 'TaskDefinitionFamily'))).toBe(false);
  });

  test('counter reset: negative Δ re-baselines and publishes no CPU for that pair', () => {
    const reset = JSON.parse(JSON.stringify(stats));
    reset[EXP].cpu_stats.cpu_usage.total_usage = 1_000_000; // restarted container: counter below precpu 2,405,275,582
    expect(cpuCores(reset[EXP]).kind).toBe('reset');
    const s = new Sampler({ runDuration: false });
    const out = s.ingest(task, reset, 'ecs-exporter', Date.now())!;
    expect(out.resets).toEqual(['ecs-exporter']);
    expect(find(out.datums, 'CPUUtilization', 'ecs-exporter')).toBeUndefined();
    expect(find(out.datums, 'CPUUtilization')).toBeUndefined(); // task level would under-count: skipped
    expect(find(out.datums, 'CPUUtilization', 'main')!.value).toBe(0);
    expect(find(out.datums, 'MemoryUtilized', 'ecs-exporter')!.value).toBeCloseTo(39_665_664 / MiB, 9);
    // Next sample, 10 s later, counting from the new baseline: 1,000,000 → 26,000,000 ns = 0.0025 cores = 1 %
    const next = JSON.parse(JSON.stringify(reset));
    for (const id of [EXP, MAIN]) { next[id].preread = next[id].read; next[id].read = next[id].read.replace('03:30:22', '03:30:32'); }
    next[EXP].precpu_stats.cpu_usage.total_usage = 1_000_000;
    next[EXP].cpu_stats.cpu_usage.total_usage = 26_000_000;
    next[MAIN].precpu_stats.cpu_usage.total_usage = next[MAIN].cpu_stats.cpu_usage.total_usage;
    const out2 = s.ingest(task, next, 'ecs-exporter', Date.now())!;
    expect(find(out2.datums, 'CPUUtilization', 'ecs-exporter')!.value).toBeCloseTo(1, 9);
    expect(find(out2.datums, 'CPUUtilization')!.value).toBeCloseTo(1, 9);
  });

  test('first read (synthetic, from this fixture): precpu all zero and preread 0001-01-01 → no CPU yet, memory yes', () => {
    const first = JSON.parse(JSON.stringify(stats));
    for (const id of [EXP, MAIN]) {
      first[id].preread = '0001-01-01T00:00:00Z';
      first[id].precpu_stats = { cpu_usage: { total_usage: 0 }, system_cpu_usage: 0, online_cpus: 0, throttling_data: {} };
    }
    expect(cpuCores(first[EXP]).kind).toBe('none');
    const s = new Sampler({ runDuration: true });
    const out = s.ingest(task, first, 'ecs-exporter', Date.now())!;
    expect(out.datums.filter((d) => d.name === 'CPUUtilization')).toEqual([]);
    expect(find(out.datums, 'MemoryUtilized')!.value).toBeCloseTo(63_660_032 / MiB, 9);
    // The next distinct read uses our own previous entry (history): +50,000,000 ns in 10 s = 0.005 cores = 2 %
    const next = JSON.parse(JSON.stringify(first));
    for (const id of [EXP, MAIN]) next[id].read = next[id].read.replace('03:30:22', '03:30:32');
    next[EXP].cpu_stats.cpu_usage.total_usage += 50_000_000;
    const out2 = s.ingest(task, next, 'ecs-exporter', Date.now())!;
    expect(find(out2.datums, 'CPUUtilization', 'ecs-exporter')!.value).toBeCloseTo(2, 9);
  });

  test('RunDuration of an app that has exited (the fixture\'s STOPPED `nonessential`): one datum at FinishedAt, then none', () => {
    // nonessential: StartedAt 02:04:22.240922754, FinishedAt 02:04:22.270452337, ExitCode 0; its stats entry is null
    // while the other containers' samples go on (read 03:30:22.28…): the old code published StartedAt → that read.
    const s = new Sampler({ runDuration: true, appContainer: 'nonessential' });
    const out = s.ingest(task, stats, 'ecs-exporter', Date.now())!;
    const rd = out.datums.filter((d) => d.name === 'RunDuration');
    expect(rd).toHaveLength(1);
    expect(rd[0].value).toBeCloseTo(0.029529583, 6); // epoch-ms doubles keep ~0.1 µs
    expect(rd[0].timestampMs).toBe(Date.parse('2025-04-28T02:04:22.270Z') + 0.452337);
    expect(out.task.runDurationSeconds).toBeCloseTo(0.029529583, 6);
    // The next distinct sample (10 s later) carries no RunDuration at all.
    const next = JSON.parse(JSON.stringify(stats));
    for (const id of [EXP, MAIN]) next[id].read = next[id].read.replace('03:30:22', '03:30:32');
    const out2 = s.ingest(task, next, 'ecs-exporter', Date.now())!;
    expect(out2.datums.filter((d) => d.name === 'RunDuration')).toEqual([]);
    expect(out2.datums.length).toBeGreaterThan(0);
  });

  test('RunDuration while the app runs, then after it exits (synthetic /task from the fixture): capped, not growing', () => {
    const s = new Sampler({ runDuration: true });
    // Running: main StartedAt 02:04:22.279743113 → main's read 03:30:22.287279291 = 5160.007536178 s
    expect(find(s.ingest(task, stats, 'ecs-exporter', Date.now())!.datums, 'RunDuration')!.value).toBeCloseTo(5160.007536178, 6);
    // 10 s later main's stats entry is null but /task has not caught up yet (still RUNNING): end unknown, no datum.
    const gone = JSON.parse(JSON.stringify(stats));
    gone[EXP].read = gone[EXP].read.replace('03:30:22', '03:30:32');
    gone[MAIN] = null;
    const out1 = s.ingest(task, gone, 'ecs-exporter', Date.now())!;
    expect(out1.datums.filter((d) => d.name === 'RunDuration')).toEqual([]);
    // /task now says STOPPED with FinishedAt 03:30:25.5 (ExitCode 1): one datum of 5163.220256887 s at FinishedAt.
    const stopped = JSON.parse(JSON.stringify(task));
    const m = stopped.Containers.find((c: any) => c.Name === 'main');
    Object.assign(m, { KnownStatus: 'STOPPED', ExitCode: 1, FinishedAt: '2025-04-28T03:30:25.500000000Z' });
    const later = JSON.parse(JSON.stringify(gone));
    later[EXP].read = later[EXP].read.replace('03:30:32', '03:30:42');
    const out2 = s.ingest(stopped, later, 'ecs-exporter', Date.now())!;
    const rd = out2.datums.filter((d) => d.name === 'RunDuration');
    expect(rd).toHaveLength(1);
    expect(rd[0].value).toBeCloseTo(5163.220256887, 6);
    expect(rd[0].timestampMs).toBe(Date.parse('2025-04-28T03:30:25.500Z'));
    // And never again, however long the agent keeps sampling.
    for (const t of ['03:30:52', '03:31:02', '03:59:02']) {
      const more = JSON.parse(JSON.stringify(later));
      more[EXP].read = more[EXP].read.replace('03:30:42', t);
      expect(s.ingest(stopped, more, 'ecs-exporter', Date.now())!.datums.filter((d) => d.name === 'RunDuration')).toEqual([]);
    }
    // STOPPED without FinishedAt: no datum (the end is unknown).
    const noEnd = JSON.parse(JSON.stringify(task));
    Object.assign(noEnd.Containers.find((c: any) => c.Name === 'main'), { KnownStatus: 'STOPPED' });
    expect(new Sampler({ runDuration: true }).ingest(noEnd, gone, 'ecs-exporter', Date.now())!.datums.filter((d) => d.name === 'RunDuration')).toEqual([]);
  });

  test('a container listed in /task but missing from stats (first second) is skipped without NaN', () => {
    const partial = { [EXP]: stats[EXP] };
    const out = new Sampler({ runDuration: true }).ingest(task, partial, 'ecs-exporter', Date.now())!;
    expect(out.datums.filter((d) => d.dimensions.some(([, v]) => v === 'main'))).toEqual([]);
    expect(out.datums.every((d) => Number.isFinite(d.value))).toBe(true);
    expect(find(out.datums, 'MemoryUtilized')!.value).toBeCloseTo(39_665_664 / MiB, 9);
  });
});

describe('ecs_exporter EC2 (cgroup v2, {} entry, 1 s windows)', () => {
  const stats = loadFixture('ecs-exporter-ec2-v4-task-stats-cgroupv2-empty-entry.json');
  const ids = Object.keys(stats);
  const a = ids.find((k) => k.startsWith('01cf'))!;
  const b = ids.find((k) => k.startsWith('6b80'))!;
  const empty = ids.find((k) => k.startsWith('213e'))!;
  test('{} is not a stats entry', () => {
    expect(stats[empty]).toEqual({});
    expect(isStatsEntry(stats[empty])).toBe(false);
  });
  test('CPU over ~1 s windows', () => {
    // 331,125,000 − 325,963,000 = 5,162,000 ns over 07.856950259 − 06.853724878 = 1.003225381 s
    expect(cores(stats[a])).toBeCloseTo(5_162_000 / 1_003_225_381, 12);
    expect(cores(stats[b])).toBe(0); // 566,060,000 − 566,060,000
  });
  test('memory: usage − inactive_file (v2, no cache field)', () => {
    expect(stats[a].memory_stats.stats.cache).toBeUndefined();
    expect(memoryWorkingSetBytes(stats[a].memory_stats)).toBe(65_249_280 - 17_641_472); // 47,607,808
    expect(memoryWorkingSetBytes(stats[b].memory_stats)).toBe(60_981_248 - 11_046_912); // 49,934,336
  });
  test('sampler with a synthetic /task (EC2 task, no task-level limits): container metrics only where computable', () => {
    const task = {
      Cluster: 'ec2-cluster',
      Family: 'fam',
      Containers: [{ DockerId: a, Name: 'a', Limits: { Memory: 256 } }, { DockerId: b, Name: 'b' }, { DockerId: empty, Name: 'gone' }],
    };
    const out = new Sampler({ runDuration: true }).ingest(task, stats, undefined, Date.now())!;
    // No task Limits.CPU → no CPU % at all; memory % only for `a` (own 256 MiB limit): 47,607,808 B / 256 MiB
    expect(out.datums.filter((d) => d.name === 'CPUUtilization')).toEqual([]);
    expect(find(out.datums, 'MemoryUtilization', 'a')!.value).toBeCloseTo((100 * 47_607_808 / MiB) / 256, 9);
    expect(find(out.datums, 'MemoryUtilization', 'b')).toBeUndefined();
    expect(find(out.datums, 'MemoryUtilized')!.value).toBeCloseTo((47_607_808 + 49_934_336) / MiB, 9);
    expect(find(out.datums, 'RunDuration')).toBeUndefined(); // no StartedAt
    expect(out.datums.some((d) => d.dimensions.some(([, v]) => v === 'gone'))).toBe(false);
  });
});

describe('Managed Instances (cgroup v2, null entry, container at its own limit)', () => {
  const stats = loadFixture('ecs-exporter-managed-instances-v4-task-stats-cgroupv2-null-entry.json');
  const main = Object.values<any>(stats).find((v) => v?.name === 'main');
  const exp = Object.values<any>(stats).find((v) => v?.name === 'ecs-exporter');
  test('one entry is null', () => {
    expect(Object.values(stats).filter((v) => v === null)).toHaveLength(1);
  });
  test('CPU', () => {
    // main: 1,210,199,000 − 1,160,858,000 = 49,341,000 ns over 12.815113445 − 02.814678343 = 10.000435102 s
    expect(cores(main)).toBeCloseTo(49_341_000 / 10_000_435_102, 12);
    // ecs-exporter: 148,526,000 − 147,973,000 = 553,000 ns over 10.000469275 s
    expect(cores(exp)).toBeCloseTo(553_000 / 10_000_469_275, 12);
  });
  test('memory subtracts inactive_file: 99,540,992 − 43,839,488 = 55,701,504 B (55.7 MB), not the raw 99.5 MB', () => {
    expect(memoryWorkingSetBytes(main.memory_stats)).toBe(55_701_504);
    expect(memoryWorkingSetBytes(exp.memory_stats)).toBe(38_309_888 - 18_046_976);
    expect(statsMemoryLimitBytes(main.memory_stats)).toBe(100_663_296); // 96 MiB container limit
  });
});

describe('Datadog Fargate v4 (cgroup v1, 1 vCPU task, online_cpus 2) + its /task', () => {
  const stats = loadFixture('datadog-fargate-v4-task-stats-cgroupv1-2containers.json');
  const task = loadFixture('datadog-fargate-v4-task-metadata-2containers.json');
  const dd = Object.entries<any>(stats).find(([, v]) => v.name === 'dd-agent')!;
  const ping = Object.entries<any>(stats).find(([, v]) => v.name === 'apmtest-ping')!;
  test('/task', () => {
    expect(clusterName(task.Cluster)).toBe('akira-fargate-check-cluster');
    expect(task.Limits).toEqual({ CPU: 1, Memory: 3072 });
    expect(findAppContainer(task, undefined, 'dd-agent')?.Name).toBe('apmtest-ping');
  });
  test('CPU and memory per container and for the task', () => {
    // dd-agent: 4,817,594,472 − 4,731,035,320 = 86,559,152 ns over 45.077342978 − 35.076984286 = 10.000358692 s
    // apmtest-ping: 977,249,587 − 970,577,025 = 6,672,562 ns over 44.895193503 − 34.895391778 = 9.999801725 s
    const cd = 86_559_152 / 10_000_358_692;
    const cp = 6_672_562 / 9_999_801_725;
    expect(cores(dd[1])).toBeCloseTo(cd, 12);
    expect(cores(ping[1])).toBeCloseTo(cp, 12);
    // memory: 160,886,784 − 3,919,872 = 156,966,912; 34,865,152 − 0 = 34,865,152
    expect(memoryWorkingSetBytes(dd[1].memory_stats)).toBe(156_966_912);
    expect(memoryWorkingSetBytes(ping[1].memory_stats)).toBe(34_865_152);
    const out = new Sampler({ runDuration: true }).ingest(task, stats, 'dd-agent', Date.now())!;
    expect(find(out.datums, 'CPUUtilization')!.value).toBeCloseTo(100 * (cd + cp) / 1, 9); // ≈ 0.932 %
    expect(find(out.datums, 'CPUUtilization', 'dd-agent')!.value).toBeCloseTo(100 * cd, 9);
    expect(find(out.datums, 'MemoryUtilization')!.value).toBeCloseTo((100 * (156_966_912 + 34_865_152) / MiB) / 3072, 9);
    // no container memory limit in /task → against the task's 3072 MiB (the edited stats limits are ignored)
    expect(find(out.datums, 'MemoryUtilization', 'dd-agent')!.value).toBeCloseTo((100 * 156_966_912 / MiB) / 3072, 9);
    // RunDuration: apmtest-ping StartedAt 01:13:34.891627424 → its own read 01:19:44.895193503 = 370.003566079 s
    // (not the later read of dd-agent, 01:19:45.077342978)
    expect(find(out.datums, 'RunDuration')!.value).toBeCloseTo(370.003566079, 6);
  });
});

describe('Datadog Windows stats (no system_cpu_usage / online_cpus, privateworkingset)', () => {
  const stats = loadFixture('datadog-fargate-windows-task-stats.json');
  const e = Object.values<any>(stats)[0];
  test('CPU from read − preread; the docker formula is not applicable', () => {
    // 17,031,250,000 − 15,828,125,000 = 1,203,125,000 (taken as ns) over 20.5933849 − 10.6403318 = 9.9530531 s
    expect(cores(e)).toBeCloseTo(1_203_125_000 / 9_953_053_100, 9); // 0.1209 cores
    expect(cpuCoresDocker(e).kind).toBe('none');
  });
  test('memory is privateworkingset, as docker stats does on Windows', () => {
    expect(memoryWorkingSetBytes(e.memory_stats)).toBe(140_673_024);
    expect(statsMemoryLimitBytes(e.memory_stats)).toBeUndefined();
  });
  test('"None" blkio strings do not matter', () => {
    const out = new Sampler({ runDuration: false }).ingest({ Limits: { CPU: 1, Memory: 1024 }, Containers: [{ DockerId: Object.keys(stats)[0], Name: 'win' }] }, stats, undefined, 0)!;
    expect(find(out.datums, 'CPUUtilization', 'win')!.value).toBeCloseTo(100 * 1_203_125_000 / 9_953_053_100, 6);
    expect(out.datums.every((d) => Number.isFinite(d.value))).toBe(true);
  });
});

describe('Datadog Fargate v2 (zero system delta, percpu 15 ≠ online_cpus 4, no precpu online_cpus)', () => {
  const stats = loadFixture('datadog-fargate-v2-task-stats-zero-system-delta.json');
  const [first, second, third] = Object.keys(stats).sort();
  test('zero Δsystem: the read-based formula still works, the docker formula declines (no division by zero)', () => {
    // 22,386,676 − 22,386,675 = 1 ns over 38.501550969 − 37.501577422 = 0.999973547 s
    expect(stats[first].cpu_stats.system_cpu_usage - stats[first].precpu_stats.system_cpu_usage).toBe(0);
    expect(cores(stats[first])).toBeCloseTo(1 / 999_973_547, 15);
    expect(cpuCoresDocker(stats[first]).kind).toBe('none');
  });
  test('docker fallback uses online_cpus (4), never len(percpu_usage) (15)', () => {
    expect(stats[second].cpu_stats.cpu_usage.percpu_usage).toHaveLength(15);
    // 34,722,128,652 − 34,721,570,779 = 557,873 ns; Δsystem 60,519,620,000,000 − 60,518,620,000,000 = 1e9; × 4
    const d = cpuCoresDocker(stats[second]);
    expect(d.kind === 'ok' && d.cores).toBeCloseTo((557_873 / 1e9) * 4, 12);
    // Without read/preread, cpuCores falls back to exactly that.
    const noRead = { ...stats[second], read: undefined, preread: undefined };
    expect(cores(noRead)).toBeCloseTo((557_873 / 1e9) * 4, 12);
    // With them, the read-based formula: 557,873 ns over 38.507160628 − 37.507043806 = 1.000116822 s
    expect(cores(stats[second])).toBeCloseTo(557_873 / 1_000_116_822, 12);
    // third: 371,201,388,381 − 371,199,948,667 = 1,439,714 ns over 38.512541896 − 37.512194702 = 1.000347194 s
    expect(cores(stats[third])).toBeCloseTo(1_439_714 / 1_000_347_194, 12);
  });
  test('memory (v1) incl. the container at its limit; 2^63 hierarchical limit is no limit', () => {
    expect(memoryWorkingSetBytes(stats[first].memory_stats)).toBe(1_110_016 - 786_432); // 323,584
    expect(memoryWorkingSetBytes(stats[second].memory_stats)).toBe(7_901_184 - 4_059_136); // 3,842,048
    expect(memoryWorkingSetBytes(stats[third].memory_stats)).toBe(253_894_656 - 22_790_144); // 231,104,512
    expect(statsMemoryLimitBytes(stats[third].memory_stats)).toBe(268_435_456);
    expect(statsMemoryLimitBytes({ limit: stats[first].memory_stats.stats.hierarchical_memory_limit })).toBeUndefined();
  });
});

describe('ecs-agent minimal stats (no read/preread, no precpu, no system_cpu_usage)', () => {
  const s = loadFixture('ecs-agent-unit-test-container-stats-minimal-no-precpu-no-system.json');
  test('no CPU can be computed, and nothing is NaN', () => {
    expect(cpuCoresWithinSample(s).kind).toBe('none');
    expect(cpuCoresDocker(s).kind).toBe('none');
    expect(cpuCores(s).kind).toBe('none');
  });
  test('memory: no inactive_file in stats → usage as is (30 B)', () => {
    expect(memoryWorkingSetBytes(s.memory_stats)).toBe(30);
  });
  test('sampler: timestamps fall back to the poll time; an unchanged entry is not a new sample', () => {
    const task = { Limits: { CPU: 0.5, Memory: 512 }, Containers: [{ DockerId: 'x', Name: 'x' }] };
    const sampler = new Sampler({ runDuration: true });
    const out = sampler.ingest(task, { x: s }, undefined, 1_700_000_000_000)!;
    expect(out.datums.map((d) => d.name).sort()).toEqual(['MemoryUtilization', 'MemoryUtilization', 'MemoryUtilized', 'MemoryUtilized']);
    expect(out.datums.every((d) => d.timestampMs === 1_700_000_000_000)).toBe(true);
    expect(find(out.datums, 'MemoryUtilized')!.value).toBe(30 / MiB);
    expect(sampler.ingest(task, { x: s }, undefined, 1_700_000_001_000)).toBeUndefined();
  });
});

describe('OpenTelemetry EC2 (idle, unaligned reads across containers)', () => {
  const stats = loadFixture('otel-ec2-v4-task-stats-3containers-idle-cgroupv1.json');
  test('idle containers are 0 %, not NaN, and the task timestamp is the latest read', () => {
    for (const v of Object.values<any>(stats)) expect(cores(v)).toBe(0);
    const ids = Object.keys(stats);
    const task = { Limits: { CPU: 1, Memory: 1024 }, Containers: ids.map((id, i) => ({ DockerId: id, Name: `n${i}` })) };
    const out = new Sampler({ runDuration: false }).ingest(task, stats, undefined, 0)!;
    expect(find(out.datums, 'CPUUtilization')!.value).toBe(0);
    // reads …36.391793715, …34.387609577, …31.383361599: the latest is 06:47:36.391793715
    expect(find(out.datums, 'CPUUtilization')!.timestampMs).toBeCloseTo(Date.parse('2020-07-31T06:47:36.391Z') + 0.793715, 6);
    // memory: (2,658,304 − 12,288) + (2,568,192 − 12,288) + (3,305,472 − 12,288) = 8,495,104 B
    expect(find(out.datums, 'MemoryUtilized')!.value).toBeCloseTo(8_495_104 / MiB, 9);
  });
});

describe('garbage never becomes NaN or Infinity', () => {
  test('odd values', () => {
    expect(memoryWorkingSetBytes({ usage: NaN })).toBeUndefined();
    expect(memoryWorkingSetBytes({ usage: 100, stats: { inactive_file: 500 } })).toBe(100); // not subtracted: larger than usage
    expect(memoryWorkingSetBytes(undefined)).toBeUndefined();
    expect(cpuPercentOfTask(1, 0)).toBeUndefined();
    expect(cpuPercentOfTask(1, undefined)).toBeUndefined();
    const weird: any = { read: '2025-01-01T00:00:10Z', preread: '2025-01-01T00:00:10Z', cpu_stats: { cpu_usage: { total_usage: 10 } }, precpu_stats: { cpu_usage: { total_usage: 5 } } };
    expect(cpuCores(weird).kind).toBe('none'); // zero-length window
    const s = new Sampler({ runDuration: true });
    const out = s.ingest({ Limits: { CPU: 0, Memory: 0 }, Containers: [{ DockerId: 'a', Name: 'a', StartedAt: 'never' }] },
      { a: { ...weird, memory_stats: { usage: 'lots' } } } as any, undefined, 0);
    expect(out?.datums ?? []).toEqual([]);
    expect(s.ingest(undefined, null as any, undefined, 0)).toBeUndefined();
    expect(s.ingest({ Containers: 'nope' } as any, {}, undefined, 0)).toBeUndefined();
  });
  test('every fixture through the sampler yields only finite datums', () => {
    for (const name of fixtureNames()) {
      const payload = loadFixture(name);
      if (payload.Containers) continue; // /task payloads
      const stats = payload.cpu_stats ? { only: payload } : payload;
      const task = { Limits: { CPU: 0.25, Memory: 512 }, Containers: Object.keys(stats).map((id) => ({ DockerId: id, Name: id.slice(0, 6), StartedAt: '2017-01-01T00:00:00Z' })) };
      const out = new Sampler({ runDuration: true }).ingest(task, stats, undefined, Date.now());
      expect(out).toBeDefined();
      for (const d of out!.datums) {
        expect(Number.isFinite(d.value)).toBe(true);
        expect(Number.isFinite(d.timestampMs)).toBe(true);
      }
    }
  });
});
