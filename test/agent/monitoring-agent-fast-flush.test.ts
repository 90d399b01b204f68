/** MonitoringAgentProps.fastFlushCpuThresholdPercent / fastFlushInterval: validation and the agent's environment. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { MonitoringAgent, MonitoringAgentProps } from '../../lib/agent/monitoring-agent';

function agentEnv(props: Partial<MonitoringAgentProps>): Record<string, string> {
  const stack = new Stack(new App(), 'S');
  const taskDefinition = new ecs.FargateTaskDefinition(stack, 'Def');
  const app = taskDefinition.addContainer('app', { image: ecs.ContainerImage.fromRegistry('x') });
  new MonitoringAgent(stack, 'Agent', {
    taskDefinition,
    appContainer: app,
    logGroup: new logs.LogGroup(stack, 'Logs'),
    agentImage: ecs.ContainerImage.fromRegistry('agent'),
    ...props,
  });
  const def = Object.values(Template.fromStack(stack).findResources('AWS::ECS::TaskDefinition'))[0] as any;
  const agent = def.Properties.ContainerDefinitions.find((c: any) => c.Name !== 'app');
  return Object.fromEntries((agent.Environment ?? []).map((e: any) => [e.Name, e.Value]));
}

test('unset: no fast flush variables', () => {
  const env = agentEnv({});
  expect(env.FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT).toBeUndefined();
  expect(env.FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS).toBeUndefined();
});

test('the threshold and a fast interval other than 1 s are written for the agent', () => {
  expect(agentEnv({ fastFlushCpuThresholdPercent: 70 })).toMatchObject({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '70' });
  expect(agentEnv({ fastFlushCpuThresholdPercent: 70 }).FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS).toBeUndefined();
  expect(agentEnv({ fastFlushCpuThresholdPercent: 62.5, fastFlushInterval: Duration.seconds(2), flushInterval: Duration.seconds(10) }))
    .toMatchObject({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '62.5', FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS: '2000' });
  expect(agentEnv({ fastFlushCpuThresholdPercent: 100, fastFlushInterval: Duration.seconds(5), flushInterval: Duration.seconds(5) }))
    .toMatchObject({ FARGATE_MONITOR_FAST_FLUSH_CPU_PERCENT: '100', FARGATE_MONITOR_FAST_FLUSH_INTERVAL_MS: '5000' });
});

test.each([0, -1, 100.1, NaN])('fastFlushCpuThresholdPercent %p throws naming the prop', (v) => {
  expect(() => agentEnv({ fastFlushCpuThresholdPercent: v })).toThrow(/^fastFlushCpuThresholdPercent must be above 0 and at most 100/);
});

test.each([
  [Duration.millis(500), undefined],
  [Duration.seconds(11), undefined],
  [Duration.seconds(6), Duration.seconds(5)],
])('fastFlushInterval %s (flushInterval %s) throws naming the prop', (fast, flush) => {
  expect(() => agentEnv({ fastFlushCpuThresholdPercent: 70, fastFlushInterval: fast, flushInterval: flush }))
    .toThrow(/^fastFlushInterval must be a whole number of milliseconds from 1 second to flushInterval/);
});

test('fastFlushInterval without the threshold throws', () => {
  expect(() => agentEnv({ fastFlushInterval: Duration.seconds(2) })).toThrow(/^fastFlushInterval needs fastFlushCpuThresholdPercent/);
});
