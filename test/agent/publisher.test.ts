/** The PutMetricData publisher in-process, with a recording client: batching, limits, bound, conversion. */
import * as fs from 'node:fs';
import { BUNDLE, ensureBundle, SDK_BUNDLE } from './support/agent-process';
import { setLogWriter } from '../../agent/src/log';
import { CloudWatchPublisher, toMetricDatum } from '../../agent/src/publisher-cloudwatch';
import type { Datum } from '../../agent/src/types';

const dims: Array<[string, string]> = [['ClusterName', 'c'], ['TaskDefinitionFamily', 'f']];
const datum = (i: number, d = dims): Datum => ({ name: 'CPUUtilization', unit: 'Percent', value: i, timestampMs: 1_700_000_000_000 + i, dimensions: d });

function recorder(fail?: () => boolean) {
  const calls: any[] = [];
  let release: (() => void) | undefined;
  const client = {
    gate: undefined as Promise<void> | undefined,
    send: async (cmd: any) => {
      if (client.gate) await client.gate;
      if (fail?.()) throw new Error('down');
      calls.push(cmd.input);
      return {};
    },
    destroy: () => undefined,
    hold: () => { client.gate = new Promise<void>((r) => { release = r; }); },
    release: () => { client.gate = undefined; release?.(); },
  };
  return { calls, client };
}

const logs: any[] = [];
beforeAll(() => setLogWriter((l) => logs.push(JSON.parse(l))));
afterAll(() => setLogWriter((l) => { process.stdout.write(l + '\n'); }));

test('toMetricDatum: name, unit, value, ms timestamp, dimensions, StorageResolution 1', () => {
  expect(toMetricDatum({ name: 'MemoryUtilized', unit: 'Megabytes', value: 12.5, timestampMs: 1_700_000_000_123.7, dimensions: dims })).toEqual({
    MetricName: 'MemoryUtilized',
    Unit: 'Megabytes',
    Value: 12.5,
    StorageResolution: 1,
    Timestamp: new Date(1_700_000_000_124),
    Dimensions: [{ Name: 'ClusterName', Value: 'c' }, { Name: 'TaskDefinitionFamily', Value: 'f' }],
  });
});

test('one call per flush; a backlog is split only at 1,000 datums', async () => {
  const { calls, client } = recorder();
  const pub = new CloudWatchPublisher({ namespace: 'NS', maxBufferedDatums: 20_000, client: client as any });
  pub.add(Array.from({ length: 13 }, (_, i) => datum(i)));
  await pub.flush();
  expect(calls.map((c) => c.MetricData.length)).toEqual([13]);
  expect(calls[0].Namespace).toBe('NS');
  pub.add(Array.from({ length: 2500 }, (_, i) => datum(i)));
  await pub.flush();
  expect(calls.map((c) => c.MetricData.length)).toEqual([13, 1000, 1000, 500]);
  // Oldest first, nothing lost or repeated.
  expect(calls.slice(1).flatMap((c) => c.MetricData.map((d: any) => d.Value))).toEqual(Array.from({ length: 2500 }, (_, i) => i));
});

test('datums arriving during a flush wait for the next one; concurrent flushes share one call', async () => {
  const { calls, client } = recorder();
  const pub = new CloudWatchPublisher({ namespace: 'NS', maxBufferedDatums: 20_000, client: client as any });
  pub.add([datum(1), datum(2)]);
  client.hold();
  const f1 = pub.flush();
  const f2 = pub.flush();
  pub.add([datum(3)]);
  client.release();
  await Promise.all([f1, f2]);
  expect(calls.map((c) => c.MetricData.length)).toEqual([2]);
  expect(pub.pending()).toBe(1);
  await pub.flush();
  expect(calls.map((c) => c.MetricData.length)).toEqual([2, 1]);
});

test('requests stay under 1 MB with large dimension sets (30 dimensions of 255 characters)', async () => {
  const { calls, client } = recorder();
  const pub = new CloudWatchPublisher({ namespace: 'NS', maxBufferedDatums: 20_000, client: client as any });
  const big: Array<[string, string]> = Array.from({ length: 30 }, (_, i) => [`Dimension${i}`, 'v'.repeat(255)]);
  pub.add(Array.from({ length: 1000 }, (_, i) => datum(i, big)));
  await pub.flush();
  expect(calls.length).toBeGreaterThan(1);
  for (const c of calls) expect(Buffer.byteLength(JSON.stringify(c))).toBeLessThan(1_000_000);
  expect(calls.reduce((a, c) => a + c.MetricData.length, 0)).toBe(1000);
});

test('NaN and Infinity never get in', async () => {
  const { calls, client } = recorder();
  const pub = new CloudWatchPublisher({ namespace: 'NS', maxBufferedDatums: 20_000, client: client as any });
  pub.add([datum(1), { ...datum(2), value: NaN }, { ...datum(3), value: Infinity }, { ...datum(4), timestampMs: NaN }]);
  await pub.flush();
  expect(calls[0].MetricData.map((d: any) => d.Value)).toEqual([1]);
});

test('bound: the oldest are dropped first, counted in a log line; a failed batch is kept, in order', async () => {
  let down = true;
  const { calls, client } = recorder(() => down);
  const pub = new CloudWatchPublisher({ namespace: 'NS', maxBufferedDatums: 1000, client: client as any });
  pub.add(Array.from({ length: 600 }, (_, i) => datum(i)));
  await pub.flush(); // fails: the 600 stay
  expect(pub.pending()).toBe(600);
  pub.add(Array.from({ length: 900 }, (_, i) => datum(600 + i)));
  expect(pub.pending()).toBe(1000);
  expect(pub.droppedTotal).toBe(500);
  await pub.flush(); // fails again; the drop is logged with its count
  const drop = logs.find((l) => l.message.startsWith('buffer full'));
  expect(drop).toMatchObject({ level: 'warn', dropped: 500, droppedTotal: 500, bufferMaxDatums: 1000 });
  expect(logs.filter((l) => l.message.startsWith('PutMetricData failing') && !l.message.includes('recovered'))).toHaveLength(1);
  down = false;
  await pub.flush();
  expect(calls.flatMap((c) => c.MetricData.map((d: any) => d.Value))).toEqual(Array.from({ length: 1000 }, (_, i) => 500 + i));
  expect(logs.filter((l) => /recovered after 2 failure/.test(l.message))).toHaveLength(1);
});

test('bundles: the SDK lives only in cloudwatch-sdk.js, tree-shaken to the client and PutMetricData', () => {
  ensureBundle();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  expect(Object.keys(require(SDK_BUNDLE)).sort()).toEqual(['CloudWatchClient', 'PutMetricDataCommand']);
  const sdk = fs.readFileSync(SDK_BUNDLE, 'utf8');
  expect(sdk).toMatch(/PutMetricDataCommand\s*=\s*class\b|class PutMetricDataCommand\b/);
  for (const other of ['GetMetricDataCommand', 'ListMetricsCommand', 'PutMetricAlarmCommand']) expect(sdk).not.toContain(other);
  const agent = fs.readFileSync(BUNDLE, 'utf8');
  expect(agent).toContain('require("./cloudwatch-sdk")');
  expect(sdk).toMatch(/CloudWatchClient\s*=\s*class\b|class CloudWatchClient\b/);
  expect(agent).not.toMatch(/CloudWatchClient\s*=\s*class\b|class CloudWatchClient\b/);
});
