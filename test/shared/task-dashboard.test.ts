import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TaskDashboard, TaskMetrics } from '../../lib';
import { newStack } from '../support/stacks';

function dashboard(props: { period?: Duration; defaultInterval?: Duration } = {}) {
  const stack = newStack();
  new TaskDashboard(stack, 'Dash', {
    taskMetrics: new TaskMetrics({ clusterName: 'c', taskDefinitionFamily: 'f' }),
    containerNames: ['app'],
    ...props,
  });
  const body = (Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'))[0] as any).Properties.DashboardBody;
  return JSON.parse(typeof body === 'string' ? body : body['Fn::Join'][1].map((x: any) => (typeof x === 'string' ? x : 'TOKEN')).join(''));
}

function periods(body: any): number[] {
  return body.widgets.filter((w: any) => w.type === 'metric').flatMap((w: any) => w.properties.metrics.map((m: any[]) => m[m.length - 1].period));
}

describe('TaskDashboard periods and range', () => {
  test('defaults: the last 7 days at 1-minute periods', () => {
    const body = dashboard();
    expect(body.start).toBe('-P7D');
    expect(periods(body)).toEqual(Array(6).fill(60));
  });

  test('10-second periods are allowed with a range of at most 3 hours', () => {
    const body = dashboard({ period: Duration.seconds(10), defaultInterval: Duration.hours(3) });
    expect(body.start).toBe('-PT3H');
    expect(periods(body)).toEqual(Array(6).fill(10));
  });

  test.each<[string, { period?: Duration; defaultInterval?: Duration }, RegExp]>([
    ['sub-minute period over 7 days', { period: Duration.seconds(10) },
      /period under 60 seconds \(10 seconds\) shows nothing for data older than 3 hours: use it only with a defaultInterval of at most 3 hours, got 7 days/],
    ['sub-minute period over 4 hours', { period: Duration.seconds(30), defaultInterval: Duration.hours(4) }, /defaultInterval of at most 3 hours/],
    ['period CloudWatch does not accept', { period: Duration.seconds(90) }, /period must be 1, 5, 10, 30 seconds or a multiple of 60 seconds, got 1 minute 30 seconds/],
  ])('%s fails at synth', (_name, props, message) => {
    expect(() => dashboard(props)).toThrow(message);
  });
});
