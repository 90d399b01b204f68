import { Annotations, Aspects, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { formatSeconds, scheduleGaps } from './missed-run-window';
import { ConcurrencyPolicy, ReliableRunStateMachine } from './reliable-run';
import { parseSchedule } from './schedule-expression';
import type { RunOutcomeHandler } from '../notifier/run-outcome-handler';

/**
 * Warning ids of a monitored scheduled task (acknowledge one with
 * `Annotations.of(scope).acknowledgeWarning(id, reason)`). Internal.
 */
export const SCHEDULE_WARNINGS = {
  cronEveryMinute: 'cdk-fargate-monitor:cronEveryMinute',
  runLongerThanInterval: 'cdk-fargate-monitor:runLongerThanInterval',
  handlerAlarmsWithoutActions: 'cdk-fargate-monitor:handlerAlarmsWithoutActions',
  stateMachineAlarmsWithoutActions: 'cdk-fargate-monitor:stateMachineAlarmsWithoutActions',
} as const;

/** What the warnings read of a task's props. Internal. */
export interface ScheduleWarningInput {
  readonly schedule: scheduler.ScheduleExpression;
  readonly maxRunDuration?: Duration;
  readonly runTimeout?: Duration;
  readonly concurrencyPolicy?: ConcurrencyPolicy;
  readonly alarmActions?: cloudwatch.IAlarmAction[];
}

/**
 * The synth warnings of a scheduled task about settings that are valid but do what nobody means; each names the prop
 * and the consequence. Internal.
 *
 * @param handler the run-outcome handler the task uses
 * @param stateMachine the reliable-run state machine its runs go through, if any
 */
export function addScheduleWarnings(scope: Construct, props: ScheduleWarningInput, handler: RunOutcomeHandler,
  stateMachine?: ReliableRunStateMachine): void {
  const warn = (id: string, message: string) => Annotations.of(scope).addWarningV2(id, message);
  const parsed = parseSchedule(props.schedule);
  const expr = props.schedule.expressionString;

  if (parsed?.kind === 'cron' && parsed.cron.fields.minutes === '*' && parsed.cron.fields.hours !== '*') {
    const hours = parsed.cron.fields.hours;
    warn(SCHEDULE_WARNINGS.cronEveryMinute, `schedule ${expr} has "*" in minutes: it runs every minute of the hours "${hours}" ` +
      `(${60 * parsed.cron.hours.length} runs a day), which is what ScheduleExpression.cron({ hour: '${hours}' }) writes when minute is left out. ` +
      `To run once at the hour, give minute: '0' (cron(0 ${hours} ${parsed.cron.fields.dayOfMonth} ${parsed.cron.fields.month} ` +
      `${parsed.cron.fields.dayOfWeek} ${parsed.cron.fields.year})).`);
  }

  if (parsed && parsed.kind !== 'at') {
    // Only what the user set: the 1-hour default of maxRunDuration is an alarm threshold nobody chose.
    const [prop, duration] = props.runTimeout ? ['runTimeout', props.runTimeout] : ['maxRunDuration', props.maxRunDuration];
    const gaps = duration && !duration.isUnresolved() ? scheduleGaps(props.schedule) : undefined;
    if (duration && gaps && !('reason' in gaps) && duration.toSeconds() > gaps.shortest) {
      const policy = props.concurrencyPolicy ?? ConcurrencyPolicy.ALLOW;
      const consequence: Record<ConcurrencyPolicy, string> = {
        [ConcurrencyPolicy.ALLOW]: 'the runs overlap (two tasks at once)',
        [ConcurrencyPolicy.FORBID]: 'the next run is skipped (counted as SkippedRuns)',
        [ConcurrencyPolicy.REPLACE]: 'the running task is stopped (reported as interrupted) and the next run starts',
      };
      const others = (Object.keys(consequence) as ConcurrencyPolicy[]).filter((p) => p !== policy)
        .map((p) => `${p} would mean ${consequence[p]}`).join('; ');
      warn(SCHEDULE_WARNINGS.runLongerThanInterval, `${prop} (${formatSeconds(duration.toSeconds())}) is longer than the shortest interval ` +
        `between runs of schedule ${expr} (${formatSeconds(gaps.shortest)}): a run may still be running when the next one is due. ` +
        `With concurrencyPolicy ${policy}${props.concurrencyPolicy ? '' : ' (the default)'} ${consequence[policy]}; ${others}. ` +
        `Make ${prop} shorter than the interval, or choose the concurrencyPolicy you mean.`);
    }
  }

  // Checked at synth (an aspect), when every alarm action has been added: the shared handler's and state machine's own
  // alarms, when this task's alarms notify someone and theirs notify nobody.
  if ((props.alarmActions?.length ?? 0) > 0) {
    Aspects.of(scope).add({
      visit: (node) => {
        if (node !== scope) return;
        if (withoutActions(handler.alarms)) {
          warn(SCHEDULE_WARNINGS.handlerAlarmsWithoutActions, 'alarmActions is set, but the alarms of the run-outcome handler this task uses ' +
            `(${handler.node.path}: errors, dead letter) have no actions: when it fails, runs go uncounted and unposted and nobody is told. ` +
            'Fix: pass runOutcomeHandler: new RunOutcomeHandler(stack, \'RunOutcomes\', { alarmActions }).');
        }
        if (stateMachine?.executionsFailedAlarm && withoutActions([stateMachine.executionsFailedAlarm])) {
          warn(SCHEDULE_WARNINGS.stateMachineAlarmsWithoutActions, 'alarmActions is set, but the executions-failed alarm of the reliable-run ' +
            `state machine this task's runs go through (${stateMachine.node.path}) has no actions: a run the state machine itself failed is ` +
            'told to nobody. Fix: pass reliableRunStateMachine: new ReliableRunStateMachine(stack, \'ReliableRuns\', { alarmActions }).');
        }
      },
    });
  }
}

/** Whether some of `alarms` exist and none has an ALARM action (read from the synthesized `AlarmActions`). */
function withoutActions(alarms: cloudwatch.Alarm[]): boolean {
  return alarms.length > 0 && alarms.every((alarm) => {
    const actions = Stack.of(alarm).resolve((alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmActions);
    return !Array.isArray(actions) || actions.length === 0;
  });
}
