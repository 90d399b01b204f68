import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FastScalingService } from '../../lib';
import { AlarmModel, RawDatapoint, transitions } from '../support/cloudwatch-alarm-evaluator';
import { newStack } from '../support/stacks';

/*
 * The service's alarms for people (memory, 5xx share, p99 response time), as synthesized, fed minute-by-minute ALB
 * data and evaluated as CloudWatch documents it (test/support/cloudwatch-alarm-evaluator.ts).
 */

const SEC = 1000;
const MIN = 60 * SEC;
const T0 = Date.UTC(2026, 5, 1, 12);

function serviceAlarms(): Record<string, any> {
  const stack = newStack();
  new FastScalingService(stack, 'Web', { container: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27') } });
  const out: Record<string, any> = {};
  for (const [logicalId, r] of Object.entries(Template.fromStack(stack).findResources('AWS::CloudWatch::Alarm'))) {
    const id = /^WebAlarms([A-Za-z0-9]+Alarm)[0-9A-F]{8}$/.exec(logicalId)?.[1];
    if (id) out[id] = (r as any).Properties;
  }
  return out;
}

const alarms = serviceAlarms();
/** One datum per minute (as ALB publishes), 10 s into the minute, published 30 s later. */
const perMinute = (values: (number | undefined)[]): RawDatapoint[] => values.flatMap((value, i) => (value === undefined ? []
  : [{ timestamp: T0 + i * MIN + 10 * SEC, value, publishedAt: T0 + i * MIN + 40 * SEC }]));

test('the template holds the three alarms', () => {
  expect(Object.keys(alarms).sort()).toEqual(['Http5xxAlarm', 'MemoryAlarm', 'ResponseTimeAlarm']);
});

describe('5xx share: 100 × (target 5xx + ELB 5xx) / max(requests, 1) ≥ 5 % in 2 of 3 minutes', () => {
  const keyed = (requests: (number | undefined)[], t5xx: (number | undefined)[], elb5xx: (number | undefined)[]) => ({
    RequestCount: perMinute(requests), HTTPCode_Target_5XX_Count: perMinute(t5xx), HTTPCode_ELB_5XX_Count: perMinute(elb5xx),
  });

  test.each([0, 2, 5])('one bad minute does not alarm, two of three do, and it clears (%i extra periods)', (extraPeriods) => {
    const model = new AlarmModel(alarms.Http5xxAlarm, { extraPeriods });
    const requests = Array(20).fill(100);
    const t5xx: (number | undefined)[] = Array(20).fill(undefined);
    t5xx[3] = 10; // 10 % in minute 3 alone
    t5xx[8] = 6; // 6 % and 7 % in minutes 8 and 10: 2 of 3 at 11:00, 1 of 3 at 12:00
    t5xx[10] = 7;
    const evals = model.run(keyed(requests, t5xx, []), T0 + MIN, T0 + 20 * MIN);
    expect(transitions(evals).map(([t, s]) => [(t - T0) / MIN, s])).toEqual([[1, 'OK'], [11, 'ALARM'], [12, 'OK']]);
  });

  test('the load balancer\'s own 5xx count too, and a quiet service (no requests, no errors) stays OK', () => {
    const model = new AlarmModel(alarms.Http5xxAlarm);
    const quiet = model.run(keyed([], [], []), T0, T0 + 10 * MIN);
    expect(quiet.every((e) => e.state === 'OK')).toBe(true);
    const elb = model.run(keyed([50, 50, 50], [], [undefined, 5, 5]), T0 + MIN, T0 + 5 * MIN);
    expect(transitions(elb).map(([t, s]) => [(t - T0) / MIN, s])).toEqual([[1, 'OK'], [3, 'ALARM'], [5, 'OK']]);
  });
});

test.each([0, 2])('p99 response time ≥ 2 s for 3 minutes: three slow minutes alarm, two do not (%i extra periods)', (extraPeriods) => {
  const model = new AlarmModel(alarms.ResponseTimeAlarm, { extraPeriods });
  expect(alarms.ResponseTimeAlarm).toMatchObject({ ExtendedStatistic: 'p99', Threshold: 2, EvaluationPeriods: 3 });
  const slow = (minutes: number[]) => Array.from({ length: 20 }, (_, i) => (minutes.includes(i) ? 2.5 : 0.1));
  const two = model.run({ TargetResponseTime: perMinute(slow([4, 5])) }, T0 + MIN, T0 + 20 * MIN);
  expect(two.some((e) => e.state === 'ALARM')).toBe(false);
  const three = model.run({ TargetResponseTime: perMinute(slow([4, 5, 6])) }, T0 + MIN, T0 + 20 * MIN);
  expect(transitions(three).map(([t, s]) => [(t - T0) / MIN, s])).toEqual([[1, 'OK'], [7, 'ALARM'], [8, 'OK']]);
});

test('memory: one high 10 s sample of any task alarms at the next 10 s evaluation', () => {
  const model = new AlarmModel(alarms.MemoryAlarm);
  const data = Array.from({ length: 60 }, (_, i) => ({
    timestamp: T0 + i * 10 * SEC, value: i === 20 ? 93 : 50, publishedAt: T0 + i * 10 * SEC + SEC,
  }));
  const evals = model.run({ MemoryUtilization: data }, T0 + 10 * SEC, T0 + 10 * MIN);
  expect(transitions(evals).map(([t, s]) => [(t - T0) / SEC, s])).toEqual([[10, 'OK'], [210, 'ALARM'], [240, 'OK']]);
});
