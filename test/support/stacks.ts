import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { MonitoredScheduledTaskProps } from '../../lib';

/** A fresh stack in a fixed environment (so ARNs and AZs are stable in templates). */
export function newStack(id = 'TestStack'): Stack {
  return new Stack(new App(), id, { env: { account: '111111111111', region: 'eu-central-1' } });
}

/** The smallest valid props: the image and the schedule. */
export function minimalProps(overrides: Partial<MonitoredScheduledTaskProps> = {}): MonitoredScheduledTaskProps {
  return {
    schedule: scheduler.ScheduleExpression.rate(Duration.hours(1)),
    container: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:1.37') },
    ...overrides,
  };
}

/** Replaces content hashes of assets (they change with every agent build) by a placeholder. */
export function maskAssetHashes<T>(template: T): T {
  return JSON.parse(JSON.stringify(template).replace(/[0-9a-f]{64}/g, '<asset-hash>'));
}
