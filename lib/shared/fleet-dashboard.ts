import { Annotations, Aspects, Duration, IAspect, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import {
  BAR_SERIES_PER_JOB, cpuQuery, lastRunPerJobQuery, lastRunsQuery, MAX_BARS_PER_CHART, MAX_LOG_GROUPS_PER_QUERY, MAX_QUERY_CHARS,
  peakMemoryQuery, queryChunks, SCREEN_ROWS,
} from './fleet-queries';
import { TaskMetrics } from '../agent/task-metrics';

/**
 * What a {@link FleetMember} is: a task run to completion on a schedule, or a long-running service.
 */
export enum FleetMemberKind {
  /** A scheduled task (a batch job): runs, failures, run time and per-run peaks. */
  SCHEDULED_TASK = 'SCHEDULED_TASK',
  /** An ECS service: running tasks, CPU and scaling. */
  SERVICE = 'SERVICE',
}

/**
 * What a {@link FleetDashboard} needs to know about one monitored task or service: its metrics, its size and, for
 * scheduled tasks, where the run-outcome handler logs its runs.
 */
export interface FleetMember {
  /** Scheduled task or service. */
  readonly kind: FleetMemberKind;

  /** Name shown on the dashboard: the task definition family of a scheduled task, the service name of a service. */
  readonly name: string;

  /** The agent's metrics of the task or service. */
  readonly taskMetrics: TaskMetrics;

  /** Name of the ECS cluster. */
  readonly clusterName: string;

  /**
   * ECS service name (dimension `ServiceName` of Container Insights' task counts). Required for a SERVICE.
   *
   * @default - none (scheduled tasks)
   */
  readonly serviceName?: string;

  /**
   * Task definition family: the `family` field of the run-outcome handler's RUN_OUTCOME log lines. Required for a
   * SCHEDULED_TASK.
   *
   * @default - none (services)
   */
  readonly family?: string;

  /** Task CPU, in CPU units (1024 = 1 vCPU). */
  readonly cpu: number;

  /** Task memory, MiB. */
  readonly memoryLimitMiB: number;

  /**
   * Runs that ended, any outcome (count). The dashboard sums it per day and over the time range.
   *
   * @default - no run counts for this member
   */
  readonly runs?: cloudwatch.IMetric;

  /**
   * Failed runs (count).
   *
   * @default - no failure counts for this member
   */
  readonly failedRuns?: cloudwatch.IMetric;

  /**
   * Log group of the run-outcome handler, which writes one whole-JSON log event per task stop or reliable run
   * (`"type": "RUN_OUTCOME"`, with `family`, `taskId`, `outcome`, `oom`, `appExitCode`, `stopCode`, `summary`,
   * `stoppedAt`, `durationSeconds`, `peakMemoryPercent`, `memoryLimitMiB`, `cpuAverageUtilizationPercent`,
   * `cpuMaxUtilizationPercent`, `rightSize`, and `attempts` for a reliable run). The Logs Insights widgets read it.
   *
   * @default - this member is left out of the Logs Insights widgets
   */
  readonly runOutcomeLogGroup?: logs.ILogGroup;

  /**
   * The alarms that drive scaling (services). Their thresholds are drawn on the CPU graph and their states shown.
   *
   * @default - none
   */
  readonly scalingAlarms?: cloudwatch.IAlarm[];

  /**
   * Alarms for people, shown in the alarm status widgets on top.
   *
   * @default - none
   */
  readonly alarms?: cloudwatch.IAlarm[];

  /**
   * The job's missed-run alarm (no run ended within its window). A job with no RUN_OUTCOME line in the time range has
   * no row in the per-job table (a Logs Insights query returns only what it finds), so the missed-run alarms are shown
   * right under it: a job that has not run shows there as ALARM.
   *
   * @default - none: the job is listed on the dashboard as having no missed-run alarm
   */
  readonly missedRunAlarm?: cloudwatch.IAlarm;

  /**
   * Alarms of the monitoring itself that this member relies on: the run-outcome handler's (`errorsAlarm`,
   * `deadLetterAlarm`: a broken handler leaves the runs tables empty) and, for reliable runs, the state machine's
   * `executionsFailedAlarm`. Shown first in the alarm status widgets; an alarm shared by several members is shown once.
   *
   * @default - none
   */
  readonly monitoringAlarms?: cloudwatch.IAlarm[];

  /**
   * Log group of the task's containers (app and agent streams, each ending in the task id). The dashboard links to it,
   * so a run's task id in the runs table leads to its logs.
   *
   * @default - no link
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Tasks of a service that stopped as incidents (count): graphed in the service's row, summed per `period`.
   *
   * @default - no crash graph
   */
  readonly taskCrashes?: cloudwatch.IMetric;
}

/**
 * A construct that can be a row of a {@link FleetDashboard}. `MonitoredScheduledTask` and `FastScalingService`
 * implement it.
 */
export interface IFleetDashboardMember extends IConstruct {
  /** What the fleet dashboard shows of this construct. */
  readonly fleetMember: FleetMember;
}

/**
 * Properties of {@link FleetDashboard}.
 */
export interface FleetDashboardProps {
  /**
   * Name of the dashboard: 1–255 characters from A-Z a-z 0-9 - _. Dashboards are global per account, not per
   * Region: the same fixed name in two Regions (or two stacks) of one account is one dashboard, which the second
   * deployment overwrites or fails on.
   *
   * @default - generated by CloudFormation (unique)
   */
  readonly dashboardName?: string;

  /**
   * Time range shown when the dashboard opens.
   *
   * @default Duration.days(7): a week of nightly runs
   */
  readonly defaultInterval?: Duration;

  /**
   * Period of the CPU, memory, task-count and crash graphs: a whole number of minutes. CloudWatch returns nothing for
   * sub-minute periods on data older than 3 hours, and this dashboard looks back days; for data older than 15 days
   * only multiples of 5 minutes, older than 63 days only multiples of 1 hour (API_MetricStat), so a `defaultInterval`
   * past 15 (63) days needs such a period. Runs are counted per day and
   * run time is graphed as the maximum per hour, whatever this period.
   *
   * @default Duration.minutes(5)
   */
  readonly period?: Duration;

  /**
   * Rows of the "last runs" Logs Insights table (1–10,000: the most one GetQueryResults call returns; a query returns
   * up to 100,000 only by paging, which a dashboard widget is not documented to do).
   *
   * @default 100
   */
  readonly lastRuns?: number;

  /**
   * The first members; add more with `addMember`.
   *
   * @default - none
   */
  readonly members?: IFleetDashboardMember[];

  /**
   * Also add every fleet member of this stack (every construct with a `fleetMember`, such as each
   * `MonitoredScheduledTask` and `FastScalingService`), wherever in the stack and whenever it is created: a CDK
   * Aspect visits the stack at synth. Members added with `addMember` are not added twice.
   *
   * @default false (only the members you add)
   */
  readonly includeStackMembers?: boolean;
}

/*
 * Limits, with their sources.
 * - Widgets per dashboard: "A DashboardBody … can include an array of between 0 and 500 widget objects" (CloudWatch API
 *   reference, Dashboard Body Structure and Syntax); CloudFormation rejects more ("Should NOT have more than 500 items").
 * - Metrics: "Up to 500 metrics per dashboard widget. Up to 2500 metrics per dashboard, across all widgets", metric math
 *   inputs included (CloudWatch service quotas, Dashboards).
 * - Alarm status widget: "An array of alarm ARNs … The array can have 1-100 ARNs" (Dashboard Body Structure).
 * - Logs Insights: 50 log groups and 10,000 characters per query, 100 bars per bar chart (see fleet-queries.ts); "up to
 *   100 concurrent CloudWatch Logs insights queries, including queries added to dashboards" (StartQuery, in
 *   @aws-sdk/client-cloudwatch-logs).
 *   `limit` "The maximum limit is 100,000", at most 10,000 per GetQueryResults call (StartQuery, GetQueryResults).
 * - The dashboard body has no documented size limit of its own, but it is a property in the stack's template, which
 *   CloudFormation accepts up to 1 MB (CloudFormation quotas, template body size in an Amazon S3 object).
 */
const MAX_WIDGETS = 500;
const MAX_METRICS = 2500;
const MAX_ALARMS_PER_WIDGET = 100;
/** Our own cap on the estimated body: half the template limit, leaving the other half to the stack's resources. */
const MAX_BODY_CHARS = 500_000;
/** Jobs per runs table: 2 metrics each, 100 per table (well under 500 per widget; a longer table is unreadable). */
const JOBS_PER_RUNS_TABLE = 50;
/** Logs Insights widgets of an unsplit fleet: the per-job table, the runs table and the two bar charts. */
const UNSPLIT_LOG_QUERIES = 4;
/** "up to 100 concurrent CloudWatch Logs insights queries, including queries added to dashboards" (StartQuery). */
const MAX_CONCURRENT_LOG_QUERIES = 100;
/** Data older than 15 days needs periods of a multiple of 300 s, older than 63 days of 3,600 s (API_MetricStat). */
const PERIOD_MULTIPLES_BY_AGE: [number, number][] = [[63, 3600], [15, 300]];
/** Jobs per "logs of a run" text widget (one link each). */
const JOBS_PER_LINKS_WIDGET = 30;

/** One accepted member: its data, its construct and its own row of widgets. */
interface Entry {
  readonly construct: IConstruct;
  readonly member: FleetMember;
  readonly row: cloudwatch.IWidget[];
  readonly metrics: number;
  readonly chars: number;
}

/**
 * One CloudWatch dashboard for the monitored scheduled tasks and services of a stack (or any you add): one row each,
 * under fleet-wide views, so a team with thirty nightly jobs reads one page instead of thirty.
 *
 * From the top: what the dashboard shows and which members were left out; the alarm states of every member, the
 * monitoring's own alarms first (the run-outcome handler's errors and dead letters, the reliable-run state machine's
 * failed executions: a broken handler leaves the runs tables empty); for scheduled tasks, read from the run-outcome
 * handler's RUN_OUTCOME log lines: one row per job with its last run (outcome, when it was judged, run time, peak
 * memory against the limit that kills, CPU average and peak against the vCPU, attempts, exit code, OOM, stop code and the
 * summary cut to 50 characters), the jobs' missed-run alarms right under it (a job with no run in the time range has
 * no row: its missed-run alarm shows it), the last `lastRuns` runs with their task ids and reasons, links to the jobs'
 * log groups (each run's streams end in its task id), bar charts of memory (closest to the limit first) and CPU (least
 * used first: oversized tasks) per job, and a table of runs and failed runs per job over the time range; then one row
 * per job (runs and failures per day, run time, CPU and memory); then one row per service (desired, running and
 * pending tasks from Container Insights, whose steps are the scaling actions; CPU and memory against the scaling
 * alarms' thresholds; task crashes when the member has `taskCrashes`; the scaling alarms' states).
 *
 * It opens on the last 7 days with periods of 5 minutes or more, obeyed as set (CloudWatch returns nothing for
 * sub-minute periods on data older than 3 hours, nothing older than 15 days at a period that is not a multiple of
 * 5 minutes, nothing older than 63 days at one that is not a multiple of an hour). Service task counts need Container
 * Insights on the cluster.
 *
 * Limits: a member that would take the dashboard past 500 widgets, 2,500 metrics or an estimated 500,000 characters
 * of body is left out, with a synth warning and a line on the dashboard; Logs Insights widgets are split when their
 * jobs' log groups pass 50, a query 10,000 characters or a bar chart 100 bars (a synth warning: each widget is one
 * more query per refresh, and an account runs at most 100 at once). Alarm status widgets hold 100 alarms each.
 *
 * Created only by you (`new FleetDashboard(stack, 'Fleet')`): no stack gets one unasked.
 *
 * @throws if `dashboardName`, `defaultInterval`, `period` (also: not a multiple of 5 minutes for a `defaultInterval`
 * past 15 days, of 1 hour past 63 days) or `lastRuns` is invalid, if a member's `fleetMember` is
 * incomplete (a service without `serviceName`, a scheduled task without `family`, a non-positive `cpu` or
 * `memoryLimitMiB`), and at synth if the dashboard has no member
 */
export class FleetDashboard extends Construct {
  /** The dashboard. Widgets you add go below the fleet's rows. */
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly entries: Entry[] = [];
  private readonly seen = new Set<IConstruct>();
  private readonly skipped: string[] = [];
  private readonly period: Duration;
  private readonly lastRuns: number;
  private logQueries = 0;

  constructor(scope: Construct, id: string, props: FleetDashboardProps = {}) {
    super(scope, id);
    const defaultInterval = props.defaultInterval ?? Duration.days(7);
    this.period = props.period ?? Duration.minutes(5);
    this.lastRuns = props.lastRuns ?? 100;
    validateProps(props, defaultInterval, this.period, this.lastRuns);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval,
      // Per-day run counts stay per day, hourly run time per hour: the console does not re-pick the periods.
      periodOverride: cloudwatch.PeriodOverride.INHERIT,
    });
    // Everything the fleet shows is laid out when the template is written, so members added later (by addMember or
    // the stack Aspect) still get the fleet-wide widgets on top.
    this.dashboard.addWidgets(new LazyColumn(() => this.layout(), () => this.seen.size));

    for (const member of props.members ?? []) this.addMember(member);
    if (props.includeStackMembers) Aspects.of(Stack.of(this)).add(new StackMembers(this));
    this.node.addValidation({
      validate: () => this.entries.length === 0 && this.skipped.length === 0
        ? [`FleetDashboard ${this.node.path} has no members: call addMember() or set includeStackMembers`]
        : [],
    });
  }

  /** Names of the members shown, in the order added. */
  public get memberNames(): string[] {
    return this.entries.map((e) => e.member.name);
  }

  /** Names of the members left out because the dashboard reached one of its limits. */
  public get skippedMemberNames(): string[] {
    return [...this.skipped];
  }

  /**
   * Adds a monitored task or service: a row of its own, and its part in the fleet-wide widgets. Adding the same
   * construct again does nothing. A member that would take the dashboard past its limits (500 widgets, 2,500 metrics,
   * an estimated 500,000 characters of body) is left out with a synth warning.
   *
   * @throws if the member's `fleetMember` is incomplete (see {@link FleetMember})
   */
  public addMember(member: IFleetDashboardMember): void {
    if (!member || !member.fleetMember) {
      throw new Error('addMember needs a construct with a fleetMember (a MonitoredScheduledTask, a FastScalingService or your own IFleetDashboardMember)');
    }
    if (this.seen.has(member)) return;
    this.seen.add(member);
    const m = member.fleetMember;
    validateMember(m, member.node.path);

    const row = m.kind === FleetMemberKind.SCHEDULED_TASK ? this.jobRow(m) : this.serviceRow(m);
    const json = row.flatMap((w) => w.toJson());
    const entry: Entry = {
      construct: member,
      member: m,
      row,
      metrics: json.reduce((n, w) => n + (w.properties?.metrics?.length ?? 0), 0),
      chars: JSON.stringify(json).length,
    };
    const cost = this.cost([...this.entries, entry]);
    const over = [
      cost.widgets > MAX_WIDGETS ? `${cost.widgets} widgets (CloudWatch allows ${MAX_WIDGETS} per dashboard)` : undefined,
      cost.metrics > MAX_METRICS ? `${cost.metrics} metrics (CloudWatch allows ${MAX_METRICS} per dashboard)` : undefined,
      cost.chars > MAX_BODY_CHARS ? `about ${cost.chars} characters of dashboard body (capped at ${MAX_BODY_CHARS}: the whole template must stay under 1 MB)` : undefined,
    ].filter((x): x is string => x !== undefined);
    if (over.length > 0) {
      this.skipped.push(m.name);
      Annotations.of(this).addWarningV2('cdk-fargate-monitor:fleetMemberSkipped',
        `${member.node.path} is not on fleet dashboard ${this.node.path}: it would take the dashboard to ${over.join(' and ')}. ` +
        'Put the rest of the fleet on a second FleetDashboard.');
      return;
    }
    this.entries.push(entry);
    if (cost.logQueries > UNSPLIT_LOG_QUERIES && cost.logQueries > this.logQueries) {
      Annotations.of(this).addWarningV2('cdk-fargate-monitor:fleetLogQueriesSplit',
        `fleet dashboard ${this.node.path}: the scheduled tasks' run-outcome log groups pass ${MAX_LOG_GROUPS_PER_QUERY} per query, ` +
        `a query ${MAX_QUERY_CHARS} characters or a bar chart ${MAX_BARS_PER_CHART} bars, so the Logs Insights widgets are split: ` +
        `each refresh runs ${cost.logQueries} queries, and an account runs at most ${MAX_CONCURRENT_LOG_QUERIES} Logs Insights queries at once (dashboards included).`);
    }
    this.logQueries = cost.logQueries;
  }

  /** Widgets, metrics and estimated body size of the dashboard with these entries (the fleet-wide widgets included). */
  private cost(entries: Entry[]) {
    const fleet = this.fleetWidgets(entries);
    const json = fleet.all.flatMap((w) => w.toJson());
    return {
      widgets: json.length + entries.reduce((n, e) => n + e.row.length, 0),
      metrics: json.reduce((n, w) => n + (w.properties?.metrics?.length ?? 0), 0) + entries.reduce((n, e) => n + e.metrics, 0),
      chars: JSON.stringify(json).length + entries.reduce((n, e) => n + e.chars, 0),
      logQueries: fleet.logQueries,
    };
  }

  /** All rows, top to bottom. */
  private layout(): cloudwatch.IWidget[] {
    const jobs = this.entries.filter((e) => e.member.kind === FleetMemberKind.SCHEDULED_TASK);
    const services = this.entries.filter((e) => e.member.kind === FleetMemberKind.SERVICE);
    const fleet = this.fleetWidgets(this.entries);
    return [
      fleet.header,
      ...fleet.alarms,
      ...(jobs.length > 0 ? [fleet.jobsHeader!, ...flow(fleet.jobWidgets), ...jobs.map((e) => new cloudwatch.Row(...e.row))] : []),
      ...(services.length > 0 ? [fleet.servicesHeader!, ...services.map((e) => new cloudwatch.Row(...e.row))] : []),
    ];
  }

  /**
   * The widgets that depend on the whole fleet: header, alarm states, the per-job table and the missed-run alarms, the
   * runs table, the memory and CPU bar charts, the run counts and the links to the jobs' logs.
   */
  private fleetWidgets(entries: Entry[]) {
    const jobs = entries.filter((e) => e.member.kind === FleetMemberKind.SCHEDULED_TASK).map((e) => e.member);
    const services = entries.filter((e) => e.member.kind === FleetMemberKind.SERVICE).map((e) => e.member);
    const withoutMissedRunAlarm = jobs.filter((j) => !j.missedRunAlarm).map((j) => j.name);
    const withoutRunLines = jobs.filter((j) => !j.runOutcomeLogGroup).map((j) => j.name);

    const header = new cloudwatch.TextWidget({
      markdown: [
        `# Fleet: ${jobs.length} scheduled task${jobs.length === 1 ? '' : 's'}, ${services.length} service${services.length === 1 ? '' : 's'}`,
        'Runs, outcomes and per-run peaks come from the run-outcome handler (its RUN_OUTCOME log lines and its `Runs`/`FailedRuns` ' +
        'metrics; their peak memory is % of the limit that kills); CPU and memory graphs from the cdk-fargate-monitor agent (CPU as % of the task\'s vCPU, memory as % of the limit); ' +
        `service task counts from Container Insights. Graph periods: ${this.period.toMinutes()} min (CPU, memory, tasks), 1 hour (run time), 1 day (runs). ` +
        'A job with no run in the time range has no row in the per-job table: its missed-run alarm, under the table, is in ALARM.',
        ...(withoutMissedRunAlarm.length > 0 ? [`**No missed-run alarm (absence not shown):** ${withoutMissedRunAlarm.join(', ')}.`] : []),
        ...(withoutRunLines.length > 0 ? [`**No run-outcome lines (not in the Logs Insights widgets):** ${withoutRunLines.join(', ')}.`] : []),
        ...(this.skipped.length > 0
          ? [`**Not shown (dashboard limits):** ${this.skipped.join(', ')}. Put them on a second FleetDashboard.`]
          : []),
      ].join('\n\n'),
      width: 24,
      height: 3 + [withoutMissedRunAlarm, withoutRunLines, this.skipped].filter((l) => l.length > 0).length,
    });

    // The monitoring's own alarms first: a broken handler leaves every runs table empty.
    const alarms = unique([...entries.flatMap((e) => e.member.monitoringAlarms ?? []), ...entries.flatMap((e) => e.member.alarms ?? [])]);
    const alarmWidgets = alarmStatusWidgets('Alarms', alarms, 24);

    const logged = jobs.filter((j) => j.runOutcomeLogGroup !== undefined)
      .map((j) => ({ family: j.family!, logGroupName: j.runOutcomeLogGroup!.logGroupName }));
    const tableChunksOfQueries = queryChunks(logged, [lastRunPerJobQuery, (f) => lastRunsQuery(f, this.lastRuns)]);
    const barChunks = queryChunks(logged, [peakMemoryQuery, cpuQuery], Math.floor(MAX_BARS_PER_CHART / BAR_SERIES_PER_JOB));
    const jobWidgets: cloudwatch.IWidget[] = [];
    for (const [i, chunk] of tableChunksOfQueries.entries()) {
      const part = tableChunksOfQueries.length > 1 ? ` (part ${i + 1} of ${tableChunksOfQueries.length})` : '';
      jobWidgets.push(new cloudwatch.LogQueryWidget({
        title: `Last run of each job${part}: outcome, when judged, run time (s), peak memory (% of the limit that kills), CPU avg/max (% of the vCPU), attempts, why`,
        logGroupNames: chunk.logGroupNames,
        queryLines: lastRunPerJobQuery(chunk.families),
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: lastRunTableHeight(chunk.families.length),
      }));
    }
    const missedRunAlarms = unique(jobs.flatMap((j) => j.missedRunAlarm ? [j.missedRunAlarm] : []));
    jobWidgets.push(...alarmStatusWidgets('Missed runs (ALARM: no run ended in the job\'s window; such a job may have no row above)', missedRunAlarms, 24));
    for (const [i, chunk] of tableChunksOfQueries.entries()) {
      const part = tableChunksOfQueries.length > 1 ? ` (part ${i + 1} of ${tableChunksOfQueries.length})` : '';
      jobWidgets.push(new cloudwatch.LogQueryWidget({
        title: `Last ${this.lastRuns} runs, newest first, with the task id (its logs: links below) and why${part}`,
        logGroupNames: chunk.logGroupNames,
        queryLines: lastRunsQuery(chunk.families, this.lastRuns),
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 24,
        height: 8,
      }));
    }
    const links = jobs.filter((j) => j.logGroup !== undefined);
    for (const [i, chunk] of chunks(links, JOBS_PER_LINKS_WIDGET).entries()) {
      jobWidgets.push(logLinksWidget(chunk, Stack.of(this), i === 0));
    }
    for (const [i, chunk] of barChunks.entries()) {
      const part = barChunks.length > 1 ? ` (part ${i + 1} of ${barChunks.length})` : '';
      jobWidgets.push(new cloudwatch.LogQueryWidget({
        title: `Peak memory per job, % of the limit that kills: worst run and average run (closest to the limit first)${part}`,
        logGroupNames: chunk.logGroupNames,
        queryLines: peakMemoryQuery(chunk.families),
        view: cloudwatch.LogQueryVisualizationType.BAR,
        width: 12,
        height: 6,
      }));
      jobWidgets.push(new cloudwatch.LogQueryWidget({
        title: `CPU per job, % of the vCPU: busiest run's peak and average run's average (least used first: oversized)${part}`,
        logGroupNames: chunk.logGroupNames,
        queryLines: cpuQuery(chunk.families),
        view: cloudwatch.LogQueryVisualizationType.BAR,
        width: 12,
        height: 6,
      }));
    }
    const counted = jobs.filter((j) => j.runs !== undefined || j.failedRuns !== undefined);
    const tableChunks = chunks(counted, JOBS_PER_RUNS_TABLE);
    for (const [i, chunk] of tableChunks.entries()) {
      jobWidgets.push(new cloudwatch.TableWidget({
        title: `Runs and failed runs per job over the time range${tableChunks.length > 1 ? ` (part ${i + 1} of ${tableChunks.length})` : ''}`,
        metrics: chunk.flatMap((j) => [
          ...(j.runs ? [withOptions(j.runs, { period: Duration.days(1), statistic: 'Sum', label: `${j.name} runs` })] : []),
          ...(j.failedRuns ? [withOptions(j.failedRuns, { period: Duration.days(1), statistic: 'Sum', label: `${j.name} failed` })] : []),
        ]),
        summary: { columns: [cloudwatch.TableSummaryColumn.SUM], hideNonSummaryColumns: true },
        width: 12,
        height: 6,
      }));
    }
    const jobsHeader = jobs.length > 0 ? sectionHeader(`## Scheduled tasks (${jobs.length})`) : undefined;
    const servicesHeader = services.length > 0 ? sectionHeader(`## Services (${services.length})`) : undefined;
    return {
      header,
      alarms: alarmWidgets,
      jobsHeader,
      jobWidgets,
      servicesHeader,
      logQueries: tableChunksOfQueries.length * 2 + barChunks.length * 2,
      all: [header, ...alarmWidgets, ...jobsHeader ? [jobsHeader] : [], ...jobWidgets, ...servicesHeader ? [servicesHeader] : []],
    };
  }

  /** A scheduled task's row: runs and failures per day, run time, CPU and memory. */
  private jobRow(m: FleetMember): cloudwatch.IWidget[] {
    const label = `${m.name} (${m.cpu / 1024} vCPU, ${m.memoryLimitMiB} MiB)`;
    const widgets: cloudwatch.IWidget[] = [];
    const counts = [
      ...(m.runs ? [withOptions(m.runs, { period: Duration.days(1), statistic: 'Sum', label: 'runs' })] : []),
      ...(m.failedRuns ? [withOptions(m.failedRuns, { period: Duration.days(1), statistic: 'Sum', label: 'failed', color: cloudwatch.Color.RED })] : []),
    ];
    if (counts.length > 0) {
      widgets.push(new cloudwatch.GraphWidget({
        title: `${label}: runs and failed runs per day`,
        left: counts,
        leftYAxis: { min: 0, showUnits: false },
        width: 8,
      }));
    }
    widgets.push(new cloudwatch.GraphWidget({
      title: `${m.name}: run time (seconds since the app started, maximum per hour)`,
      left: [m.taskMetrics.metricRunDuration({ period: Duration.hours(1), label: 'run time' })],
      leftYAxis: { min: 0, showUnits: false },
      width: 8,
    }));
    widgets.push(this.cpuMemoryGraph(m, counts.length > 0 ? m.name : label, []));
    return widgets;
  }

  /** A service's row: task counts (each step of desired is a scaling action), CPU and memory, scaling alarm states. */
  private serviceRow(m: FleetMember): cloudwatch.IWidget[] {
    const label = `${m.name} (${m.cpu / 1024} vCPU, ${m.memoryLimitMiB} MiB)`;
    const insights = (metricName: string, l: string) => new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName,
      dimensionsMap: { ClusterName: m.clusterName, ServiceName: m.serviceName! },
      statistic: 'Maximum',
      period: this.period,
      label: l,
    });
    const scaling = m.scalingAlarms ?? [];
    const thresholds = scaling.filter((a): a is cloudwatch.Alarm => a instanceof cloudwatch.Alarm).map((a) => a.toAnnotation());
    // Three widgets of 8 units; with a crash graph, four of 6.
    const width = m.taskCrashes ? 6 : 8;
    return [
      new cloudwatch.GraphWidget({
        title: `${label}: tasks (Container Insights; each step in desired is a scaling action)`,
        left: [insights('DesiredTaskCount', 'desired'), insights('RunningTaskCount', 'running'), insights('PendingTaskCount', 'pending')],
        leftYAxis: { min: 0, showUnits: false },
        width,
      }),
      this.cpuMemoryGraph(m, m.name, thresholds, width),
      ...crashesGraph(m, this.period, width),
      ...(scaling.length > 0 ? [new cloudwatch.AlarmStatusWidget({
        title: `${m.name}: scaling alarms (state now)`,
        alarms: scaling,
        width,
        height: 6,
      })] : []),
    ];
  }

  private cpuMemoryGraph(m: FleetMember, label: string, thresholds: cloudwatch.HorizontalAnnotation[], width = 8): cloudwatch.GraphWidget {
    return new cloudwatch.GraphWidget({
      title: `${label}: CPU (% of the vCPU, average) and memory (% of the limit, maximum)`,
      left: [
        m.taskMetrics.metricCpuUtilization(undefined, { period: this.period, statistic: 'Average', label: 'CPU' }),
        m.taskMetrics.metricMemoryUtilization(undefined, { period: this.period, statistic: 'Maximum', label: 'memory' }),
      ],
      leftAnnotations: thresholds.length > 0 ? thresholds : undefined,
      leftYAxis: { min: 0, showUnits: false },
      width,
    });
  }
}

