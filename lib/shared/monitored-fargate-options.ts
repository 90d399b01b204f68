import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { MonitoringAgentOptions } from '../agent/monitoring-agent';

/**
 * Options every monitored Fargate construct (MonitoredScheduledTask, FastScalingService) accepts, with one name and
 * one meaning on both: where it runs, its task definition, its logs, the agent, its dashboard, and who hears its
 * alarms.
 */
export interface MonitoredFargateOptions extends MonitoringAgentOptions {
  /**
   * Cluster to run in. Give `cluster` or `vpc`, not both.
   *
   * @default - the stack's default cluster in `vpc` (or in a new VPC when `vpc` is not given either), with Container
   * Insights on, shared by every monitored construct and aws-ecs-patterns construct of the stack that gives no
   * cluster, as aws-ecs-patterns does
   */
  readonly cluster?: ecs.ICluster;

  /**
   * VPC of the stack's default cluster, used only when `cluster` is not given.
   *
   * @default - one new VPC per stack (two AZs, a NAT gateway in each) for the default cluster, when `cluster` is not
   * given
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Task definition family. Scheduled tasks' metrics carry it as the `TaskDefinitionFamily` dimension. One family per
   * monitored construct: a second one in the same app, account and Region with the same family fails at synth.
   *
   * @default - generated from the construct path
   */
  readonly family?: string;

  /**
   * Fargate platform version: 1.4.0 or later where the agent samples `/proc` (`procfsSampling`), which needs
   * `pidMode: task`.
   *
   * @default FargatePlatformVersion.LATEST
   */
  readonly platformVersion?: ecs.FargatePlatformVersion;

  /**
   * CPU architecture of the tasks: X86_64 or ARM64 (Graviton). The bundled agent image is built for the same
   * architecture; give an `agentImage` for that architecture too if you replace it.
   *
   * @default CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;

  /**
   * Ephemeral storage of each task, GiB (21–200).
   *
   * @default - 20 GiB (the Fargate default)
   */
  readonly ephemeralStorageGiB?: number;

  /**
   * An existing IAM role for the tasks (the app's permissions). The agent's `cloudwatch:PutMetricData` statement is
   * added to it (through a new policy when the role is imported), unless `metricsPublisher` is Embedded Metric
   * Format. It must trust `ecs-tasks.amazonaws.com`.
   *
   * @default - a new role
   */
  readonly taskRole?: iam.IRole;

  /**
   * Subnets of the tasks.
   *
   * @default - private subnets of the cluster's VPC
   */
  readonly taskSubnets?: ec2.SubnetSelection;

  /**
   * Security groups of the tasks. A FastScalingService's load balancer is allowed in on the container port.
   *
   * @default - a new security group of the construct's own (also for an empty list), with no inbound rule (but the
   * load balancer's, for a service) and all outbound traffic allowed (the VPC's default security group, which new
   * CDK VPCs empty, would stop the tasks from pulling their images)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * Give the tasks public IPs (only for public subnets).
   *
   * @default false
   */
  readonly assignPublicIp?: boolean;

  /**
   * Allow ECS Exec (`aws ecs execute-command`) into the running tasks' containers: the tasks start with execute
   * command enabled and the task role gets the four `ssmmessages` channel actions (which have no resource-level
   * permissions). The image needs a shell. ECS Exec does not work in containers with a read-only root filesystem
   * (aws/containers-roadmap#1359): sessions are possible in the app container only, and only with
   * `container.readonlyRootFilesystem` false (a synth warning says so otherwise); the agent's stays read-only.
   *
   * With `procfsSampling` (always on for a FastScalingService unless turned off), the task shares one PID
   * namespace (`pidMode: task`): AWS then allows one ECS Exec session per PID namespace, and the SSM agent runs in
   * one container chosen non-deterministically, possibly the monitoring agent's read-only one, where sessions fail
   * (aws/containers-roadmap#2268). A synth warning says so.
   *
   * @default false
   */
  readonly enableExecuteCommand?: boolean;

  /**
   * An existing log group for both containers (stream prefixes `app` and `agent`). Do not give `logRetention` or
   * `logEncryptionKey` with it: they are settings of the log group this construct would create.
   *
   * @default - a new log group (retained when the stack is deleted), see `logRetention` and `logEncryptionKey`
   */
  readonly logGroup?: logs.ILogGroup;

  /**
   * Retention of the new log group the app and the agent log to. Only without `logGroup`.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * KMS key to encrypt the new log group with (its key policy must allow the CloudWatch Logs service principal).
   * Only without `logGroup`.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Create the construct's CloudWatch dashboard.
   *
   * @default true
   */
  readonly createDashboard?: boolean;

  /**
   * Name of the dashboard. Only with the dashboard created. 1–255 characters from A-Z a-z 0-9 - _. CloudWatch
   * dashboards are global to the account, not per Region: a fixed name collides when the same stack is deployed to
   * two Regions of one account (include the Region in it, or leave it to CloudFormation).
   *
   * @default - generated by CloudFormation (unique per stack and Region)
   */
  readonly dashboardName?: string;

  /**
   * Actions of the construct's alarms when they go into ALARM, for example an SNS topic action. An alarm's own
   * `alarmActions` in `alarmOverrides` replace them for that alarm. (The scaling alarms of a FastScalingService drive
   * its scaling policies and get none.)
   *
   * @default - no actions: the alarms show on the dashboard and in the console only
   */
  readonly alarmActions?: cloudwatch.IAlarmAction[];

  /**
   * Actions of the same alarms when they go back to OK. Give an empty list for no OK notifications.
   *
   * @default - the `alarmActions` (so a notification channel also hears that the problem is over)
   */
  readonly okActions?: cloudwatch.IAlarmAction[];
}
