import { Token } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { AppContainerOptions } from './app-container-options';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';

/**
 * Checks the container options against the task's memory and returns the container name. Internal.
 *
 * @param agentReservationMiB the memory ECS counts for the agent container (its reservation)
 * @throws if `container.memoryLimitMiB` is under 6 MiB or, with the agent's reservation, exceeds the task's memory,
 * `container.stopTimeout` exceeds the Fargate maximum of 120 s, or `container.containerName` is the agent's
 */
export function validateAppContainer(c: AppContainerOptions, taskMemoryLimitMiB: number, agentReservationMiB: number): string {
  const limit = c.memoryLimitMiB;
  if (limit !== undefined && !Token.isUnresolved(limit) && !Token.isUnresolved(taskMemoryLimitMiB)) {
    if (limit < 6) throw new Error(`container.memoryLimitMiB must be at least 6 (MiB), got ${limit}`);
    // ECS: "The total amount of memory reserved for all containers within a task must be lower than the task memory
    // value" (ContainerDefinition.memory); a container's reservation is its memoryReservation, else its memory.
    if (limit + agentReservationMiB > taskMemoryLimitMiB) {
      throw new Error(`container.memoryLimitMiB (${limit}) plus the agent's reservation (${agentReservationMiB} MiB) must not exceed the task's ` +
        `memoryLimitMiB (${taskMemoryLimitMiB}): ECS refuses a task definition whose containers reserve more than the task's memory. ` +
        `Set container.memoryLimitMiB to at most ${taskMemoryLimitMiB - agentReservationMiB}, or raise memoryLimitMiB`);
    }
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

/** Adds the (essential) app container, logging to `logGroup` with stream prefix `app` unless `container.logging`. Internal. */
export function addAppContainer(taskDefinition: ecs.TaskDefinition, c: AppContainerOptions, logGroup: logs.ILogGroup,
  portMappings?: ecs.PortMapping[]): ecs.ContainerDefinition {
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
    portMappings,
    logging: c.logging ?? ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'app' }),
  });
}