/** Adds every fleet member of the stack to the dashboard (the `includeStackMembers` prop). */
class StackMembers implements IAspect {
  constructor(private readonly fleet: FleetDashboard) {}

  public visit(node: IConstruct): void {
    if (node !== this.fleet && isFleetDashboardMember(node)) this.fleet.addMember(node);
  }
}

function isFleetDashboardMember(x: IConstruct): x is IFleetDashboardMember {
  return 'fleetMember' in x;
}

/**
 * One column laid out when the dashboard body is rendered (after every `addMember` and Aspect): `cloudwatch.Dashboard`
 * reads its rows' sizes only then. Built again only when members were added since (`version` changed).
 */
class LazyColumn implements cloudwatch.IWidget {
  public readonly width = 24;
  private column?: cloudwatch.Column;
  private builtAt = -1;

  constructor(private readonly rows: () => cloudwatch.IWidget[], private readonly version: () => number) {}

  public get height(): number {
    return this.current().height;
  }

  public position(x: number, y: number): void {
    this.current().position(x, y);
  }

  public toJson(): any[] {
    return this.current().toJson();
  }

  private current(): cloudwatch.Column {
    if (!this.column || this.builtAt !== this.version()) {
      this.column = new cloudwatch.Column(...this.rows());
      this.builtAt = this.version();
    }
    return this.column;
  }
}

