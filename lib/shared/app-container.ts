import { Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';
import type { ScheduledTaskContainerOptions } from '../scheduled-task/monitored-scheduled-task';

/**
 * The application container both monitored constructs add next to the agent: the same checks (messages name the
 * `container.*` prop) and the same defaults (name `app`, essential, awslogs to the construct's log group).
 * Internal: not exported from the package.
 */

/**
 * Checks the container options against the task's memory and returns the container name.
 *
 * @throws if `container.memoryLimitMiB` is outside 6 MiB–the task's memory, `container.stopTimeout` exceeds the
 * Fargate maximum of 120 s, or `container.containerName` is the agent's
 */
export function validateAppContainer(c: ScheduledTaskContainerOptions, taskMemoryLimitMiB: number): string {
  if (c.memoryLimitMiB !== undefined && !Token.isUnresolved(c.memoryLimitMiB) && !Token.isUnresolved(taskMemoryLimitMiB)
    && (c.memoryLimitMiB < 6 || c.memoryLimitMiB > taskMemoryLimitMiB)) {
    throw new Error(`container.memoryLimitMiB must be between 6 and the task's memoryLimitMiB (${taskMemoryLimitMiB}), got ${c.memoryLimitMiB}`);
  }
  if (c.stopTimeout && !c.stopTimeout.isUnresolved() && c.stopTimeout.toSeconds() > 120) {
    throw new Error(`container.stopTimeout must be at most 120 seconds on Fargate, got ${c.stopTimeout.toHumanString()}`);
  }
  const containerName = c.containerName ?? 'app';
  if (containerName === AGENT_CONTAINER_NAME) {
    throw new Error(`container.containerName "${containerName}" is reserved for the monitoring agent`);
  }
  return containerName;
}

/** Adds the (essential) app container, logging to `logGroup` with stream prefix `app` unless `container.logging`. */
export function addAppContainer(taskDefinition: ecs.TaskDefinition, c: ScheduledTaskContainerOptions, logGroup: logs.ILogGroup,
  extra: { portMappings?: ecs.PortMapping[] } = {}): ecs.ContainerDefinition {
  return taskDefinition.addContainer('App', {
    containerName: c.containerName ?? 'app',
    image: c.image,
    command: c.command,
    entryPoint: c.entryPoint,
    environment: c.environment,
    secrets: c.secrets,
    memoryLimitMiB: c.memoryLimitMiB,
    stopTimeout: c.stopTimeout,
    user: c.user,
    readonlyRootFilesystem: c.readonlyRootFilesystem,
    essential: true,
    portMappings: extra.portMappings,
    logging: c.logging ?? ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'app' }),
  });
}
