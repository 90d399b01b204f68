import { Duration, RemovalPolicy, Stack, StackProps, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FactName } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { FastScalingService, FleetDashboard, MonitoredScheduledTask, RunOutcomeHandler } from '../../lib';

/**
 * The example app of the README: a nightly batch job on Fargate, monitored.
 */
export class ExampleStack extends Stack {
  public readonly nightlyBatch: MonitoredScheduledTask;
  public readonly shop: FastScalingService;
  public readonly fleet: FleetDashboard;

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
    const alarmActions = [new cw_actions.SnsAction(alarmTopic)];

    // The run-outcome handler, explicit: its logs kept a year and encrypted, its own alarms to the same topic.
    const runOutcomes = new RunOutcomeHandler(this, 'RunOutcomes', {
      logRetention: logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: key,
      alarmActions,
    });

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
      alarmOverrides: { memory: { threshold: 85 } },
      maxRunDuration: Duration.minutes(30),
      procfsSampling: true,
      logRetention: logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: key,
      alarmActions,
      runOutcomeHandler: runOutcomes,
    });

    // --- FastScalingService: a web shop that scales out within seconds of a burst ---
    // What Control Tower and cdk-nag ask of a public web service that is the owner's choice, done here: HTTPS with a
    // redirect from HTTP, load balancer access logs and deletion protection, a non-root read-only app container with
    // its own memory limit, encrypted logs kept a year, alarm actions.
    const accessLogs = new s3.Bucket(this, 'ShopAccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // ALB access logs support SSE-S3 only
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectLockEnabled: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) }],
    });
    // The access-log bucket is itself a log destination: server access logs of it would need yet another bucket,
    // event notifications on it would only announce log files, and ALB access logs can only be written with SSE-S3
    // (no KMS key). See test/compliance.test.ts.
    Validations.of(accessLogs).acknowledge({ id: 'AwsSolutions-S1', reason: 'This bucket receives the load balancer access logs; logging it would need another log bucket.' });
    this.shop = new FastScalingService(this, 'Shop', {
      cluster,
      container: {
        image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx-unprivileged:1.27-alpine'),
        containerPort: 8080,
        user: '101',
        readonlyRootFilesystem: true,
        memoryLimitMiB: 768,
      },
      cpu: 512,
      memoryLimitMiB: 1024,
      minCapacity: 2,
      maxCapacity: 20,
      namespace: 'Example/Shop',
      certificate: new acm.Certificate(this, 'ShopCertificate', {
        domainName: 'shop.example.com',
        validation: acm.CertificateValidation.fromDns(),
      }),
      logRetention: logs.RetentionDays.ONE_YEAR,
      logEncryptionKey: key,
      alarmActions,
    });
    logAccessLogs(this.shop, accessLogs, 'shop');
    this.shop.loadBalancer.setAttribute('deletion_protection.enabled', 'true');

    // --- One page for the whole stack: a row per job and service under the fleet-wide views ---
    this.fleet = new FleetDashboard(this, 'Fleet', { members: [this.nightlyBatch, this.shop] });
  }
}

/**
 * Load balancer access logs that also synthesize without a Region (the example is environment-agnostic):
 * `ApplicationLoadBalancer.logAccessLogs` needs the Region at synth to pick the ELB account to trust. Here the ELB
 * account comes from a CloudFormation mapping of the Regions CDK knows (older Regions), and Regions opened since
 * August 2022 use the log delivery service principal (Elastic Load Balancing user guide, "Attach a policy to your S3
 * bucket").
 */
function logAccessLogs(service: FastScalingService, bucket: s3.Bucket, prefix: string): void {
  const stack = Stack.of(service);
  const lb = service.loadBalancer;
  if (!Token.isUnresolved(stack.region)) {
    lb.logAccessLogs(bucket, prefix);
    return;
  }
  const objects = bucket.arnForObjects(`${prefix}/AWSLogs/${stack.account}/*`);
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'ElbAccountWritesAccessLogs',
    actions: ['s3:PutObject'],
    principals: [new iam.AccountPrincipal(stack.regionalFact(FactName.ELBV2_ACCOUNT))],
    resources: [objects],
  }));
  bucket.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'ElbLogDeliveryWritesAccessLogs',
    actions: ['s3:PutObject'],
    principals: [new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
    resources: [objects],
  }));
  lb.setAttribute('access_logs.s3.enabled', 'true');
  lb.setAttribute('access_logs.s3.bucket', bucket.bucketName);
  lb.setAttribute('access_logs.s3.prefix', prefix);
  lb.node.addDependency(bucket.policy!);
}
