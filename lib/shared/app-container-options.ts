import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';

/**
 * The application container of a monitored construct ({@link MonitoredScheduledTask}, and through
 * `ServiceContainerOptions` {@link FastScalingService}): essential, next to the monitoring agent.
 */
export interface AppContainerOptions {
  /** Image of the application. */
  readonly image: ecs.ContainerImage;

  /**
   * Name of the container.
   *
   * @default 'app'
   */
  readonly containerName?: string;

  /**
   * Command run in the container (Docker CMD).
   *
   * @default - the image's CMD
   */
  readonly command?: string[];

  /**
   * Entry point (Docker ENTRYPOINT).
   *
   * @default - the image's ENTRYPOINT
   */
  readonly entryPoint?: string[];

  /**
   * Environment variables (plain text: use `secrets` for anything secret).
   *
   * @default - none
   */
  readonly environment?: { [key: string]: string };

  /**
   * Secrets from Secrets Manager or SSM Parameter Store, exposed as environment variables.
   *
   * @default - none
   */
  readonly secrets?: { [key: string]: ecs.Secret };

  /**
   * Log driver of the app container.
   *
   * @default - awslogs to the construct's log group, stream prefix 'app'
   */
  readonly logging?: ecs.LogDriver;

  /**
   * Hard memory limit of the app container, MiB. The out-of-memory warning then watches this container against it.
   * ECS requires the memory reserved by all containers to fit in the task's memory: this limit plus the agent
   * container's fixed reservation of 64 MiB (its `memoryReservation`; its hard limit, `agentMemoryLimitMiB`, does not
   * count) must not exceed the task's `memoryLimitMiB`.
   *
   * @default - no container limit: the app may use the task's memory, and the warning watches the task
   */
  readonly memoryLimitMiB?: number;

  /**
   * User (name or uid[:gid]) the app runs as. Compliance rules (Control Tower CT.ECS.PR.3) want a non-root user.
   *
   * @default - the image's USER
   */
  readonly user?: string;

  /**
   * Mount the app's root filesystem read-only (Control Tower CT.ECS.PR.6).
   *
   * @default false
   */
  readonly readonlyRootFilesystem?: boolean;

  /**
   * Time the app gets between SIGTERM and SIGKILL when the task is stopped. At most 120 seconds on Fargate.
   *
   * When the task is stopped from outside (StopTask, Fargate Spot interruption), ECS stops the monitoring agent
   * first (shutdown reverses `dependsOn`): the app's SIGTERM comes up to 10 seconds later, and its `stopTimeout`
   * counts from then. A Spot interruption gives the whole task 2 minutes.
   *
   * @default - the ECS default (30 seconds)
   */
  readonly stopTimeout?: Duration;
}
