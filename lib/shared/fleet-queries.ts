// The fleet dashboard's Logs Insights queries over the run-outcome handler's RUN_OUTCOME lines, and how the jobs are
// split between widgets. Not part of the jsii API (not exported from index.ts).
//
// Field names are those of `RunOutcomeRecord` (lib/notifier/run-outcome.ts), written as a whole-JSON log event.
// Functions and commands used, from the CloudWatch Logs User Guide, "Logs Insights query syntax": `substr(str,
// startIndex, length)` (0-based: `substr("xyZfooxyZ", 3, 3)` is "foo"), `floor`, `stats … by`, `sort`, `limit`, and
// `dedup` ("only the first result in the sort order being kept"; "the only query command that you can use … after
// the dedup command is limit").

/**
 * Limits, with their sources.
 * - "You can include up to 50 log groups" per query; the query string is at most 10,000 characters (StartQuery, AWS
 *   API model: QueryString max 10000).
 * - A Logs Insights bar chart draws at most 100 bars (REFERENCE §10). Whether AWS counts bars or categories is not
 *   documented: a chart here has at most 100 bars counting every series of every job, so it holds either way.
 */
export const MAX_LOG_GROUPS_PER_QUERY = 50;
export const MAX_QUERY_CHARS = 10_000;
export const MAX_BARS_PER_CHART = 100;
/** Length assumed for a family not known at synth (a token): ECS accepts up to 255 characters. */
const UNRESOLVED_FAMILY_CHARS = 255;

/** Characters of the run summary shown (the judge's one line: "The app container "app" exited 1", "… OUT OF MEMORY …"). */
export const REASON_CHARS = 50;
/** Characters of the right-size hint shown in the runs table. */
export const RIGHT_SIZE_CHARS = 40;

/**
 * The screen budget of the per-job table. AWS does not publish the pixel size of a grid unit; the budget assumes
 * (unverified) that one unit of height holds one table row, and that a 24-unit-wide table on a 1,920-pixel screen
 * shows `SCREEN_ROW_CHARS` characters in a row. A table of 30 jobs then takes 33 units: the title, the column
 * names and 30 rows, with no scrolling; more jobs than that scroll inside the widget.
 */
export const SCREEN_ROWS = 30;
/** Characters a row of a 24-unit table shows on a 1,920-pixel screen, about 8 pixels each (unverified, see above). */
export const SCREEN_ROW_CHARS = 220;

/** One column of a Logs Insights table: its name (an alias, short on purpose), its expression and its widest value. */
export interface QueryColumn {
  readonly name: string;
  readonly expression: string;
  /** The most characters a value takes (the family: whatever the longest family of the chunk is). */
  readonly width: number;
}

/**
 * The per-job table: the whole latest RUN_OUTCOME line of each job (`sort @timestamp desc | dedup family`), so every
 * column comes from one run. (`stats latest(x), latest(y) by family` would take each field from the latest event that
 * has it: a run without a REPORT, whose peak fields are null, would show an older run's peaks beside its outcome.)
 */
export function lastRunColumns(familyChars: number): QueryColumn[] {
  return ['family', 'outcome', '@timestamp', 'runS', 'memPct', 'cpuAvgPct', 'cpuMaxPct', 'tries', 'exit', 'oom', 'stop', 'why']
    .map((name) => column(name, familyChars));
}

/** The runs table: the last `lastRuns` runs of every job, newest first, with the task id and the reason. */
export function runsColumns(familyChars: number): QueryColumn[] {
  return ['@timestamp', 'family', 'outcome', 'runS', 'memPct', 'cpuAvgPct', 'cpuMaxPct', 'tries', 'taskId', 'why', 'rightSize']
    .map((name) => column(name, familyChars));
}

/** Every column the tables show, by name: one definition each. */
const COLUMNS: { [name: string]: Omit<QueryColumn, 'name' | 'width'> & { width: number | 'family' } } = {
  'family': { expression: 'family', width: 'family' },
  'outcome': { expression: 'outcome', width: 'FAILED_TO_START'.length },
  // When the handler logged the line, seconds after the run ended: every line has it (a skipped or timed-out reliable
  // run has no `stoppedAt`). Budgeted at 23 characters ("2026-12-07 02:14:03.512"; how the console formats it is unverified).
  '@timestamp': { expression: '@timestamp', width: 23 },
  'runS': { expression: 'floor(durationSeconds) as runS', width: 6 },
  'memPct': { expression: 'peakMemoryPercent as memPct', width: 5 },
  'cpuAvgPct': { expression: 'cpuAverageUtilizationPercent as cpuAvgPct', width: 5 },
  'cpuMaxPct': { expression: 'cpuMaxUtilizationPercent as cpuMaxPct', width: 5 },
  'tries': { expression: 'attempts as tries', width: 2 },
  'exit': { expression: 'appExitCode as exit', width: 4 },
  'oom': { expression: 'oom', width: 5 },
  'stop': { expression: 'stopCode as stop', width: 'ServiceSchedulerInitiated'.length },
  // ECS task ids are 32 hexadecimal digits
  'taskId': { expression: 'taskId', width: 32 },
  'why': { expression: `substr(summary, 0, ${REASON_CHARS}) as why`, width: REASON_CHARS },
  'rightSize': { expression: `substr(rightSize, 0, ${RIGHT_SIZE_CHARS}) as rightSize`, width: RIGHT_SIZE_CHARS },
};