function validateProps(props: FleetDashboardProps, defaultInterval: Duration, period: Duration, lastRuns: number): void {
  const name = props.dashboardName;
  if (name !== undefined && !Token.isUnresolved(name) && !/^[A-Za-z0-9_-]{1,255}$/.test(name)) {
    throw new Error(`dashboardName must be 1-255 characters from A-Z a-z 0-9 - _, got '${name}'`);
  }
  if (!period.isUnresolved()) {
    const seconds = period.toSeconds();
    if (seconds < 60 || seconds % 60 !== 0) {
      throw new Error(`period must be a whole number of minutes (CloudWatch returns nothing for sub-minute periods on data older than 3 hours), got ${period.toHumanString()}`);
    }
  }
  if (!defaultInterval.isUnresolved() && !period.isUnresolved() && defaultInterval.toSeconds() < period.toSeconds()) {
    throw new Error(`defaultInterval (${defaultInterval.toHumanString()}) must be at least the period (${period.toHumanString()})`);
  }
  if (!defaultInterval.isUnresolved() && !period.isUnresolved()) {
    // API_MetricStat, Period: data points older than 15 days need a period that is a multiple of 300 s, older than
    // 63 days a multiple of 3,600 s, "otherwise no data points are returned". The dashboard's own periods (1 hour,
    // 1 day) are multiples of both; `period` must be too for the range the board opens on.
    for (const [days, multiple] of PERIOD_MULTIPLES_BY_AGE) {
      if (defaultInterval.toSeconds() > days * 86_400 && period.toSeconds() % multiple !== 0) {
        throw new Error(`period must be a multiple of ${Duration.seconds(multiple).toHumanString()} when defaultInterval reaches back more than ${days} days ` +
          `(CloudWatch returns no data points older than ${days} days at other periods: API_MetricStat), got period ${period.toHumanString()} ` +
          `with defaultInterval ${defaultInterval.toHumanString()}`);
      }
    }
  }
  if (!Token.isUnresolved(lastRuns) && !(Number.isInteger(lastRuns) && lastRuns >= 1 && lastRuns <= 10_000)) {
    throw new Error(`lastRuns must be a whole number from 1 to 10000 (rows of the last-runs table), got ${lastRuns}`);
  }
}

