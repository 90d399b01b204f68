import { App, Aws, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { FastScalingService, MonitoredScheduledTask } from '../../lib';
import { minimalProps } from '../support/stacks';

// One family per job: the metrics (TaskDefinitionFamily), the run-outcome rule (group family:<family>), reliable
// runs' concurrency policy, the dashboards and the fleet rows are keyed on the family.

const EU = { account: '111111111111', region: 'eu-central-1' };
const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27');

test('two scheduled tasks with one family in one stack: the second fails at synth, naming family and the first', () => {
  const stack = new Stack(new App(), 'Jobs', { env: EU });
  new MonitoredScheduledTask(stack, 'Nightly', minimalProps({ family: 'report' }));
  expect(() => new MonitoredScheduledTask(stack, 'Hourly', minimalProps({ family: 'report' })))
    .toThrow(/^family "report" is already used by Jobs\/Nightly: give each monitored task its own family/);
});

test('two stacks of one app in the same account and Region: whichever is built second fails', () => {
  const app = new App();
  const a = new Stack(app, 'A', { env: EU });
  const b = new Stack(app, 'B', { env: EU });
  // Built out of stack order: B's task first.
  new MonitoredScheduledTask(b, 'Job', minimalProps({ family: 'report' }));
  expect(() => new MonitoredScheduledTask(a, 'Job', minimalProps({ family: 'report' }))).toThrow(/family "report" is already used by B\/Job/);
});

test('a service and a scheduled task count too; an environment-agnostic stack may be anywhere, so it clashes with any', () => {
  const app = new App();
  new FastScalingService(new Stack(app, 'Web', { env: EU }), 'Shop', { container: { image }, family: 'shop' });
  expect(() => new MonitoredScheduledTask(new Stack(app, 'Jobs', { env: EU }), 'Job', minimalProps({ family: 'shop' })))
    .toThrow(/family "shop" is already used by Web\/Shop/);
  expect(() => new MonitoredScheduledTask(new Stack(app, 'Agnostic'), 'Job', minimalProps({ family: 'shop' })))
    .toThrow(/family "shop" is already used by Web\/Shop/);
});

test('the same job in two Regions or two accounts, different families, separate apps, default families: all fine', () => {
  const app = new App();
  new MonitoredScheduledTask(new Stack(app, 'Eu', { env: EU }), 'Job', minimalProps({ family: 'report' }));
  new MonitoredScheduledTask(new Stack(app, 'Us', { env: { ...EU, region: 'us-east-1' } }), 'Job', minimalProps({ family: 'report' }));
  new MonitoredScheduledTask(new Stack(app, 'Other', { env: { ...EU, account: '222222222222' } }), 'Job', minimalProps({ family: 'report' }));
  const jobs = new Stack(app, 'Jobs', { env: EU });
  new MonitoredScheduledTask(jobs, 'Other', minimalProps({ family: 'sync' }));
  // Default families come from the construct path: unique in the app.
  const a = new MonitoredScheduledTask(jobs, 'A', minimalProps());
  const b = new MonitoredScheduledTask(new Stack(app, 'More', { env: EU }), 'A', minimalProps());
  expect(a.taskDefinition.family).not.toBe(b.taskDefinition.family);
  // A new app starts afresh (each `cdk synth`, each test).
  new MonitoredScheduledTask(new Stack(new App(), 'Eu', { env: EU }), 'Job', minimalProps({ family: 'report' }));
  // A family known only at deploy time is not checked.
  new MonitoredScheduledTask(jobs, 'Tokened', minimalProps({ family: `${Aws.STACK_NAME}-job` }));
});