function column(name: string, familyChars: number): QueryColumn {
  const c = COLUMNS[name];
  return { name, expression: c.expression, width: c.width === 'family' ? familyChars : c.width };
}

/** The run-outcome handler's line for each task stop (or reliable run) of these families. */
export function runOutcomeFilter(families: string[]): string {
  return `filter type = "RUN_OUTCOME" and (${families.map((f) => `family = ${JSON.stringify(f)}`).join(' or ')})`;
}

export function lastRunPerJobQuery(families: string[]): string[] {
  return [
    runOutcomeFilter(families),
    `fields ${lastRunColumns(0).map((c) => c.expression).join(', ')}`,
    'sort @timestamp desc',
    'dedup family',
    // One row per job; the default limit (1,000 rows on dashboards) could cut a chunk of more jobs, never this one.
    `limit ${families.length}`,
  ];
}

export function lastRunsQuery(families: string[], lastRuns: number): string[] {
  return [
    runOutcomeFilter(families),
    `fields ${runsColumns(0).map((c) => c.expression).join(', ')}`,
    'sort @timestamp desc',
    `limit ${lastRuns}`,
  ];
}

/** Series per job of the bar charts (each a `stats` aggregate: one bar per job and series). */
export const BAR_SERIES_PER_JOB = 2;

export function peakMemoryQuery(families: string[]): string[] {
  return [
    runOutcomeFilter(families),
    'stats max(peakMemoryPercent) as worstRunPeakMemoryPercent, avg(peakMemoryPercent) as averageRunPeakMemoryPercent by family',
    'sort worstRunPeakMemoryPercent desc',
  ];
}

/**
 * CPU per job beside memory: the busiest run's peak and the average run's average, least used first, so a task sized
 * far above what it uses heads the chart as a task near its memory limit heads the memory chart.
 */
export function cpuQuery(families: string[]): string[] {
  return [
    runOutcomeFilter(families),
    'stats max(cpuMaxUtilizationPercent) as busiestRunCpuMaxPercent, avg(cpuAverageUtilizationPercent) as averageRunCpuAveragePercent by family',
    'sort busiestRunCpuMaxPercent asc',
  ];
}

/** A job of a Logs Insights widget: its family and the handler log group holding its lines. */
export interface QueryJob {
  readonly family: string;
  readonly logGroupName: string;
}

export interface QueryChunk {
  readonly logGroupNames: string[];
  readonly families: string[];
}

/**
 * Jobs grouped so that each query reads at most 50 log groups, stays under 10,000 characters for every query built
 * from the chunk (`queries`), and holds at most `maxJobs` jobs (bar charts: 100 bars).
 */
export function queryChunks(jobs: QueryJob[], queries: ((families: string[]) => string[])[], maxJobs = Infinity): QueryChunk[] {
  const result: { logGroupNames: string[]; families: string[] }[] = [];
  let current: { logGroupNames: string[]; families: string[] } | undefined;
  for (const job of jobs) {
    const fits = (c: { logGroupNames: string[]; families: string[] }) => {
      const logGroupNames = c.logGroupNames.includes(job.logGroupName) ? c.logGroupNames : [...c.logGroupNames, job.logGroupName];
      const families = [...c.families, job.family];
      return logGroupNames.length <= MAX_LOG_GROUPS_PER_QUERY && families.length <= maxJobs
        && Math.max(...queries.map((q) => queryChars(q(families)))) <= MAX_QUERY_CHARS;
    };
    if (!current || !fits(current)) {
      current = { logGroupNames: [], families: [] };
      result.push(current);
    }
    if (!current.logGroupNames.includes(job.logGroupName)) current.logGroupNames.push(job.logGroupName);
    current.families.push(job.family);
  }
  return result;
}

/**
 * Characters of a query, each family not known at synth (a token) counted at 255, the longest family ECS accepts. The
 * widget's `SOURCE '…' |` prefixes are not counted: they name the log groups (at most 50, counted apart).
 */
export function queryChars(lines: string[]): number {
  return lines.join('\n| ').replace(/\$\{Token\[[^\]]*\]\}/g, 'x'.repeat(UNRESOLVED_FAMILY_CHARS)).length;
}

/**
 * Characters one row of a table takes: every column at its widest value or its name, whichever is longer, plus 2
 * characters of space between columns. The screen budget is set in these characters (see fleet-dashboard.ts).
 */
export function rowChars(columns: QueryColumn[]): number {
  return columns.reduce((n, c) => n + Math.max(c.name.length, c.width), 0) + 2 * (columns.length - 1);
}
