import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { MonitoringAgentOptions } from '../agent/monitoring-agent';

/**
 * Options every monitored Fargate construct (MonitoredScheduledTask, FastScalingService) accepts: where it runs,
 * its task definition family and platform, its logs, the agent, and who hears its alarms.
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
   * Task definition family. Scheduled tasks' metrics carry it as the `TaskDefinitionFamily` dimension.
   *
   * @default - generated from the construct path
   */
  readonly family?: string;

  /**
   * Fargate platform version: 1.4.0 or later where the agent samples `/proc` (`procfsSampling`, always on for
   * FastScalingService), which needs `pidMode: task`.
   *
   * @default FargatePlatformVersion.LATEST
   */
  readonly platformVersion?: ecs.FargatePlatformVersion;

  /**
   * Retention of the new log group the app and the agent log to. Only without an existing log group.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * KMS key to encrypt the new log group with (its key policy must allow the CloudWatch Logs service principal).
   * Only without an existing log group.
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Actions of the construct's alarms when they go into ALARM, for example an SNS topic action. (The scaling alarms
   * of a FastScalingService drive its scaling policies and get none.)
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