function validateMember(m: FleetMember, path: string): void {
  const where = `fleetMember of ${path}`;
  if (m.kind !== FleetMemberKind.SERVICE && m.kind !== FleetMemberKind.SCHEDULED_TASK) throw new Error(`${where}: kind must be SCHEDULED_TASK or SERVICE, got ${m.kind}`);
  if (!m.name) throw new Error(`${where}: name is required`);
  if (!m.taskMetrics) throw new Error(`${where}: taskMetrics is required`);
  if (m.kind === FleetMemberKind.SERVICE && !m.serviceName) throw new Error(`${where}: serviceName is required for a SERVICE`);
  if (m.kind === FleetMemberKind.SCHEDULED_TASK && !m.family) throw new Error(`${where}: family is required for a SCHEDULED_TASK`);
  for (const [prop, v] of [['cpu', m.cpu], ['memoryLimitMiB', m.memoryLimitMiB]] as const) {
    if (!Token.isUnresolved(v) && !(typeof v === 'number' && v > 0)) throw new Error(`${where}: ${prop} must be a positive number, got ${v}`);
  }
}

/** Alarm status widgets of at most 100 alarms each, most recently changed first; none without alarms. */
function alarmStatusWidgets(title: string, alarms: cloudwatch.IAlarm[], width: number): cloudwatch.AlarmStatusWidget[] {
  const parts = chunks(alarms, MAX_ALARMS_PER_WIDGET);
  return parts.map((chunk, i) => new cloudwatch.AlarmStatusWidget({
    title: parts.length > 1 ? `${title} (${i + 1} of ${parts.length})` : title,
    alarms: chunk,
    sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
    width,
    height: Math.min(2 + Math.ceil(chunk.length / 6), 12),
  }));
}

