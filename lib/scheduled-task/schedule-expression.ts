import { Token } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';

/*
 * EventBridge Scheduler schedule expressions, parsed once: checked at synth (what CreateSchedule would reject at deploy)
 * and read by the missed-run window (lib/scheduled-task/missed-run-window.ts). Internal (not part of the jsii API).
 *
 * Rules and their sources:
 * - [ST] EventBridge Scheduler User Guide, "Schedule types in EventBridge Scheduler"
 *   (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
 *   - rate: `rate(value unit)`, "value: A positive number"; cron: `cron(fields)`, six fields
 *     "minutes hours day-of-month month day-of-week year", with the table of values and wildcards below; one-time:
 *     `at(yyyy-mm-ddThh:mm:ss)`; time zones: the IANA time zone names ("Time zones on EventBridge Scheduler").
 * - [API] EventBridge Scheduler API Reference, CreateSchedule `ScheduleExpression`: "A cron expression consists of six
 *   fields separated by white spaces: (minutes hours day_of_month month day_of_week year)"; "A rate expression
 *   consists of a value as a positive integer, and a unit with the following options: minute | minutes | hour |
 *   hours | day | days".
 * - [RATE] EventBridge User Guide, "Rate expressions reference": "If the value is equal to 1, then the unit must be
 *   singular. If the value is greater than 1, the unit must be plural. For example, rate(1 hours) and rate(5 hour)
 *   aren't valid". The Scheduler guide lists only the plural units; the singular-for-1 form is what aws-cdk-lib's
 *   `ScheduleExpression.rate` writes, and is valid under both readings, so it is the one required here.
 * - [CRON] EventBridge User Guide, "Cron expressions reference" (the same table as [ST]): Minutes 0-59 `, - * /`;
 *   Hours 0-23 `, - * /`; Day-of-month 1-31 `, - * ? / L W`; Month 1-12 or JAN-DEC `, - * /`; Day-of-week 1-7 or
 *   SUN-SAT `, - * ? L #`; Year 1970-2199 `, - * /`. "You can't use * in both the Day-of-month and Day-of-week fields.
 *   If you use it in one, you must use ? in the other." ([ST], cron limitations: "You can't specify the
 *   Day-of-month and Day-of-week fields in the same cron expression. If you specify a value or a * (asterisk) in one
 *   of the fields, you must use a ? (question mark) in the other.")
 *
 * What AWS leaves undocumented is accepted, not guessed at (a wrap-around range such as hours `22-2`, `LW`): the check
 * passes it, and the missed-run window, which cannot enumerate it, says so.
 */

/** A schedule expression that EventBridge Scheduler would reject; the message names the prop and shows the fix. */
export class ScheduleExpressionError extends Error {}

/** A day-of-month or day-of-week condition. `weekday` 0–6 = Sunday–Saturday. */
export type DayMatcher = (day: number, weekday: number, daysInMonth: number) => boolean;

/** A parsed EventBridge cron expression (the part inside `cron(...)`). */
export interface ParsedCron {
  readonly body: string;
  readonly fields: { minutes: string; hours: string; dayOfMonth: string; month: string; dayOfWeek: string; year: string };
  /** The enumerable parts, unless {@link notEnumerable} says why not. */
  readonly minutes: number[];
  readonly hours: number[];
  readonly months: Set<number>;
  readonly dayOfMonth: DayMatcher;
  readonly dayOfWeek: DayMatcher;
  /** Why the fire times cannot be enumerated (a year restriction, a wrap-around range, `LW`), if so. */
  readonly notEnumerable?: string;
}

export type ParsedSchedule =
  | { kind: 'rate'; expression: string; seconds: number }
  | { kind: 'cron'; expression: string; cron: ParsedCron }
  | { kind: 'at'; expression: string };

const SOURCE = '(EventBridge Scheduler User Guide, "Schedule types")';

/**
 * Parses and checks a schedule expression and its time zone as EventBridge Scheduler would; returns undefined when the
 * expression is a CDK token (unresolved until deploy).
 *
 * @param prop the prop the messages name, e.g. `schedule`
 * @throws ScheduleExpressionError naming `prop`, the rule broken and the fix
 */
