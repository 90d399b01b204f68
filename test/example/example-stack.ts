import { Duration, Stack, StackProps, TimeZone } from 'aws-cdk-lib';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { MonitoredScheduledTask } from '../../lib';

/**
 * The example app of the README: a nightly batch job on Fargate, monitored.
 */
export class ExampleStack extends Stack {
  public readonly nightlyBatch: MonitoredScheduledTask;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // Alarm notifications, and a key for the logs (Control Tower wants both; cdk-nag wants rotation and TLS).
    const key = new kms.Key(this, 'LogsKey', { enableKeyRotation: true, description: 'Logs of the example app' });
    key.grantEncryptDecrypt(new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`));
    const alarmTopic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true });
    key.grantEncryptDecrypt(new iam.ServicePrincipal('cloudwatch.amazonaws.com'));
    key.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OnlyAwsServicesCreateGrants',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['kms:CreateGrant'],
      resources: ['*'],
      conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }));

    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      ],
    });
    vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', {
        retention: logs.RetentionDays.ONE_YEAR,
        encryptionKey: key,
      })),
    });
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    this.nightlyBatch = new MonitoredScheduledTask(this, 'NightlyBatch', {
      cluster,
      schedule: scheduler.ScheduleExpression.cron({ minute: '30', hour: '2', timeZone: TimeZone.EUROPE_BERLIN }),
      container: {
        image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12-alpine'),
        command: ['python', '-c', 'import time; data = bytearray(200 * 1024 * 1024); time.sleep(60)'],
        environment: { BATCH_SIZE: '500' },
        user: '65534',
        readonlyRootFilesystem: true,
        memoryLimitMiB: 768,
      },
      cpu: 512,
      memoryLimitMiB: 1024,
      namespace: 'Example/NightlyBatch',
      memoryThresholdPercent: 85,
      maxRunDuration: Duration.minutes(30),
      procfsSampling: true,
      logRetention: logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: key,
      alarmActions: [new cw_actions.SnsAction(alarmTopic)],
    });
  }
}