function lastRunTableHeight(jobs: number): number {
  return 3 + Math.min(jobs, SCREEN_ROWS);
}

/**
 * Links to the jobs' log groups in the CloudWatch console, where each run's app and agent streams end in the task id
 * of the runs table (a text widget's markdown is the one place a dashboard links; a Logs Insights table links
 * nowhere). The URL is the console's, as the Slack message's log links (lib/notifier/run-outcome.ts).
 */
function logLinksWidget(jobs: FleetMember[], stack: Stack, first: boolean): cloudwatch.TextWidget {
  const region = stack.region;
  const links = jobs.map((j) => `[${j.name}](https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}` +
    `#logsV2:log-groups/log-group/${consoleEncode(j.logGroup!.logGroupName)})`);
  return new cloudwatch.TextWidget({
    markdown: [
      ...first ? ['**Logs of a run:** open its job\'s log group; its streams end in the run\'s task id (`app/<container>/<task id>`, `agent/…/<task id>`).'] : [],
      links.join(' · '),
    ].join('\n\n'),
    width: 24,
    height: 2 + (first ? 1 : 0) + Math.floor(jobs.length / 10),
  });
}

/**
 * A log group name as the console's `#logsV2:` fragment takes it: URI-encoded twice with `%` written `$` (as the Slack
 * message's links). A name not known at synth (a token, CloudFormation-generated: letters, digits and `-` only) is
 * left as it is.
 */