export function parseSchedule(schedule: scheduler.ScheduleExpression, prop = 'schedule'): ParsedSchedule | undefined {
  const tz = schedule.timeZone?.timezoneName;
  if (tz !== undefined && !Token.isUnresolved(tz)) checkTimeZone(tz, prop);
  const expr = schedule.expressionString;
  if (Token.isUnresolved(expr)) return undefined;
  const fail = (msg: string): never => {
    throw new ScheduleExpressionError(`${prop} "${expr}" is not a valid EventBridge Scheduler expression: ${msg}`);
  };
  const rate = /^rate\((.*)\)$/.exec(expr);
  if (rate) return { kind: 'rate', expression: expr, seconds: parseRate(rate[1], fail) };
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (cron) return { kind: 'cron', expression: expr, cron: parseCron(cron[1], fail) };
  const at = /^at\((.*)\)$/.exec(expr);
  if (at) {
    checkAt(at[1], fail);
    return { kind: 'at', expression: expr };
  }
  return fail(`it must be rate(value unit), cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss) ${SOURCE}; ` +
    'build it with ScheduleExpression.rate(), .cron() or .at()');
}

const UNITS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };

function parseRate(body: string, fail: (m: string) => never): number {
  const m = /^(\S+) (\S+)$/.exec(body);
  if (!m) return fail(`a rate expression is rate(value unit), e.g. rate(15 minutes) ${SOURCE}`);
  const [, value, unit] = m;
  if (!/^\d+$/.test(value) || Number(value) < 1) return fail(`the value "${value}" must be a positive whole number, e.g. rate(15 minutes) ${SOURCE}`);
  const n = Number(value);
  const singular = unit.replace(/s$/, '');
  if (!(singular in UNITS)) return fail(`the unit "${unit}" must be minute(s), hour(s) or day(s), e.g. rate(${n} ${n === 1 ? 'minute' : 'minutes'}) ${SOURCE}`);
  const right = n === 1 ? singular : `${singular}s`;
  if (unit !== right) {
    return fail(`with the value ${n} the unit must be ${n === 1 ? 'singular' : 'plural'}: write rate(${n} ${right}) ` +
      '(EventBridge User Guide, "Rate expressions reference"; ScheduleExpression.rate() writes it so)');
  }
  return n * UNITS[singular];
}

