import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  FastScalingService, FleetDashboard, FleetDashboardProps, FleetMember, FleetMemberKind, IFleetDashboardMember,
  MonitoredScheduledTask, TaskMetrics,
} from '../../lib';
import { minimalProps, newStack } from '../support/stacks';

/** The fields of the run-outcome handler's RUN_OUTCOME line (the contract with lib/notifier). */
const RUN_OUTCOME_FIELDS = ['type', 'version', 'family', 'clusterName', 'taskArn', 'taskId', 'outcome', 'oom', 'appExitCode',
  'stopCode', 'summary', 'startedAt', 'stoppedAt', 'durationSeconds', 'cpu', 'memoryMiB', 'peakMemoryMiB', 'memoryLimitMiB',
  'peakMemoryPercent', 'cpuAverageUtilizationPercent', 'cpuMaxUtilizationPercent', 'rightSize'];

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
const alarmWidgets = (body: any) => body.widgets.filter((w: any) => w.type === 'alarm');
const titled = (body: any, part: string) => body.widgets.filter((w: any) => (w.properties.title ?? '').includes(part));
/** Metric count of a widget, metric math inputs included (what CloudWatch counts against its quotas). */
const metricCount = (w: any) => w.properties.metrics?.length ?? 0;
/** Periods of a widget's metrics: the metric's own, else the widget's, else 300 s (CloudWatch's default, which CDK leaves out). */
const periodsOf = (w: any) => w.properties.metrics.map((m: any[]) => m[m.length - 1].period ?? w.properties.period ?? 300);

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

  test('the last-runs table reads the RUN_OUTCOME lines of both jobs from the run-outcome handler\'s log group', () => {
    const [table] = logWidgets(body).filter((w: any) => w.properties.view === 'table');
    const q: string = table.properties.query;
    expect(q.startsWith(`SOURCE '<${handlerLogs}>' | `)).toBe(true);
    expect(q).toContain('filter type = "RUN_OUTCOME" and (family = "nightly-report" or family = "hourly-sync")');
    expect(q).toContain('fields @timestamp, family, outcome, durationSeconds, peakMemoryPercent, memoryLimitMiB, cpuAverageUtilizationPercent, cpuMaxUtilizationPercent, rightSize');
    expect(q).toMatch(/\| sort @timestamp desc\n\| limit 100$/);
    expect(table.width).toBe(24);
  });

  test('the memory view is a bar chart of the worst and average peak memory per job, highest first', () => {
    const [bar] = logWidgets(body).filter((w: any) => w.properties.view === 'bar');
    expect(bar.properties.query).toBe(`SOURCE '<${handlerLogs}>' | ` + [
      'filter type = "RUN_OUTCOME" and (family = "nightly-report" or family = "hourly-sync")',
      'stats max(peakMemoryPercent) as worstRunPeakMemoryPercent, avg(peakMemoryPercent) as averageRunPeakMemoryPercent by family',
      'sort worstRunPeakMemoryPercent desc',
    ].join('\n| '));
  });

  test('every field the queries name is a field of the RUN_OUTCOME line', () => {
    const named = logWidgets(body).flatMap((w: any) => {
      const q: string = w.properties.query.replace(/SOURCE '[^']*' \| /g, '').replace(/"[^"]*"/g, '');
      return [...q.matchAll(/\b([a-zA-Z][a-zA-Z0-9]*)\b/g)].map((m) => m[1]);
    });
    const keywords = ['filter', 'and', 'or', 'fields', 'sort', 'desc', 'limit', 'stats', 'max', 'avg', 'as', 'by',
      'worstRunPeakMemoryPercent', 'averageRunPeakMemoryPercent', 'timestamp'];
    expect(named.filter((n: string) => !keywords.includes(n) && !RUN_OUTCOME_FIELDS.includes(n))).toEqual([]);
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

  test('the alarm states of every member on top, the scaling alarms not among them', () => {
    const [alarms] = alarmWidgets(body);
    const expected = [...nightly.alarms.alarms, ...hourly.alarms.alarms, ...shop.alarms.alarms].length;
    expect(alarms.properties.title).toBe('Alarms');
    expect(alarms.properties.alarms).toHaveLength(expected);
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

  constructor(scope: Construct, id: string, props: { kind?: FleetMemberKind; name?: string; logGroup?: logs.ILogGroup; alarms?: number }) {
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
  test('30 real nightly jobs (two stacks of 15): 30 rows, one Logs Insights pair, one runs table, no warning', () => {
    const app = new App();
    const env = { account: '111111111111', region: 'eu-central-1' };
    const jobStacks = [new Stack(app, 'JobsA', { env }), new Stack(app, 'JobsB', { env })];
    const fleetStack = new Stack(app, 'FleetStack', { env });
    const fleet = new FleetDashboard(fleetStack, 'Fleet');
    for (let i = 0; i < 30; i++) {
      fleet.addMember(new MonitoredScheduledTask(jobStacks[i % 2], `Job${i}`, minimalProps({ family: `nightly-job-${i}` })));
    }
    const body = fleetBody(fleetStack);
    expect(fleet.memberNames).toHaveLength(30);
    expect(fleet.skippedMemberNames).toEqual([]);
    const queries = logWidgets(body);
    expect(queries).toHaveLength(2);
    // One query over both stacks' run-outcome log groups, with all 30 families.
    expect(queries[0].properties.query.match(/SOURCE '/g)).toHaveLength(2);
    expect(queries[0].properties.query.match(/family = "nightly-job-\d+"/g)).toHaveLength(30);
    const [runsTable] = metricWidgets(body).filter((w: any) => w.properties.view === 'table');
    expect(metricCount(runsTable)).toBe(60);
    const rows = metricWidgets(body).filter((w: any) => / run time /.test(w.properties.title));
    expect(rows).toHaveLength(30);
    const metrics = metricWidgets(body).reduce((n: number, w: any) => n + metricCount(w), 0);
    expect(metrics).toBe(30 * 5 + 60);
    Annotations.fromStack(fleetStack).hasNoWarning('*', Match.anyValue());
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
    const widgets = logWidgets(fleetBody(stack));
    for (const view of ['table', 'bar']) {
      const queries: string[] = widgets.filter((w: any) => w.properties.view === view).map((w: any) => w.properties.query);
      expect(queries.map((q) => q.match(/SOURCE '/g)!.length)).toEqual([50, 10]);
      expect(queries.map((q) => q.match(/family = /g)!.length)).toEqual([50, 10]);
    }
    Annotations.fromStack(stack).hasWarning('/Fleet/Fleet', Match.stringLikeRegexp('split in 2 pairs: each refresh runs 4 queries, and an account runs at most 100'));
  });

  test('long family names split the queries before 10,000 characters', () => {
    const { stack } = fakeFleet(60, (s, i) => {
      const logGroup = (s.node.tryFindChild('Logs') as logs.LogGroup) ?? new logs.LogGroup(s, 'Logs', { logGroupName: 'run-outcomes' });
      return new FakeMember(s, `job${i}`, { name: `${'x'.repeat(240)}-${i}`, logGroup });
    });
    const widgets = logWidgets(fleetBody(stack));
    const queries: string[] = widgets.map((w: any) => w.properties.query.replace(/^(SOURCE '[^']*' \| )+/, ''));
    expect(queries.length).toBeGreaterThan(2);
    expect(Math.max(...queries.map((q) => q.length))).toBeLessThanOrEqual(10_000);
    expect(Math.max(...queries.map((q) => q.length))).toBeGreaterThan(9_000);
    const tables = widgets.filter((w: any) => w.properties.view === 'table');
    expect(tables.map((w: any) => w.properties.query).join('').match(/family = /g)).toHaveLength(60);
  });

  test('alarm status widgets hold at most 100 alarms each', () => {
    const { stack } = fakeFleet(30, (s, i) => new FakeMember(s, `job${i}`, { alarms: 5 }));
    const widgets = alarmWidgets(fleetBody(stack));
    expect(widgets.map((w: any) => w.properties.alarms.length)).toEqual([100, 50]);
    expect(widgets.map((w: any) => w.properties.title)).toEqual(['Alarms (1 of 2)', 'Alarms (2 of 2)']);
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
    ['no rows of last runs', { lastRuns: 0 }, /lastRuns must be a whole number from 1 to 10000 \(rows of the last-runs table\), got 0/],
    ['more rows than Logs Insights returns', { lastRuns: 10_001 }, /lastRuns must be a whole number from 1 to 10000/],
  ])('%s fails', (_name, props, message) => {
    expect(() => new FleetDashboard(newStack(), 'Fleet', props)).toThrow(message);
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
