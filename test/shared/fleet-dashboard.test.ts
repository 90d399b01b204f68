import { App, CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import {
  FastScalingService, FleetDashboard, FleetDashboardProps, FleetMember, FleetMemberKind, IFleetDashboardMember,
  MonitoredScheduledTask, RunOutcomeHandler, TaskMetrics,
} from '../../lib';
import { lastRunColumns, rowChars, SCREEN_ROW_CHARS, SCREEN_ROWS } from '../../lib/shared/fleet-queries';
import { minimalProps, newStack } from '../support/stacks';

/** The fields of the run-outcome handler's RUN_OUTCOME line (the contract with lib/notifier). */
const RUN_OUTCOME_FIELDS = ['type', 'version', 'family', 'clusterName', 'taskArn', 'taskId', 'outcome', 'oom', 'appExitCode',
  'stopCode', 'summary', 'startedAt', 'stoppedAt', 'durationSeconds', 'cpu', 'memoryMiB', 'peakMemoryMiB', 'memoryLimitMiB',
  'peakMemoryPercent', 'cpuAverageUtilizationPercent', 'cpuMaxUtilizationPercent', 'rightSize',
  // a reliable run's record adds (lib/notifier/run-outcome.lambda.ts)
  'attempts'];

const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');

/**
 * The fleet dashboard's body as JSON. CloudFormation references inside it (`{Ref: X}`, `{Fn::GetAtt: [X, Y]}`) become
 * `<X>` / `<X.Y>`, so a test can see which resource a widget reads.
 */
function fleetBody(stack: Stack, fleetId = 'Fleet'): any {
  const template = Template.fromStack(stack).toJSON();
  const [, dashboard] = Object.entries<any>(template.Resources).find(([id, r]) => r.Type === 'AWS::CloudWatch::Dashboard' && id.startsWith(`${fleetId}Dashboard`))!;
  const body = dashboard.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((x: any) => {
    if (typeof x === 'string') return x;
    if (x.Ref) return `<${x.Ref}>`;
    if (x['Fn::GetAtt']) return `<${x['Fn::GetAtt'].join('.')}>`;
    return '<TOKEN>';
  }).join('');
  return JSON.parse(text);
}

const metricWidgets = (body: any) => body.widgets.filter((w: any) => w.type === 'metric');
const logWidgets = (body: any) => body.widgets.filter((w: any) => w.type === 'log');
/** The per-job tables ("last run of each job"), the runs tables, the memory and the CPU bar charts. */
const perJobTables = (body: any) => titled(body, 'Last run of each job').filter((w: any) => w.type === 'log');
const runsTables = (body: any) => logWidgets(body).filter((w: any) => / runs, newest first/.test(w.properties.title));
const memoryBars = (body: any) => titled(body, 'Peak memory per job').filter((w: any) => w.type === 'log');
const cpuBars = (body: any) => titled(body, 'CPU per job').filter((w: any) => w.type === 'log');
/** The query's lines, without the SOURCE prefixes. */
const queryLines = (w: any): string[] => w.properties.query.replace(/^(SOURCE '[^']*' \| )+/, '').split('\n| ');
const alarmWidgets = (body: any) => body.widgets.filter((w: any) => w.type === 'alarm');
const titled = (body: any, part: string) => body.widgets.filter((w: any) => (w.properties.title ?? '').includes(part));
/** Metric count of a widget, metric math inputs included (what CloudWatch counts against its quotas). */
const metricCount = (w: any) => w.properties.metrics?.length ?? 0;
/** Periods of a widget's metrics: the metric's own, else the widget's, else 300 s (CloudWatch's default, which CDK leaves out). */
const periodsOf = (w: any) => w.properties.metrics.map((m: any[]) => m[m.length - 1].period ?? w.properties.period ?? 300);

/** Logical id of a construct's CloudFormation resource. */
const idOf = (c: IConstruct) => Stack.of(c).getLogicalId(c.node.defaultChild as CfnElement);
/** An alarm's ARN as `fleetBody` shows it. */
const arnOf = (a: cloudwatch.IAlarm) => `<${idOf(a)}.Arn>`;

function logicalIdOf(stack: Stack, prefix: string, type: string): string {
  const resources = Template.fromStack(stack).toJSON().Resources;
  const ids = Object.keys(resources).filter((id) => resources[id].Type === type && id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0];
}

/** A stack with two real nightly jobs and a real fast-scaling service. */
function realFleet(props: FleetDashboardProps = {}) {
  const stack = newStack();
  const nightly = new MonitoredScheduledTask(stack, 'Nightly', minimalProps({ family: 'nightly-report', cpu: 512, memoryLimitMiB: 1024 }));
  const hourly = new MonitoredScheduledTask(stack, 'Hourly', minimalProps({ family: 'hourly-sync' }));
  const shop = new FastScalingService(stack, 'Shop', { container: { image }, serviceName: 'shop' });
  const fleet = new FleetDashboard(stack, 'Fleet', props);
  fleet.addMember(nightly);
  fleet.addMember(hourly);
  fleet.addMember(shop);
  return { stack, nightly, hourly, shop, fleet };
}

describe('a stack with two scheduled tasks and a service', () => {
  const { stack, nightly, hourly, shop } = realFleet();
  const body = fleetBody(stack);
  const handlerLogs = logicalIdOf(stack, 'FargateMonitorRunOutcomeHandlerLogs', 'AWS::Logs::LogGroup');

  test('opens on the last 7 days and keeps each graph\'s own period (all a minute or more)', () => {
    expect(body.start).toBe('-P7D');
    expect(body.periodOverride).toBe('inherit');
    const periods = metricWidgets(body).filter((w: any) => w.properties.view !== 'table').flatMap(periodsOf);
    expect(periods.length).toBeGreaterThan(0);
    expect(periods.every((p: number) => p >= 60)).toBe(true);
  });

  test('on top, in this order: the header, the alarms, the per-job table, the missed runs, the runs table, the links to the logs, memory and CPU per job, the run counts', () => {
    const top = body.widgets.slice(0, 10).map((w: any) => [w.type, (w.properties.title ?? w.properties.markdown).slice(0, 28)]);
    expect(top).toEqual([
      ['text', '# Fleet: 2 scheduled tasks, '],
      ['alarm', 'Alarms'],
      ['text', '## Scheduled tasks (2)'],
      ['log', 'Last run of each job: outcom'],
      ['alarm', 'Missed runs (ALARM: no run e'],
      ['log', 'Last 100 runs, newest first,'],
      ['text', '**Logs of a run:** open its '],
      ['log', 'Peak memory per job, % of th'],
      ['log', 'CPU per job, % of the vCPU: '],
      ['metric', 'Runs and failed runs per job'],
    ]);
    // Reading order: top to bottom, and left to right within a row (memory beside CPU beside the run counts).
    const pos = body.widgets.slice(0, 10).map((w: any) => w.y * 100 + w.x);
    expect([...pos].sort((a, b) => a - b)).toEqual(pos);
    const [memory, cpu] = [memoryBars(body)[0], cpuBars(body)[0]];
    expect(cpu.y).toBe(memory.y);
    expect(cpu.x).toBe(memory.x + memory.width);
  });

  test('one row per job: the whole latest RUN_OUTCOME line of each, read from the run-outcome handler\'s log group', () => {
    const [table] = perJobTables(body);
    expect(table.properties.query.startsWith(`SOURCE '<${handlerLogs}>' | `)).toBe(true);
    expect(queryLines(table)).toEqual([
      'filter type = "RUN_OUTCOME" and (family = "nightly-report" or family = "hourly-sync")',
      'fields family, outcome, @timestamp, floor(durationSeconds) as runS, peakMemoryPercent as memPct, ' +
        'cpuAverageUtilizationPercent as cpuAvgPct, cpuMaxUtilizationPercent as cpuMaxPct, attempts as tries, ' +
        'appExitCode as exit, oom, stopCode as stop, substr(summary, 0, 50) as why',
      // every column from one run (the newest), not each field's latest value from whichever run had it
      'sort @timestamp desc',
      'dedup family',
      'limit 2',
    ]);
    expect(table.properties.view).toBe('table');
    expect(table.width).toBe(24);
    expect(table.height).toBe(3 + 2);
  });

  test('a job that has not run is shown as such: the missed-run alarms of every job, right under the per-job table', () => {
    const [missed] = titled(body, 'Missed runs');
    expect(missed.type).toBe('alarm');
    expect(missed.properties.alarms).toHaveLength(2);
    expect(missed.properties.alarms).toEqual([nightly.alarms.missedRunAlarm!, hourly.alarms.missedRunAlarm!].map(arnOf));
    expect(missed.y).toBe(perJobTables(body)[0].y + perJobTables(body)[0].height);
    // Without a missed-run alarm a job's absence would not show: the header names such jobs.
    expect(body.widgets[0].properties.markdown).not.toContain('No missed-run alarm');
  });

  test('the runs table: the last 100 runs of both jobs, newest first, with the task id and why', () => {
    const [table] = runsTables(body);
    expect(table.properties.query.startsWith(`SOURCE '<${handlerLogs}>' | `)).toBe(true);
    expect(queryLines(table)).toEqual([
      'filter type = "RUN_OUTCOME" and (family = "nightly-report" or family = "hourly-sync")',
      'fields @timestamp, family, outcome, floor(durationSeconds) as runS, peakMemoryPercent as memPct, ' +
        'cpuAverageUtilizationPercent as cpuAvgPct, cpuMaxUtilizationPercent as cpuMaxPct, attempts as tries, taskId, ' +
        'substr(summary, 0, 50) as why, substr(rightSize, 0, 40) as rightSize',
      'sort @timestamp desc',
      'limit 100',
    ]);
    expect(table.properties.title).toMatch(/^Last 100 runs, newest first/);
    expect(table.width).toBe(24);
  });

  test('a run\'s task id leads to its logs: a link to each job\'s log group, where its streams end in the task id', () => {
    const [links] = titled(body, '').filter((w: any) => w.type === 'text' && w.properties.markdown.startsWith('**Logs of a run:**'));
    const md: string = links.properties.markdown;
    for (const job of [nightly, hourly]) {
      const group = idOf(job.logGroup);
      const r = Stack.of(job).region;
      expect(md).toContain(`[${job.taskDefinition.family}](https://${r}.console.aws.amazon.com/cloudwatch/home?region=${r}#logsV2:log-groups/log-group/<${group}>)`);
    }
  });

  test('the memory view is a bar chart of the worst and average peak memory per job, highest first', () => {
    const [bar] = memoryBars(body);
    expect(bar.properties.view).toBe('bar');
    expect(bar.properties.query).toBe(`SOURCE '<${handlerLogs}>' | ` + [
      'filter type = "RUN_OUTCOME" and (family = "nightly-report" or family = "hourly-sync")',
      'stats max(peakMemoryPercent) as worstRunPeakMemoryPercent, avg(peakMemoryPercent) as averageRunPeakMemoryPercent by family',
      'sort worstRunPeakMemoryPercent desc',
    ].join('\n| '));
  });

  test('CPU beside memory: the busiest run\'s peak and the average run\'s average per job, least used first (oversized first)', () => {
    const [bar] = cpuBars(body);
    expect(bar.properties.view).toBe('bar');
    expect(queryLines(bar)).toEqual([
      'filter type = "RUN_OUTCOME" and (family = "nightly-report" or family = "hourly-sync")',
      'stats max(cpuMaxUtilizationPercent) as busiestRunCpuMaxPercent, avg(cpuAverageUtilizationPercent) as averageRunCpuAveragePercent by family',
      'sort busiestRunCpuMaxPercent asc',
    ]);
  });

  test('every field the queries name is a field of the RUN_OUTCOME line', () => {
    const named = logWidgets(body).flatMap((w: any) => {
      const q: string = w.properties.query.replace(/SOURCE '[^']*' \| /g, '').replace(/"[^"]*"/g, '');
      return [...q.matchAll(/\b([a-zA-Z][a-zA-Z0-9]*)\b/g)].map((m) => m[1]);
    });
    const keywords = ['filter', 'and', 'or', 'fields', 'sort', 'desc', 'asc', 'limit', 'stats', 'max', 'avg', 'as', 'by', 'dedup',
      'substr', 'floor', 'timestamp'];
    const aliases = ['worstRunPeakMemoryPercent', 'averageRunPeakMemoryPercent', 'busiestRunCpuMaxPercent', 'averageRunCpuAveragePercent',
      'runS', 'memPct', 'cpuAvgPct', 'cpuMaxPct', 'tries', 'exit', 'stop', 'why'];
    expect(named.filter((n: string) => !keywords.includes(n) && !aliases.includes(n) && !RUN_OUTCOME_FIELDS.includes(n))).toEqual([]);
  });

  test('runs and failed runs per job over the time range: one table, the handler\'s Runs and FailedRuns summed', () => {
    const [table] = metricWidgets(body).filter((w: any) => w.properties.view === 'table');
    expect(table.properties.table).toMatchObject({ summaryColumns: ['SUM'], showTimeSeriesData: false });
    expect(table.properties.metrics.map((m: any[]) => [m[1], m[m.length - 1].label, m[m.length - 1].stat, m[m.length - 1].period])).toEqual([
      ['Runs', 'nightly-report runs', 'Sum', 86400], ['FailedRuns', 'nightly-report failed', 'Sum', 86400],
      ['Runs', 'hourly-sync runs', 'Sum', 86400], ['FailedRuns', 'hourly-sync failed', 'Sum', 86400],
    ]);
  });

  test('one row per member: three graphs for each job, two graphs and the scaling alarms for the service', () => {
    for (const family of ['nightly-report', 'hourly-sync']) {
      const row = titled(body, `${family}`).filter((w: any) => w.type === 'metric' && w.properties.view !== 'table');
      expect(row.map((w: any) => w.properties.title)).toEqual([
        expect.stringMatching(/: runs and failed runs per day$/),
        expect.stringMatching(/: run time \(seconds since the app started, maximum per hour\)$/),
        expect.stringMatching(/: CPU \(% of the vCPU, average\) and memory \(% of the limit, maximum\)$/),
      ]);
      expect(new Set(row.map((w: any) => w.y)).size).toBe(1); // one row
      expect(row.map(metricCount)).toEqual([2, 1, 2]);
      expect(row.map((w: any) => periodsOf(w))).toEqual([[86400, 86400], [3600], [300, 300]]);
    }
    expect(titled(body, 'nightly-report (0.5 vCPU, 1024 MiB)')).toHaveLength(1);
    const service = titled(body, 'shop');
    expect(service.map((w: any) => w.type)).toEqual(['metric', 'metric', 'alarm']);
    expect(new Set(service.map((w: any) => w.y)).size).toBe(1);
    const [tasks, cpu, scaling] = service;
    expect(tasks.properties.metrics.map((m: any[]) => m.slice(0, 6))).toEqual(['DesiredTaskCount', 'RunningTaskCount', 'PendingTaskCount']
      .map((name) => ['ECS/ContainerInsights', name, 'ClusterName', expect.any(String), 'ServiceName', 'shop']));
    // The scaling thresholds (70 % out, 30 % in by default) on the CPU graph; the scaling alarms' states beside it.
    expect(cpu.properties.annotations.horizontal.map((a: any) => a.value)).toEqual([70, 30]);
    expect(scaling.properties.alarms).toHaveLength(2);
    // Rows in the order: jobs (in the order added), then services.
    const ys = ['nightly-report', 'hourly-sync', 'shop'].map((n) => titled(body, n).find((w: any) => w.type === 'metric' && w.properties.view !== 'table').y);
    expect([...ys].sort((a, b) => a - b)).toEqual(ys);
  });

  test('the alarm states of every member on top, the run-outcome handler\'s own alarms first, the scaling alarms not among them', () => {
    const [alarms] = alarmWidgets(body);
    const handler = nightly.runEvents.handler;
    expect(handler).toBe(hourly.runEvents.handler); // one per stack: shown once
    expect(alarms.properties.title).toBe('Alarms');
    const expected = [...handler.alarms, ...nightly.alarms.alarms, ...hourly.alarms.alarms, ...shop.alarms.alarms];
    expect(alarms.properties.alarms).toEqual(expected.map(arnOf));
    expect(handler.alarms.map((a) => a.node.id)).toEqual(['ErrorsAlarm', 'DeadLetterAlarm']);
    expect(alarms.y).toBeLessThan(logWidgets(body)[0].y);
  });

  test('the members are named on the dashboard; every metric graph stays far under the 500-metric quota', () => {
    const header = body.widgets[0];
    expect(header.type).toBe('text');
    expect(header.properties.markdown).toContain('# Fleet: 2 scheduled tasks, 1 service');
    expect(Math.max(...metricWidgets(body).map(metricCount))).toBeLessThanOrEqual(100);
  });

  test('the stack has the fleet dashboard as its one extra resource', () => {
    const withFleet = Template.fromStack(stack).toJSON().Resources;
    const without = newStack();
    new MonitoredScheduledTask(without, 'Nightly', minimalProps({ family: 'nightly-report', cpu: 512, memoryLimitMiB: 1024 }));
    new MonitoredScheduledTask(without, 'Hourly', minimalProps({ family: 'hourly-sync' }));
    new FastScalingService(without, 'Shop', { container: { image }, serviceName: 'shop' });
    const before = Template.fromStack(without).toJSON().Resources;
    const added = Object.keys(withFleet).filter((id) => !(id in before));
    expect(added.map((id) => withFleet[id].Type)).toEqual(['AWS::CloudWatch::Dashboard']);
    // Opt-in: the constructs alone make their own dashboards only (two jobs, one service).
    expect(Object.values<any>(before).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard')).toHaveLength(3);
  });
});

describe('membership', () => {
  test('includeStackMembers adds members created before and after the dashboard, once each', () => {
    const stack = newStack();
    const early = new MonitoredScheduledTask(stack, 'Early', minimalProps({ family: 'early' }));
    const fleet = new FleetDashboard(stack, 'Fleet', { includeStackMembers: true, members: [early] });
    const nested = new Construct(stack, 'Team');
    new MonitoredScheduledTask(nested, 'Late', minimalProps({ family: 'late' }));
    new FastScalingService(stack, 'Shop', { container: { image }, serviceName: 'shop' });
    const body = fleetBody(stack);
    expect(fleet.memberNames).toEqual(['early', 'late', 'shop']);
    expect(body.widgets[0].properties.markdown).toContain('# Fleet: 2 scheduled tasks, 1 service');
    expect(logWidgets(body)[0].properties.query).toContain('(family = "early" or family = "late")');
  });

  test('without includeStackMembers only the members added are shown', () => {
    const stack = newStack();
    const a = new MonitoredScheduledTask(stack, 'A', minimalProps({ family: 'a' }));
    new MonitoredScheduledTask(stack, 'B', minimalProps({ family: 'b' }));
    const fleet = new FleetDashboard(stack, 'Fleet');
    fleet.addMember(a);
    fleet.addMember(a);
    const body = fleetBody(stack);
    expect(fleet.memberNames).toEqual(['a']);
    expect(logWidgets(body)[0].properties.query).toContain('filter type = "RUN_OUTCOME" and (family = "a")');
    expect(titled(body, 'b (')).toHaveLength(0);
  });

  test('a dashboard with no member fails at synth, naming itself', () => {
    const stack = newStack();
    new FleetDashboard(stack, 'Fleet');
    expect(() => Template.fromStack(stack)).toThrow(/FleetDashboard TestStack\/Fleet has no members: call addMember\(\) or set includeStackMembers/);
  });

  test('two fleet dashboards in one stack, each with its own members (no per-stack singleton)', () => {
    const stack = newStack();
    const a = new MonitoredScheduledTask(stack, 'A', minimalProps({ family: 'a' }));
    const b = new MonitoredScheduledTask(stack, 'B', minimalProps({ family: 'b' }));
    new FleetDashboard(stack, 'TeamA', { members: [a] });
    new FleetDashboard(stack, 'TeamB', { members: [b], dashboardName: 'team-b' });
    expect(logWidgets(fleetBody(stack, 'TeamA'))[0].properties.query).toContain('(family = "a")');
    expect(logWidgets(fleetBody(stack, 'TeamB'))[0].properties.query).toContain('(family = "b")');
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'team-b' });
  });
});

/** A member without the resources of a real task: for the dashboard's limits, which need hundreds of members. */
class FakeMember extends Construct implements IFleetDashboardMember {
  public readonly fleetMember: FleetMember;

  constructor(scope: Construct, id: string, props: {
    kind?: FleetMemberKind;
    name?: string;
    logGroup?: logs.ILogGroup;
    alarms?: number;
    extra?: Partial<FleetMember>;
  }) {
    super(scope, id);
    const name = props.name ?? id;
    const service = props.kind === FleetMemberKind.SERVICE;
    const taskMetrics = new TaskMetrics({ clusterName: 'fleet', ...service ? { serviceName: name } : { taskDefinitionFamily: name } });
    const metric = (metricName: string) => new cloudwatch.Metric({ namespace: 'FargateMonitor', metricName, dimensionsMap: { TaskDefinitionFamily: name } });
    const alarms = Array.from({ length: props.alarms ?? 0 }, (_, i) =>
      metric('FailedRuns').createAlarm(this, `Alarm${i}`, { threshold: 1, evaluationPeriods: 1 }));
    this.fleetMember = {
      kind: props.kind ?? FleetMemberKind.SCHEDULED_TASK,
      name,
      taskMetrics,
      clusterName: 'fleet',
      ...service ? { serviceName: name } : {
        family: name,
        runs: metric('Runs'),
        failedRuns: metric('FailedRuns'),
        runOutcomeLogGroup: props.logGroup,
      },
      cpu: 256,
      memoryLimitMiB: 512,
      alarms,
      ...props.extra,
    };
  }
}

function fakeFleet(count: number, member: (stack: Stack, i: number) => IFleetDashboardMember) {
  const stack = new Stack(new App(), 'Fleet', { env: { account: '111111111111', region: 'eu-central-1' } });
  const fleet = new FleetDashboard(stack, 'Fleet');
  for (let i = 0; i < count; i++) fleet.addMember(member(stack, i));
  return { stack, fleet };
}

describe('limits', () => {
  test('30 real nightly jobs (two stacks of 15): one per-job table that one screen shows, four queries, one runs table, no warning', () => {
    const app = new App();
    const env = { account: '111111111111', region: 'eu-central-1' };
    const jobStacks = [new Stack(app, 'JobsA', { env }), new Stack(app, 'JobsB', { env })];
    const fleetStack = new Stack(app, 'FleetStack', { env });
    const fleet = new FleetDashboard(fleetStack, 'Fleet');
    // Names as teams write them: up to 30 characters.
    const families = Array.from({ length: 30 }, (_, i) => `${['warehouse-export', 'billing-reconcile', 'crm-sync-accounts'][i % 3]}-nightly-${i}`);
    for (let i = 0; i < 30; i++) {
      fleet.addMember(new MonitoredScheduledTask(jobStacks[i % 2], `Job${i}`, minimalProps({ family: families[i] })));
    }
    const body = fleetBody(fleetStack);
    expect(fleet.memberNames).toHaveLength(30);
    expect(fleet.skippedMemberNames).toEqual([]);
    // One query of each kind, each over both stacks' run-outcome log groups, with all 30 families.
    expect(logWidgets(body).map((w: any) => w.properties.title.split(':')[0].split(',')[0])).toEqual(
      ['Last run of each job', 'Last 100 runs', 'Peak memory per job', 'CPU per job']);
    for (const w of logWidgets(body)) {
      expect(w.properties.query.match(/SOURCE '/g)).toHaveLength(2);
      expect(w.properties.query.match(/family = "[a-z-]+-nightly-\d+"/g)).toHaveLength(30);
    }
    // The screen budget: every job on one row of the per-job table, no scrolling, and a row no wider than one screen.
    const [table] = perJobTables(body);
    expect(table.height).toBe(3 + SCREEN_ROWS); // title, column names, 30 rows
    expect(queryLines(table)[1]).toBe(`fields ${lastRunColumns(0).map((c) => c.expression).join(', ')}`);
    const longest = Math.max(...families.map((f) => f.length));
    expect(longest).toBeGreaterThanOrEqual(28);
    expect(rowChars(lastRunColumns(longest))).toBeLessThanOrEqual(SCREEN_ROW_CHARS);
    // The missed-run alarms of all 30 jobs in one widget under the table; the links to 30 log groups in one text widget.
    const [missed] = titled(body, 'Missed runs');
    expect(missed.properties.alarms).toHaveLength(30);
    expect(missed.height).toBeLessThanOrEqual(7);
    expect(body.widgets.filter((w: any) => w.type === 'text' && w.properties.markdown.includes('#logsV2:log-groups'))).toHaveLength(1);
    const [runsTable] = metricWidgets(body).filter((w: any) => w.properties.view === 'table');
    expect(metricCount(runsTable)).toBe(60);
    const rows = metricWidgets(body).filter((w: any) => / run time /.test(w.properties.title));
    expect(rows).toHaveLength(30);
    const metrics = metricWidgets(body).reduce((n: number, w: any) => n + metricCount(w), 0);
    expect(metrics).toBe(30 * 5 + 60);
    Annotations.fromStack(fleetStack).hasNoWarning('*', Match.anyValue());
  });

  test('a row of the per-job table is cut to what one screen shows: the reason to 50 characters, short column names', () => {
    // The widest values each column can take (family aside): FAILED_TO_START, ServiceSchedulerInitiated, a 50-character reason.
    expect(rowChars(lastRunColumns(0))).toBeLessThanOrEqual(SCREEN_ROW_CHARS - 30);
    // Uncut, the judge's summaries run past 100 characters ("The app container "app" was killed OUT OF MEMORY (OutOfMemoryError: ...)").
    const uncut = lastRunColumns(30).map((c) => (c.name === 'why' ? { ...c, width: 130 } : c));
    expect(rowChars(uncut)).toBeGreaterThan(SCREEN_ROW_CHARS);
  });

  test('past 500 widgets the last members are left out, named on the dashboard and in a synth warning', () => {
    const { stack, fleet } = fakeFleet(200, (s, i) => new FakeMember(s, `job${i}`, {}));
    const body = fleetBody(stack);
    expect(body.widgets.length).toBeLessThanOrEqual(500);
    // Three widgets per job: 3 × 164 + the header, the jobs header and 4 runs tables (no Logs Insights pair: no log group).
    expect(fleet.memberNames).toHaveLength(164);
    expect(body.widgets.length).toBe(3 * 164 + 2 + 4);
    expect(fleet.skippedMemberNames).toEqual(Array.from({ length: 36 }, (_, i) => `job${164 + i}`));
    expect(body.widgets[0].properties.markdown).toContain('**Not shown (dashboard limits):** job164, job165');
    const warnings = Annotations.fromStack(stack).findWarning('/Fleet/Fleet', Match.anyValue());
    expect(warnings).toHaveLength(36);
    expect(warnings[0].entry.data).toMatch(/Fleet\/job164 is not on fleet dashboard Fleet\/Fleet: it would take the dashboard to 501 widgets \(CloudWatch allows 500 per dashboard\)/);
    // Runs tables hold 50 jobs (100 metrics) each.
    const tables = metricWidgets(body).filter((w: any) => w.properties.view === 'table');
    expect(tables.map(metricCount)).toEqual([100, 100, 100, 28]);
  });

  test('long names reach the body-size cap (500,000 characters, half the 1 MB template) before the widget limit', () => {
    const { stack, fleet } = fakeFleet(160, (s, i) => new FakeMember(s, `job${i}`, { name: `${'n'.repeat(240)}-${i}` }));
    const text = JSON.stringify(fleetBody(stack));
    expect(fleet.skippedMemberNames.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThanOrEqual(500_000);
    expect(text.length).toBeGreaterThan(450_000);
    Annotations.fromStack(stack).hasWarning('/Fleet/Fleet',
      Match.stringLikeRegexp('it would take the dashboard to about \\d+ characters of dashboard body \\(capped at 500000: the whole template must stay under 1 MB\\)'));
  });

  test('past 50 log groups the Logs Insights widgets split, each query within 50 log groups, with a warning', () => {
    const { stack } = fakeFleet(60, (s, i) => new FakeMember(s, `job${i}`, { logGroup: new logs.LogGroup(s, `Logs${i}`) }));
    const body = fleetBody(stack);
    for (const widgets of [perJobTables(body), runsTables(body), memoryBars(body), cpuBars(body)]) {
      const queries: string[] = widgets.map((w: any) => w.properties.query);
      expect(queries.map((q) => q.match(/SOURCE '/g)!.length)).toEqual([50, 10]);
      expect(queries.map((q) => q.match(/family = /g)!.length)).toEqual([50, 10]);
    }
    Annotations.fromStack(stack).hasWarning('/Fleet/Fleet', Match.stringLikeRegexp('the Logs Insights widgets are split: each refresh runs 8 queries, and an account runs at most 100'));
  });

  test('past 100 bars a bar chart splits (50 jobs of 2 bars each), the tables stay whole, with a warning', () => {
    const { stack } = fakeFleet(120, (s, i) => {
      const logGroup = (s.node.tryFindChild('Logs') as logs.LogGroup) ?? new logs.LogGroup(s, 'Logs');
      return new FakeMember(s, `job${i}`, { logGroup });
    });
    const body = fleetBody(stack);
    const bars = (ws: any[]) => ws.map((w: any) => w.properties.query.match(/family = /g)!.length * 2);
    expect(bars(memoryBars(body))).toEqual([100, 100, 40]);
    expect(bars(cpuBars(body))).toEqual([100, 100, 40]);
    expect(memoryBars(body).map((w: any) => w.properties.title)).toEqual([1, 2, 3].map((i) => expect.stringMatching(new RegExp(`\\(part ${i} of 3\\)$`))));
    expect(perJobTables(body)).toHaveLength(1);
    expect(runsTables(body)).toHaveLength(1);
    Annotations.fromStack(stack).hasWarning('/Fleet/Fleet', Match.stringLikeRegexp('or a bar chart 100 bars, so the Logs Insights widgets are split: each refresh runs 8 queries'));
  });

  test('long family names split the queries before 10,000 characters', () => {
    const { stack } = fakeFleet(60, (s, i) => {
      const logGroup = (s.node.tryFindChild('Logs') as logs.LogGroup) ?? new logs.LogGroup(s, 'Logs', { logGroupName: 'run-outcomes' });
      return new FakeMember(s, `job${i}`, { name: `${'x'.repeat(240)}-${i}`, logGroup });
    });
    const body = fleetBody(stack);
    const queries: string[] = logWidgets(body).map((w: any) => queryLines(w).join('\n| '));
    expect(queries.length).toBeGreaterThan(4);
    expect(Math.max(...queries.map((q) => q.length))).toBeLessThanOrEqual(10_000);
    expect(Math.max(...queries.map((q) => q.length))).toBeGreaterThan(9_000);
    for (const widgets of [perJobTables(body), runsTables(body), memoryBars(body), cpuBars(body)]) {
      expect(widgets.map((w: any) => w.properties.query).join('').match(/family = /g)).toHaveLength(60);
    }
  });

  test('alarm status widgets hold at most 100 alarms each', () => {
    const { stack } = fakeFleet(30, (s, i) => new FakeMember(s, `job${i}`, { alarms: 5 }));
    const widgets = alarmWidgets(fleetBody(stack));
    expect(widgets.map((w: any) => w.properties.alarms.length)).toEqual([100, 50]);
    expect(widgets.map((w: any) => w.properties.title)).toEqual(['Alarms (1 of 2)', 'Alarms (2 of 2)']);
  });
});

describe('what the jobs rely on, and the services\' crashes', () => {
  test('a job with reliable runs brings the state machine\'s executionsFailedAlarm to the alarm widget, with the handler\'s', () => {
    const stack = newStack();
    const plain = new MonitoredScheduledTask(stack, 'Plain', minimalProps({ family: 'plain' }));
    const reliable = new MonitoredScheduledTask(stack, 'Reliable', minimalProps({ family: 'reliable', runTimeout: Duration.hours(1) }));
    new FleetDashboard(stack, 'Fleet', { members: [plain, reliable] });
    const [alarms] = alarmWidgets(fleetBody(stack));
    const failed = reliable.reliableRuns!.executionsFailedAlarm!;
    expect(failed).toBeDefined();
    expect(alarms.properties.alarms.slice(0, 3)).toEqual([...plain.runEvents.handler.alarms, failed].map(arnOf));
    expect(new Set(alarms.properties.alarms).size).toBe(alarms.properties.alarms.length);
  });

  test('a job without a missed-run alarm is named on top: its absence from the per-job table would not show', () => {
    const stack = newStack();
    const lone = new FakeMember(stack, 'lone', { logGroup: new logs.LogGroup(stack, 'Logs') });
    const watched = new FakeMember(stack, 'watched', { logGroup: lone.fleetMember.runOutcomeLogGroup, alarms: 1 });
    (watched.fleetMember as any).missedRunAlarm = watched.fleetMember.alarms![0];
    new FleetDashboard(stack, 'Fleet', { members: [lone, watched] });
    const body = fleetBody(stack);
    expect(body.widgets[0].properties.markdown).toContain('**No missed-run alarm (absence not shown):** lone.');
    expect(titled(body, 'Missed runs')[0].properties.alarms).toEqual([arnOf(watched.fleetMember.missedRunAlarm!)]);
  });

  test('links to a named log group are encoded as the console takes them (as the Slack message\'s links)', () => {
    const stack = newStack();
    const job = new FakeMember(stack, 'job', { extra: { logGroup: logs.LogGroup.fromLogGroupName(stack, 'Named', '/ecs/nightly job') } });
    new FleetDashboard(stack, 'Fleet', { members: [job] });
    const [links] = fleetBody(stack).widgets.filter((w: any) => w.type === 'text' && w.properties.markdown.includes('#logsV2'));
    expect(links.properties.markdown).toContain('#logsV2:log-groups/log-group/$252Fecs$252Fnightly$2520job)');
  });

  test('a service with a TaskCrashes metric gets a crash graph in its row (widgets of 6 units: four fit with the scaling alarms); without, 8 units', () => {
    const stack = newStack();
    const crashes = new cloudwatch.Metric({ namespace: 'FargateMonitor', metricName: 'TaskCrashes', dimensionsMap: { ServiceName: 'web' } });
    const web = new FakeMember(stack, 'web', { kind: FleetMemberKind.SERVICE, extra: { taskCrashes: crashes, scalingAlarms: [] } });
    const api = new FakeMember(stack, 'api', { kind: FleetMemberKind.SERVICE });
    new FleetDashboard(stack, 'Fleet', { members: [web, api] });
    const body = fleetBody(stack);
    const webRow = titled(body, 'web');
    expect(webRow.map((w: any) => w.width)).toEqual([6, 6, 6]);
    const [graph] = titled(body, 'web: task crashes');
    expect(graph.properties.metrics).toEqual([['FargateMonitor', 'TaskCrashes', 'ServiceName', 'web', { label: 'crashes', color: '#d62728', stat: 'Sum' }]]);
    expect(periodsOf(graph)).toEqual([300]);
    expect(titled(body, 'api').map((w: any) => w.width)).toEqual([8, 8]);
  });
});

test('a FastScalingService with slackNotifications brings its crashes graph, its incident alarms and the handler\'s alarms; without, none', () => {
  const stack = newStack();
  const webhook = secretsmanager.Secret.fromSecretNameV2(stack, 'Hook', 'slack/hook');
  const loud = new FastScalingService(stack, 'Loud', {
    container: { image }, serviceName: 'loud', slackNotifications: { webhook }, alarmOverrides: { taskCrashes: { enabled: true } },
  });
  const quiet = new FastScalingService(stack, 'Quiet', { container: { image }, serviceName: 'quiet' });
  new FleetDashboard(stack, 'Fleet', { members: [loud, quiet] });
  const body = fleetBody(stack);
  const [graph] = titled(body, 'loud: task crashes');
  expect(graph.properties.metrics[0].slice(0, 2)).toEqual(['FargateMonitor', 'TaskCrashes']);
  expect(titled(body, 'quiet: task crashes')).toHaveLength(0);
  const handler = RunOutcomeHandler.of(stack);
  const alarmArns = alarmWidgets(body).flatMap((w: any) => w.properties.alarms);
  for (const a of [...handler.alarms, loud.taskCrashesAlarm!]) expect(alarmArns).toContainEqual(arnOf(a));
  // The handler's alarms come first: a broken handler leaves every other widget silent.
  expect(alarmArns.slice(0, handler.alarms.length)).toEqual(handler.alarms.map(arnOf));
});

describe('lastRuns', () => {
  test('a non-default lastRuns sets the runs table\'s limit and title (and nothing else)', () => {
    const { stack } = realFleet({ lastRuns: 25 });
    const body = fleetBody(stack);
    const [table] = runsTables(body);
    expect(queryLines(table).slice(-1)).toEqual(['limit 25']);
    expect(table.properties.title).toMatch(/^Last 25 runs, newest first/);
    // The per-job table has one row per job, whatever lastRuns is.
    expect(queryLines(perJobTables(body)[0]).slice(-1)).toEqual(['limit 2']);
  });
});

describe('bad props', () => {
  const job = (stack: Stack) => new MonitoredScheduledTask(stack, 'Job', minimalProps());
  test.each<[string, FleetDashboardProps, RegExp]>([
    ['a dashboard name with a space', { dashboardName: 'my fleet' }, /dashboardName must be 1-255 characters from A-Z a-z 0-9 - _, got 'my fleet'/],
    ['a dashboard name of 256 characters', { dashboardName: 'x'.repeat(256) }, /dashboardName must be 1-255 characters/],
    ['a sub-minute period', { period: Duration.seconds(10) }, /period must be a whole number of minutes \(CloudWatch returns nothing for sub-minute periods on data older than 3 hours\), got 10 seconds/],
    ['a period of 90 seconds', { period: Duration.seconds(90) }, /period must be a whole number of minutes/],
    ['a range shorter than the period', { defaultInterval: Duration.minutes(30), period: Duration.hours(1) }, /defaultInterval \(30 minutes\) must be at least the period \(1 hour\)/],
    ['a 7-minute period for a 20-day range', { period: Duration.minutes(7), defaultInterval: Duration.days(20) },
      /period must be a multiple of 5 minutes when defaultInterval reaches back more than 15 days \(CloudWatch returns no data points older than 15 days at other periods: API_MetricStat\), got period 7 minutes with defaultInterval 20 days/],
    ['the default 5-minute period for a 90-day range', { defaultInterval: Duration.days(90) },
      /period must be a multiple of 1 hour when defaultInterval reaches back more than 63 days .*got period 5 minutes with defaultInterval 90 days/],
    ['a 30-minute period for a 64-day range', { period: Duration.minutes(30), defaultInterval: Duration.days(64) }, /period must be a multiple of 1 hour/],
    ['no rows of last runs', { lastRuns: 0 }, /lastRuns must be a whole number from 1 to 10000 \(rows of the last-runs table\), got 0/],
    ['more rows than Logs Insights returns', { lastRuns: 10_001 }, /lastRuns must be a whole number from 1 to 10000/],
  ])('%s fails', (_name, props, message) => {
    expect(() => new FleetDashboard(newStack(), 'Fleet', props)).toThrow(message);
  });

  test.each<[string, FleetDashboardProps]>([
    ['a 7-minute period for 15 days', { period: Duration.minutes(7), defaultInterval: Duration.days(15) }],
    ['a 10-minute period for 63 days', { period: Duration.minutes(10), defaultInterval: Duration.days(63) }],
    ['a 1-hour period for 455 days', { period: Duration.hours(1), defaultInterval: Duration.days(455) }],
  ])('%s is accepted (API_MetricStat returns its data points)', (_name, props) => {
    const stack = newStack();
    expect(() => new FleetDashboard(stack, 'Fleet', { ...props, members: [job(stack)] })).not.toThrow();
  });

  test.each<[string, Partial<FleetMember>, RegExp]>([
    ['a service without serviceName', { kind: FleetMemberKind.SERVICE, serviceName: undefined }, /fleetMember of TestStack\/Bad: serviceName is required for a SERVICE/],
    ['a scheduled task without family', { family: undefined }, /fleetMember of TestStack\/Bad: family is required for a SCHEDULED_TASK/],
    ['a cpu of 0', { cpu: 0 }, /fleetMember of TestStack\/Bad: cpu must be a positive number, got 0/],
    ['a memory of -1', { memoryLimitMiB: -1 }, /memoryLimitMiB must be a positive number, got -1/],
    ['an unknown kind', { kind: 'BATCH' as FleetMemberKind }, /kind must be SCHEDULED_TASK or SERVICE, got BATCH/],
  ])('a member with %s fails, naming the member and the field', (_name, override, message) => {
    const stack = newStack();
    const real = job(stack).fleetMember;
    const bad = Object.assign(new Construct(stack, 'Bad'), { fleetMember: { ...real, ...override } });
    expect(() => new FleetDashboard(stack, 'Fleet').addMember(bad)).toThrow(message);
  });

  test('addMember of something without a fleetMember fails', () => {
    const stack = newStack();
    expect(() => new FleetDashboard(stack, 'Fleet').addMember(new Construct(stack, 'Nope') as any))
      .toThrow(/addMember needs a construct with a fleetMember/);
  });
});