function checkAt(body: string, fail: (m: string) => never): void {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!m) return fail(`a one-time schedule is at(yyyy-mm-ddThh:mm:ss), e.g. at(2027-01-31T02:30:00), in the schedule's time zone ${SOURCE}; ScheduleExpression.at(date, timeZone) writes it`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const dim = mo >= 1 && mo <= 12 ? new Date(Date.UTC(y, mo, 0)).getUTCDate() : 0;
  if (!dim || d < 1 || d > dim || h > 23 || mi > 59 || s > 59) {
    fail(`${body} is not a date and time (month 01-12, day within the month, hours 00-23, minutes and seconds 00-59) ${SOURCE}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Time zones

let zoneNames: Set<string> | undefined;

/**
 * Checks a time zone name against the IANA names this runtime knows: `Intl.supportedValuesOf('timeZone')` (the
 * canonical names) plus the aliases `Intl.DateTimeFormat` accepts (`UTC`, `Etc/UTC`, `US/Eastern`,
 * `America/Argentina/Buenos_Aires`), spelled as the IANA database spells them (no offsets such as `+01:00`, no other
 * casing). EventBridge Scheduler takes IANA names ([ST], "Time zones on EventBridge Scheduler").
 */
export function checkTimeZone(zone: string, prop = 'schedule'): void {
  zoneNames ??= new Set(Intl.supportedValuesOf('timeZone'));
  let resolved: string | undefined;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    resolved = undefined;
  }
  const shaped = /^[A-Z][A-Za-z0-9_+-]*(\/[A-Z][A-Za-z0-9_+-]*)*$/.test(zone);
  if (resolved && shaped && (zoneNames.has(zone) || resolved.toLowerCase() !== zone.toLowerCase() || resolved === zone)) return;
  const caseOnly = resolved && resolved.toLowerCase() === zone.toLowerCase() && resolved !== zone;
  const hint = caseOnly ? resolved : closestZone(zone);
  throw new ScheduleExpressionError(`${prop}'s time zone "${zone}" is not an IANA time zone name EventBridge Scheduler accepts ` +
    `${SOURCE}: ${hint ? `did you mean "${hint}"? ` : ''}Use a region name such as TimeZone.EUROPE_BERLIN or TimeZone.of('America/New_York'), ` +
    'or TimeZone.ETC_UTC; abbreviations such as CEST or PST and offsets such as +01:00 are not time zones.');
}

/** The known name nearest to `zone` (edit distance ≤ 3, same first letter), if any. */
function closestZone(zone: string): string | undefined {
  if (!zone.includes('/')) return undefined;
  let best: string | undefined;
  let bestDistance = 4;
  for (const name of zoneNames!) {
    if (name[0] !== zone[0] || Math.abs(name.length - zone.length) >= bestDistance) continue;
    const d = editDistance(name, zone);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

// ---------------------------------------------------------------------------------------------------------------
// Cron: `minutes hours day-of-month month day-of-week year`; day-of-week 1–7 = SUN–SAT.

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: string[];
  /** Whether `/` is allowed ([CRON]: not in day-of-week). */
  readonly step: boolean;
}

const SPECS = {
  minutes: { name: 'minutes', min: 0, max: 59, step: true },
  hours: { name: 'hours', min: 0, max: 23, step: true },
  dayOfMonth: { name: 'day-of-month', min: 1, max: 31, step: true },
  month: { name: 'month', min: 1, max: 12, names: MONTHS, step: true },
  dayOfWeek: { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, step: false },
  year: { name: 'year', min: 1970, max: 2199, step: true },
} satisfies Record<string, FieldSpec>;

const allowed = (s: FieldSpec) => `${s.min}-${s.max}${s.names ? ` or ${s.names[0]}-${s.names[s.names.length - 1]}` : ''}`;

/**
 * The values of one field from `*`, `a`, `a-b`, `a/n`, `a-b/n`, `*\/n` and comma lists; `wraps` when a range wraps
 * around (`22-2`: undocumented, so accepted but not enumerated).
 */
function parseField(field: string, spec: FieldSpec, fail: (m: string) => never): { values: Set<number>; wraps: boolean } {
  const out = new Set<number>();
  let wraps = false;
  const where = `${spec.name} "${field}"`;
  const value = (s: string): number => {
    const idx = spec.names?.indexOf(s.toUpperCase()) ?? -1;
    if (idx >= 0) return idx + 1;
    if (!/^\d+$/.test(s)) return fail(`${where}: "${s}" is not a value of ${spec.name} (${allowed(spec)}) ${SOURCE}`);
    const n = Number(s);
    if (n < spec.min || n > spec.max) return fail(`${where}: ${n} is outside ${allowed(spec)} ${SOURCE}`);
    return n;
  };
  for (const part of field.split(',')) {
    const pieces = part.split('/');
    if (pieces.length > 2) fail(`${where}: "${part}" has more than one "/" ${SOURCE}`);
    const [rangePart, stepPart] = pieces;
    if (stepPart !== undefined && !spec.step) fail(`${where}: "/" is not allowed in ${spec.name} (its wildcards are , - * ? L #) ${SOURCE}`);
    if (stepPart !== undefined && !(/^\d+$/.test(stepPart) && Number(stepPart) >= 1)) fail(`${where}: the increment "${stepPart}" must be a whole number from 1 ${SOURCE}`);
    const step = stepPart === undefined ? 1 : Number(stepPart);
    let lo: number;
    let hi: number;
    if (rangePart === '*') {
      [lo, hi] = [spec.min, spec.max];
    } else if (rangePart.includes('-')) {
      const ends = rangePart.split('-');
      if (ends.length !== 2) fail(`${where}: "${rangePart}" is not a range a-b ${SOURCE}`);
      [lo, hi] = [value(ends[0]), value(ends[1])];
      if (hi < lo) {
        wraps = true;
        continue;
      }
    } else {
      if (rangePart === '') fail(`${where}: an empty value ${SOURCE}`);
      lo = value(rangePart);
      hi = stepPart === undefined ? lo : spec.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return { values: out, wraps };
}

/** Day-of-month: `?`, `*`, `L`, `LW`, `15W` (the weekday nearest the 15th), or values, ranges and lists. */
function dayOfMonthMatcher(field: string, fail: (m: string) => never): { match: DayMatcher; notEnumerable?: string } {
  if (field === '?' || field === '*') return { match: () => true };
  if (field === 'L') return { match: (d, _w, dim) => d === dim };
  if (field === 'LW') return { match: () => true, notEnumerable: 'day-of-month "LW" is not enumerated by the missed-run window' };
  const w = /^(\d+)W$/.exec(field);
  if (w) {
    const target = Number(w[1]);
    if (target < 1 || target > 31) fail(`day-of-month "${field}": ${target} is outside 1-31 ${SOURCE}`);
    return { match: (d, wd, dim) => d === nearestWeekday(target, dim, (day) => (wd + day - d + 700) % 7) };
  }
  if (/[LW?]/i.test(field)) fail(`day-of-month "${field}": L, W and ? stand alone (L, 15W, LW or ?), not in lists or ranges ${SOURCE}`);
  const { values, wraps } = parseField(field, SPECS.dayOfMonth, fail);
  if (wraps) return { match: () => true, notEnumerable: `the wrap-around range in day-of-month "${field}" is not enumerated by the missed-run window` };
  return { match: (d) => values.has(d) };
}

/** The weekday nearest to `target` in the month (W): never crosses into another month. */
function nearestWeekday(target: number, dim: number, weekdayOf: (day: number) => number): number {
  const t = Math.min(target, dim);
  const wd = weekdayOf(t);
  if (wd === 6) return t === 1 ? 3 : t - 1; // Saturday → Friday, or Monday the 3rd
  if (wd === 0) return t === dim ? t - 2 : t + 1; // Sunday → Monday, or Friday
  return t;
}

function dayOfWeekMatcher(field: string, fail: (m: string) => never): { match: DayMatcher; notEnumerable?: string } {
  if (field === '?' || field === '*') return { match: () => true };
  const weekday = (s: string) => parseField(s, SPECS.dayOfWeek, fail).values.values().next().value! - 1;
  if (field === 'L') return { match: (_d, wd) => wd === 6 }; // the last day of the week: Saturday
  const last = /^([1-7]|[A-Z]{3})L$/i.exec(field);
  if (last) {
    const target = weekday(last[1]);
    return { match: (d, wd, dim) => wd === target && d + 7 > dim };
  }
  const nth = /^([^#]+)#(.*)$/.exec(field);
  if (nth) {
    if (!/^[1-5]$/.test(nth[2])) fail(`day-of-week "${field}": the n of weekday#n must be 1-5 (e.g. 6#3, the third Friday) ${SOURCE}`);
    const target = weekday(nth[1]);
    const n = Number(nth[2]);
    return { match: (d, wd) => wd === target && Math.ceil(d / 7) === n };
  }
  if (/[L#?]/i.test(field.replace(/[A-Z]{3}/gi, (m) => (WEEKDAYS.includes(m.toUpperCase()) ? '' : m)))) {
    fail(`day-of-week "${field}": L, # and ? stand alone (L, 6L, FRIL, 6#3 or ?), not in lists or ranges ${SOURCE}`);
  }
  const { values, wraps } = parseField(field, SPECS.dayOfWeek, fail);
  if (wraps) return { match: () => true, notEnumerable: `the wrap-around range in day-of-week "${field}" is not enumerated by the missed-run window` };
  return { match: (_d, wd) => values.has(wd + 1) };
}

/** What a 5- or 7-field cron probably meant, in EventBridge's 6 fields. */
function suggestion(fields: string[]): string {
  if (fields.length === 7) return `cron(${fixDays(fields.slice(1)).join(' ')}) (a leading seconds field is not supported; drop it)`;
  if (fields.length === 5) {
    // Unix day-of-week 0-6 (and 7) is Sunday-Saturday; EventBridge's is 1-7.
    const dow = fields[4].replace(/\d+/g, (n) => String((Number(n) % 7) + 1));
    const note = dow !== fields[4] ? `; Unix day-of-week ${fields[4]} is ${dow} here (1-7 = SUN-SAT)` : '';
    return `cron(${fixDays([...fields.slice(0, 4), dow, '*']).join(' ')}) (Unix cron has no year field${note})`;
  }
  return 'cron(0 2 * * ? *) (02:00 every day)';
}

/** Puts `?` in whichever day field is `*` when neither is `?`. */
function fixDays(f: string[]): string[] {
  const out = [...f];
  if (out[2] !== '?' && out[4] !== '?') {
    if (out[4] === '*') out[4] = '?';
    else if (out[2] === '*') out[2] = '?';
  }
  return out;
}

/**
 * Parses an EventBridge cron expression (the part inside `cron(...)`).
 *
 * @throws ScheduleExpressionError (through `fail`) for what EventBridge Scheduler rejects
 */
export function parseCron(body: string, fail: (m: string) => never = (m) => { throw new ScheduleExpressionError(m); }): ParsedCron {
  const f = body.trim().split(/\s+/);
  if (f.length !== 6) {
    return fail(`EventBridge cron has 6 fields (minutes hours day-of-month month day-of-week year), this has ${f.length}; ` +
      `write ${suggestion(f)} ${SOURCE}`);
  }
  const [minF, hourF, domF, monF, dowF, yearF] = f;
  if ((domF === '?') === (dowF === '?')) {
    const fix = domF === '?' ? `cron(${minF} ${hourF} * ${monF} ? ${yearF})` : `cron(${fixDays(f).join(' ')})`;
    return fail(domF === '?'
      ? `"?" must be in exactly one of day-of-month and day-of-week, not both; e.g. ${fix} ${SOURCE}`
      : `one of day-of-month ("${domF}") and day-of-week ("${dowF}") must be "?" (AWS does not combine them)` +
        `${fix !== `cron(${body.trim()})` ? `; write ${fix}` : '; choose one of the two'} ${SOURCE}`);
  }
  for (const [field, spec] of [[minF, SPECS.minutes], [hourF, SPECS.hours], [monF, SPECS.month], [yearF, SPECS.year]] as const) {
    if (/[?LW#]/i.test(field.replace(/[A-Z]{3}/gi, ''))) fail(`${spec.name} "${field}": its wildcards are , - * / ${SOURCE}`);
  }
  const minutes = parseField(minF, SPECS.minutes, fail);
  const hours = parseField(hourF, SPECS.hours, fail);
  const months = parseField(monF, SPECS.month, fail);
  parseField(yearF, SPECS.year, fail);
  const dom = dayOfMonthMatcher(domF, fail);
  const dow = dayOfWeekMatcher(dowF, fail);
  const notEnumerable = yearF !== '*'
    ? `the year field "${yearF}" restricts the schedule to some years, after which every run would be "missed"`
    : [minutes, hours, months].some((p) => p.wraps) ? 'a wrap-around range (such as hours 22-2) is not enumerated by the missed-run window'
      : dom.notEnumerable ?? dow.notEnumerable;
  return {
    body,
    fields: { minutes: minF, hours: hourF, dayOfMonth: domF, month: monF, dayOfWeek: dowF, year: yearF },
    minutes: [...minutes.values].sort((a, b) => a - b),
    hours: [...hours.values].sort((a, b) => a - b),
    months: months.values,
    dayOfMonth: dom.match,
    dayOfWeek: dow.match,
    ...notEnumerable ? { notEnumerable } : {},
  };
}
