/**
 * The FastScalingService's scale-out alarm watches exactly what the agent publishes: the BUNDLED agent runs with the
 * environment of the synthesized task definition (real /proc of a real busy process, a fake TMDE, moto behind a
 * recording proxy); its CPU datapoints come at 1-second resolution with ClusterName + ServiceName only, and moto
 * answers GetMetricData for the alarm's own namespace, metric and dimensions.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FastScalingService } from '../../lib';
import { AgentProcess, ensureBundle, FAKE_AWS_ENV } from '../agent/support/agent-process';
import { CwProxy } from '../agent/support/cw-proxy';
import { fargateLikeHandler, FakeTmde } from '../agent/support/fake-tmde';
import { syntheticTask } from '../agent/support/payloads';
import { motoUrl } from '../support/moto';
import { newStack } from '../support/stacks';

const TASK = 'feedc0defeedc0defeedc0defeedc0de';
const APP_ID = `${TASK}-4000000001`;
const AGENT_ID = `${TASK}-4000000002`;
const CLUSTER = 'svc-cluster';

const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f();
});
beforeAll(() => ensureBundle());

test('the agent, configured by the template, publishes 1 s service CPU that the scale-out alarm\'s metric finds', async () => {
  const stack = newStack();
  const svc = new FastScalingService(stack, 'Web', { container: { image: ecs.ContainerImage.fromRegistry('nginx') } });
  const res = Object.values(Template.fromStack(stack).toJSON().Resources) as any[];
  const td = res.find((r) => r.Type === 'AWS::ECS::TaskDefinition').Properties;
  const env: Record<string, string> = {};
  for (const e of td.ContainerDefinitions.find((c: any) => c.Name === 'fargate-monitor-agent').Environment) {
    if (typeof e.Value === 'string') env[e.Name] = e.Value;
  }
  const alarm = res.find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.Period === 10).Properties;

  const busy = spawn(process.execPath, ['-e', 'const t = () => { const e = Date.now() + 20; while (Date.now() < e) {} setTimeout(t, 80); }; t();'], { stdio: 'ignore' });
  cleanup.push(() => busy.kill('SIGKILL'));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fm-svc-proc-'));
  cleanup.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const link = (pid: number, id: string) => {
    fs.mkdirSync(path.join(root, String(pid)));
    fs.symlinkSync(`/proc/${pid}/stat`, path.join(root, String(pid), 'stat'));
    fs.symlinkSync(`/proc/${pid}/status`, path.join(root, String(pid), 'status'));
    fs.writeFileSync(path.join(root, String(pid), 'cgroup'), `0::/ecs/${TASK}/${id}\n`);
  };
  link(busy.pid!, APP_ID);

  const syn = syntheticTask({
    cluster: CLUSTER,
    cpu: Number(td.Cpu) / 1024,
    memory: Number(td.Memory),
    containers: [
      { name: 'app', dockerId: APP_ID, cpuNsPerSample: 1e9, usage: 50 * 1048576 },
      { name: 'fargate-monitor-agent', dockerId: AGENT_ID, cpuNsPerSample: 2e7, usage: 40 * 1048576 },
    ],
  });
  const tmde = new FakeTmde(fargateLikeHandler(syn, { Name: 'fargate-monitor-agent', DockerId: AGENT_ID }, { everyPolls: 10 }));
  const uri = await tmde.start();
  cleanup.push(() => tmde.stop());
  const proxy = new CwProxy(motoUrl());
  await proxy.start();
  cleanup.push(() => proxy.stop());

  const agent = new AgentProcess({
    ...env, ...FAKE_AWS_ENV, AWS_ENDPOINT_URL_CLOUDWATCH: proxy.url, ECS_CONTAINER_METADATA_URI_V4: uri, FARGATE_MONITOR_PROC_ROOT: root,
  });
  cleanup.push(() => agent.kill());
  link(agent.child.pid!, AGENT_ID);
  const taskCpu = () => proxy.delivered().filter((d: any) => d.MetricName === 'CPUUtilization' && !d.Dimensions.some((x: any) => x.Name === 'ContainerName'));
  await agent.waitFor(() => taskCpu().length >= 6, 60_000, 'six task-level CPU datapoints');
  const exit = await agent.terminate();
  expect(exit.code).toBe(0);

  const datums = taskCpu();
  for (const d of datums) {
    expect(d.Dimensions.map((x: any) => `${x.Name}=${x.Value}`).sort()).toEqual([`ClusterName=${CLUSTER}`, `ServiceName=${svc.serviceName}`]);
    expect(d.StorageResolution).toBe(1);
  }
  // /proc datapoints, one per second (not the metadata endpoint's one per 10 s).
  const ts = datums.map((d: any) => d.Timestamp as number).sort((a: number, b: number) => a - b);
  const gaps = ts.slice(1).map((t: number, i: number) => t - ts[i]);
  // Median spacing: about 1 s by design, 10 s were they the metadata endpoint's; a busy machine delays some polls, so
  // no single gap decides.
  const sortedGaps = [...gaps].sort((a: number, b: number) => a - b);
  expect(sortedGaps[Math.floor(sortedGaps.length / 2)]).toBeLessThanOrEqual(2.5);

  // The alarm's namespace, metric and dimensions (ClusterName is a Ref in the template: the agent reads the real
  // name from the task metadata) find the published data in moto.
  expect(alarm.Namespace).toBe(env.FARGATE_MONITOR_NAMESPACE);
  const dims = alarm.Dimensions.map((d: any) => ({ Name: d.Name, Value: d.Name === 'ClusterName' ? CLUSTER : d.Value }));
  const cw = new CloudWatchClient({ endpoint: motoUrl(), region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const r = await cw.send(new GetMetricDataCommand({
    StartTime: new Date(ts[0] * 1000 - 60_000),
    EndTime: new Date(Date.now() + 60_000),
    MetricDataQueries: [{ Id: 'q', MetricStat: { Metric: { Namespace: alarm.Namespace, MetricName: alarm.MetricName, Dimensions: dims }, Period: alarm.Period, Stat: alarm.Statistic } }],
  }));
  expect(r.MetricDataResults?.[0]?.Values?.length ?? 0).toBeGreaterThan(0);
});