function consoleEncode(name: string): string {
  if (Token.isUnresolved(name)) return name;
  return encodeURIComponent(encodeURIComponent(name)).replace(/%/g, '$');
}

/**
 * The service's crash graph (the `TaskCrashes` metric: tasks stopped as incidents), summed per `period`; none when
 * the member has no such metric.
 */
function crashesGraph(m: FleetMember, period: Duration, width: number): cloudwatch.IWidget[] {
  if (!m.taskCrashes) return [];
  return [new cloudwatch.GraphWidget({
    title: `${m.name}: task crashes (tasks stopped as incidents, per ${period.toMinutes()} min)`,
    left: [withOptions(m.taskCrashes, { period, statistic: 'Sum', label: 'crashes', color: cloudwatch.Color.RED })],
    leftYAxis: { min: 0, showUnits: false },
    width,
  })];
}

function sectionHeader(markdown: string): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown: markdown || ' ', width: 24, height: 1, background: cloudwatch.TextWidgetBackground.TRANSPARENT });
}

/** The metric with these options when it is a `Metric` or `MathExpression`; other `IMetric`s as they are. */
function withOptions(metric: cloudwatch.IMetric,
  options: { period: Duration; statistic?: string; label: string; color?: string }): cloudwatch.IMetric {
  if (metric instanceof cloudwatch.Metric) return metric.with(options);
  if (metric instanceof cloudwatch.MathExpression) return metric.with({ period: options.period, label: options.label, color: options.color });
  return metric;
}

/** Full-width widgets in rows of their own, then the narrower ones side by side (a Row wraps at 24 units). */
function flow(widgets: cloudwatch.IWidget[]): cloudwatch.IWidget[] {
  const narrow = widgets.filter((w) => w.width < 24);
  return [...widgets.filter((w) => w.width >= 24), ...narrow.length > 0 ? [new cloudwatch.Row(...narrow)] : []];
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
