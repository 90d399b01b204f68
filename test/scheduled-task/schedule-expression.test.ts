import { Annotations as CoreAnnotations, App, Duration, Lazy, TimeZone } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ConcurrencyPolicy, MonitoredScheduledTask, MonitoredScheduledTaskProps, ReliableRunStateMachine, RunOutcomeHandler } from '../../lib';
import { scheduleGaps } from '../../lib/scheduled-task/missed-run-window';
import { checkTimeZone, parseSchedule } from '../../lib/scheduled-task/schedule-expression';
import { ExampleStack } from '../example/example-stack';
import { minimalProps, newStack } from '../support/stacks';

const S = scheduler.ScheduleExpression;

function synth(overrides: Partial<MonitoredScheduledTaskProps>) {
  const stack = newStack();
  new MonitoredScheduledTask(stack, 'Job', minimalProps(overrides));
  return stack;
}

/** Every warning of the stack that comes from this library (its ids start with `cdk-fargate-monitor:`). */
function ourWarnings(overrides: Partial<MonitoredScheduledTaskProps>): string[] {
  return Annotations.fromStack(synth(overrides)).findWarning('*', Match.stringLikeRegexp('cdk-fargate-monitor:'))
    .map((w) => String(w.entry.data));
}

// Each rule cites the EventBridge Scheduler User Guide, "Schedule types" (and for rate units the EventBridge User
// Guide, "Rate expressions reference"): see lib/scheduled-task/schedule-expression.ts.
describe('schedules AWS would reject fail at synth, naming `schedule` and showing the fix', () => {
  test.each<[string, string, string | undefined, RegExp]>([
    ['5 fields (Unix cron)', 'cron(15 3 * * *)', undefined, /has 5; write cron\(15 3 \* \* \? \*\)/],
    ['5 fields with a Unix day-of-week', 'cron(0 9 * * 1-5)', undefined, /write cron\(0 9 \? \* 2-6 \*\) \(Unix cron has no year field; Unix day-of-week 1-5 is 2-6 here \(1-7 = SUN-SAT\)\)/],
    ['7 fields (a seconds field)', 'cron(0 15 3 * * ? *)', undefined, /has 7; write cron\(15 3 \* \* \? \*\) \(a leading seconds field/],
    ['both day fields "*"', 'cron(15 3 * * * *)', undefined, /must be "\?".*write cron\(15 3 \* \* \? \*\)/],
    ['both day fields set', 'cron(0 9 1 * MON *)', undefined, /day-of-month \("1"\) and day-of-week \("MON"\) must be "\?"/],
    ['"?" in both day fields', 'cron(0 9 ? * ? *)', undefined, /exactly one of day-of-month and day-of-week.*cron\(0 9 \* \* \? \*\)/],
    ['hours out of range', 'cron(0 24 * * ? *)', undefined, /hours "24": 24 is outside 0-23/],
    ['minutes out of range', 'cron(60 2 * * ? *)', undefined, /minutes "60": 60 is outside 0-59/],
    ['day-of-month 32', 'cron(0 2 32 * ? *)', undefined, /day-of-month "32": 32 is outside 1-31/],
    ['month 13', 'cron(0 2 1 13 ? *)', undefined, /month "13": 13 is outside 1-12 or JAN-DEC/],
    ['day-of-week 0 (Unix Sunday)', 'cron(0 2 ? * 0 *)', undefined, /day-of-week "0": 0 is outside 1-7 or SUN-SAT/],
    ['an unknown name', 'cron(0 2 ? * MON-FRY *)', undefined, /"FRY" is not a value of day-of-week/],
    ['year 2200', 'cron(0 2 * * ? 2200)', undefined, /year "2200": 2200 is outside 1970-2199/],
    ['"/" in day-of-week', 'cron(0 2 ? * */2 *)', undefined, /"\/" is not allowed in day-of-week/],
    ['W in hours', 'cron(0 2W * * ? *)', undefined, /hours "2W": its wildcards are , - \* \//],
    ['L in a list', 'cron(0 2 1,L * ? *)', undefined, /L, W and \? stand alone/],
    ['#6', 'cron(0 2 ? * 6#6 *)', undefined, /weekday#n must be 1-5/],
    ['rate(1 hours)', 'rate(1 hours)', undefined, /write rate\(1 hour\)/],
    ['rate(5 hour)', 'rate(5 hour)', undefined, /write rate\(5 hours\)/],
    ['rate(0 minutes)', 'rate(0 minutes)', undefined, /"0" must be a positive whole number/],
    ['rate in seconds', 'rate(30 seconds)', undefined, /"seconds" must be minute\(s\), hour\(s\) or day\(s\)/],
    ['at() without seconds', 'at(2027-01-31T02:30)', undefined, /at\(yyyy-mm-ddThh:mm:ss\), e.g. at\(2027-01-31T02:30:00\)/],
    ['at() on February 30', 'at(2027-02-30T02:30:00)', undefined, /2027-02-30T02:30:00 is not a date and time/],
    ['not an expression', 'daily', undefined, /must be rate\(value unit\), cron\(.*\) or at\(yyyy-mm-ddThh:mm:ss\)/],
    ['time zone with a typo', 'cron(0 2 * * ? *)', 'Europe/Berlln', /time zone "Europe\/Berlln" is not an IANA time zone name.*did you mean "Europe\/Berlin"\?/],
    ['a time zone abbreviation', 'cron(0 2 * * ? *)', 'CEST', /time zone "CEST" is not an IANA time zone name.*TimeZone\.EUROPE_BERLIN/],
    ['an offset', 'cron(0 2 * * ? *)', '+01:00', /time zone "\+01:00" is not an IANA time zone name/],
    ['another casing', 'rate(1 hour)', 'europe/berlin', /did you mean "Europe\/Berlin"\?/],
  ])('%s: %s %s', (_name, expression, zone, message) => {
    const schedule = S.expression(expression, zone ? TimeZone.of(zone) : undefined);
    expect(() => synth({ schedule })).toThrow(/^schedule/);
    expect(() => synth({ schedule })).toThrow(message);
  });

  test.each<[string, string | undefined]>([
    ['cron(0 2 * * ? *)', 'Europe/Berlin'],
    ['cron(0 2 * * ? *)', 'UTC'],
    ['cron(0 2 * * ? *)', 'Etc/UTC'],
    ['cron(0 2 * * ? *)', 'America/Argentina/Buenos_Aires'], // an alias (CLDR's canonical name is America/Buenos_Aires)
    ['cron(0 2 * * ? *)', 'US/Eastern'],
    ['cron(0/15 8-18 ? * MON-FRI *)', undefined],
    ['cron(0 2 ? JAN,APR,JUL,OCT 2#1 *)', undefined],
    ['cron(0 2 L * ? *)', undefined],
    ['cron(0 2 15W * ? *)', undefined],
    ['cron(0 2 LW * ? *)', undefined],
    ['cron(0 2 ? * FRIL *)', undefined],
    ['cron(0 2 ? * 6L *)', undefined],
    ['cron(0 2 ? * L *)', undefined],
    ['cron(0 2 1/2 * ? 2027-2030)', undefined],
    ['cron(0 22-2 * * ? *)', undefined], // a wrap-around range: undocumented, accepted (not enumerated)
    ['rate(1 minute)', undefined],
    ['rate(90 minutes)', undefined],
    ['rate(1 day)', undefined],
    ['at(2027-01-31T02:30:00)', 'Europe/Berlin'],
  ])('valid: %s %s', (expression, zone) => {
    expect(() => synth({ schedule: S.expression(expression, zone ? TimeZone.of(zone) : undefined) })).not.toThrow();
  });

  test('what aws-cdk-lib\'s ScheduleExpression factories write is valid', () => {
    for (const schedule of [
      S.rate(Duration.minutes(1)), S.rate(Duration.hours(1)), S.rate(Duration.days(2)), S.rate(Duration.minutes(90)),
      S.cron({ minute: '0', hour: '2' }), S.cron({ minute: '0', hour: '2', weekDay: 'MON-FRI' }),
      S.cron({ minute: '30', hour: '2', day: 'L', timeZone: TimeZone.EUROPE_BERLIN }),
      S.at(new Date(Date.UTC(2027, 0, 31, 2, 30)), TimeZone.AMERICA_NEW_YORK),
    ]) expect(parseSchedule(schedule)?.kind).toMatch(/rate|cron|at/);
  });

  test('every time zone the runtime lists is accepted', () => {
    for (const zone of Intl.supportedValuesOf('timeZone')) expect(() => checkTimeZone(zone)).not.toThrow();
  });

  test('an unresolved token is skipped (known only at deploy)', () => {
    const expression = Lazy.string({ produce: () => 'rate(1 hour)' });
    expect(parseSchedule(S.expression(expression))).toBeUndefined();
    expect(() => synth({ schedule: S.expression(expression) })).not.toThrow();
  });

  test('the missed-run warning stays only for a valid expression it cannot enumerate', () => {
    const warnings = ourWarnings({ schedule: S.expression('cron(0 22-2 * * ? *)') });
    expect(warnings).toEqual([expect.stringMatching(/No missed-run alarm: cron\(0 22-2 \* \* \? \*\): a wrap-around range/)]);
  });
});

describe('warnings that mean something: each names the prop and the consequence, with an id to acknowledge', () => {
  test('a valid configuration gets no warning from this library', () => {
    expect(ourWarnings({ schedule: S.cron({ minute: '0', hour: '3', timeZone: TimeZone.EUROPE_BERLIN }) })).toEqual([]);
  });

  test('ScheduleExpression.cron({ hour: \'3\' }) is cron(* 3 * * ? *): sixty runs a night', () => {
    const warnings = ourWarnings({ schedule: S.cron({ hour: '3' }), maxRunDuration: Duration.minutes(1) });
    expect(warnings).toEqual([expect.stringContaining('schedule cron(* 3 * * ? *) has "*" in minutes: it runs every minute of the hours "3" (60 runs a day)')]);
    expect(warnings[0]).toMatch(/give minute: '0' \(cron\(0 3 \* \* \? \*\)\)\. \[ack: cdk-fargate-monitor:cronEveryMinute\]$/);
    // Every minute of every hour says what it does: no warning.
    expect(ourWarnings({ schedule: S.cron({}), maxRunDuration: Duration.minutes(1) })).toEqual([]);
  });

  test('runTimeout longer than the interval: what ALLOW, FORBID and REPLACE then do', () => {
    const warnings = ourWarnings({ schedule: S.rate(Duration.hours(1)), runTimeout: Duration.hours(2), maxRunDuration: Duration.minutes(30) });
    expect(warnings).toEqual([expect.stringContaining('runTimeout (2 h) is longer than the shortest interval between runs of schedule rate(1 hour) (1 h)')]);
    expect(warnings[0]).toMatch(/With concurrencyPolicy ALLOW \(the default\) the runs overlap \(two tasks at once\); FORBID would mean the next run is skipped \(counted as SkippedRuns\)/);
    const forbid = ourWarnings({ schedule: S.rate(Duration.hours(1)), runTimeout: Duration.hours(2), concurrencyPolicy: ConcurrencyPolicy.FORBID });
    expect(forbid).toEqual([expect.stringMatching(/With concurrencyPolicy FORBID the next run is skipped.*ALLOW would mean the runs overlap/)]);
  });

  test('maxRunDuration of 26 h on a daily cron (the shortest interval counts, daylight saving included)', () => {
    const warnings = ourWarnings({ schedule: S.cron({ minute: '0', hour: '2' }), maxRunDuration: Duration.hours(26) });
    expect(warnings).toEqual([expect.stringContaining('maxRunDuration (1 d 2 h) is longer than the shortest interval between runs of schedule cron(0 2 * * ? *) (1 d)')]);
    expect(warnings[0]).toMatch(/\[ack: cdk-fargate-monitor:runLongerThanInterval\]$/);
    // In Berlin the day clocks spring forward is 23 h long: 23.5 h warns there, not in UTC.
    const berlin = S.cron({ minute: '0', hour: '9', timeZone: TimeZone.EUROPE_BERLIN });
    const utc = S.cron({ minute: '0', hour: '9' });
    expect(scheduleGaps(berlin)).toMatchObject({ shortest: 23 * 3600 });
    expect(ourWarnings({ schedule: berlin, maxRunDuration: Duration.minutes(23 * 60 + 30) })).toHaveLength(1);
    expect(ourWarnings({ schedule: utc, maxRunDuration: Duration.minutes(23 * 60 + 30) })).toEqual([]);
    // Equal to the interval is not longer; the 1-hour default of maxRunDuration is nobody's choice.
    expect(ourWarnings({ schedule: S.rate(Duration.minutes(15)) })).toEqual([]);
    expect(ourWarnings({ schedule: S.rate(Duration.hours(1)), maxRunDuration: Duration.hours(1) })).toEqual([]);
  });

  test('alarmActions while the handler\'s and state machine\'s own alarms have none: the one-line fix', () => {
    const stack = newStack();
    const alarmActions = [new cw_actions.SnsAction(new sns.Topic(stack, 'Topic'))];
    new MonitoredScheduledTask(stack, 'Job', minimalProps({ alarmActions, runRetry: {} }));
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cdk-fargate-monitor:')).map((w) => String(w.entry.data));
    expect(warnings).toEqual([
      expect.stringMatching(/^alarmActions is set, but the alarms of the run-outcome handler this task uses \(TestStack\/FargateMonitorRunOutcomeHandler: errors, dead letter\) have no actions: .* Fix: pass runOutcomeHandler: new RunOutcomeHandler\(stack, 'RunOutcomes', \{ alarmActions \}\)\. \[ack: cdk-fargate-monitor:handlerAlarmsWithoutActions\]$/),
      expect.stringMatching(/^alarmActions is set, but the executions-failed alarm of the reliable-run state machine this task's runs go through \(TestStack\/FargateMonitorReliableRuns\) has no actions: .* Fix: pass reliableRunStateMachine: new ReliableRunStateMachine\(stack, 'ReliableRuns', \{ alarmActions \}\)\. \[ack: cdk-fargate-monitor:stateMachineAlarmsWithoutActions\]$/),
    ]);
    // Without alarmActions on the task, nothing to compare with: no warning.
    expect(ourWarnings({ runRetry: {} })).toEqual([]);
  });

  test('no such warning once they have actions: given, found by RunOutcomeHandler.of, or added after the task', () => {
    const stack = newStack();
    const actions = [new cw_actions.SnsAction(new sns.Topic(stack, 'Topic'))];
    new MonitoredScheduledTask(stack, 'Given', minimalProps({
      alarmActions: actions,
      runRetry: {},
      runOutcomeHandler: new RunOutcomeHandler(stack, 'RunOutcomes', { alarmActions: actions }),
      reliableRunStateMachine: new ReliableRunStateMachine(stack, 'ReliableRuns', { alarmActions: actions }),
    }));
    // An explicit handler under the default id, which RunOutcomeHandler.of then finds.
    new RunOutcomeHandler(stack, 'FargateMonitorRunOutcomeHandler', { alarmActions: actions });
    new MonitoredScheduledTask(stack, 'Found', minimalProps({ alarmActions: actions, family: 'found' }));
    // The default state machine, its alarm given an action after the task was built.
    const late = new MonitoredScheduledTask(stack, 'Late', minimalProps({ alarmActions: actions, family: 'late', runTimeout: Duration.hours(1) }));
    late.reliableRuns!.executionsFailedAlarm!.addAlarmAction(actions[0]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cdk-fargate-monitor:'))).toEqual([]);
  });

  test('a warning can be acknowledged by its id', () => {
    const props = minimalProps({ schedule: S.rate(Duration.hours(1)), maxRunDuration: Duration.hours(3) });
    const stack = newStack();
    new MonitoredScheduledTask(stack, 'Job', props);
    expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('runLongerThanInterval'))).toHaveLength(1);
    const acked = newStack();
    const task = new MonitoredScheduledTask(acked, 'Job', props);
    CoreAnnotations.of(task).acknowledgeWarning('cdk-fargate-monitor:runLongerThanInterval', 'runs are short; the long-run threshold is generous on purpose');
    expect(Annotations.fromStack(acked).findWarning('*', Match.stringLikeRegexp('runLongerThanInterval'))).toEqual([]);
  });
});

test('the missed-run alarm\'s metric math sets its period on the metric too: no "overridden" warning', () => {
  const stack = synth({ schedule: S.cron({ minute: '0', hour: '2' }) });
  expect(Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('have been overridden'))).toEqual([]);
  const alarms = Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm');
  const missed = Object.entries(alarms).find(([k]) => k.includes('MissedRun'))![1];
  const metrics = missed.Properties.Metrics as Array<{ MetricStat?: { Period: number } }>;
  expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Period)).toEqual([3600]);
});

test('the example app (test/example) synthesizes with no warning at all', () => {
  const stack = new ExampleStack(new App(), 'FargateMonitorExample');
  expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => `${w.id}: ${String(w.entry.data)}`)).toEqual([]);
});
