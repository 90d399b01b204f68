/**
 * The construct (synth) and the agent (run time) must accept exactly the same namespaces: a name the construct
 * synthesizes but the agent rejects would send metrics to the default namespace, where the IAM condition denies
 * them and no alarm looks.
 */
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { loadConfig } from '../../agent/src/config';
import { MonitoredScheduledTask } from '../../lib';
import { minimalProps, newStack } from '../support/stacks';

const cases: Array<[string, boolean]> = [
  ['FargateMonitor', true],
  ['Team Batch/Nightly', true], // space is allowed by CloudWatch
  ['a.b-c_d/e#f:g', true], // every punctuation mark CloudWatch allows
  ['x'.repeat(255), true],
  ['x'.repeat(256), false],
  [':leading-colon', false],
  ['AWS/ECS', false],
  ['bad namespace!', false],
  ['Ünïcode', false],
];

test.each(cases)('%j: valid %s on both sides', (namespace, valid) => {
  const synth = () => new MonitoredScheduledTask(newStack(), 'Job', minimalProps({
    namespace, agentImage: ecs.ContainerImage.fromRegistry('agent'),
  }));
  if (valid) expect(synth).not.toThrow();
  else expect(synth).toThrow(/^namespace must/);

  const warnings: string[] = [];
  const cfg = loadConfig({ FARGATE_MONITOR_NAMESPACE: namespace }, (m) => warnings.push(m));
  expect(cfg.namespace).toBe(valid ? namespace : 'FargateMonitor');
  expect(warnings).toHaveLength(valid ? 0 : 1);
});
