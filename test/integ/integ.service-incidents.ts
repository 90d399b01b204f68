/**
 * Live checks of a FastScalingService's incidents, for a maintainer with an AWS account (README, "Live checks in an
 * AWS account"): an integ app in the way aws-cdk's own constructs prove themselves (`@aws-cdk/integ-tests-alpha`),
 * deployed with the CDK CLI:
 *
 *   npx cdk deploy --app 'npx ts-node --prefer-ts-exts test/integ/integ.service-incidents.ts' --all --require-approval never
 *
 * It deploys one small service (1 to 2 tasks of 0.25 vCPU / 512 MiB, a public busybox image behind a public load
 * balancer) whose app serves HTTP for two minutes and then exits 1, so its tasks crash in a loop, with
 * `slackNotifications`; and a DeployAssert stack whose custom resources call the AWS APIs and wait until the stack's
 * run-outcome handler has seen the loop: ECS knows the service, `TaskCrashes` (ClusterName + ServiceName) sums to at
 * least 2, so does `TaskCrashes` with `Reason` ExitCode, and the handler's table holds the service's crash window. A
 * failed assertion fails the deployment of the DeployAssert stack. Remove everything with the same `--app` and
 * `cdk destroy --all --force`. Needs Docker (the agent image is built from agent/).
 *
 * Slack: the webhook secret holds the URL of a Lambda function URL in the canary stack that answers 200 to anything
 * (WEBHOOK_RECEIVER_CODE), so no Slack workspace is needed and no message leaves the account. Not a URL that cannot
 * deliver: lib/notifier/run-outcome.lambda.ts `postToSlack` retries a network error or a 5xx until the invocation's
 * deadline and then throws, so the handler hands the crash's claim back and Lambda retries the whole event (twice),
 * and the once-a-minute flush fails every time it posts a summary (its errors alarm goes off). The assertions would
 * still hold (the crash is counted and its window written before the post), but every crash would cost minutes of
 * Lambda time. Only a 4xx is taken as final (logged, not retried).
 *
 * Never run by the test suite, and not run in AWS from this project's machines: test/integ/integ.service-incidents.test.ts
 * only synthesizes this app and checks the assertions are wired.
 */
import { ExpectedResult, IApiCall, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { integSetup, publicCluster } from './support';
import { FastScalingService, RunOutcomeHandler } from '../../lib';

/** The metric namespace of the canary (the agent's metrics and the handler's `TaskCrashes`). */
export const NAMESPACE = 'Integ/FargateMonitor';
const IMAGE = 'public.ecr.aws/docker/library/busybox:stable';

/** The canary service's name (given, so the assertions and the crash window's key know it at synth). */
export const SERVICE_NAME = 'cfm-integ-crash-loop';

/**
 * How long each task serves before its app exits 1. Long enough for the first deployment to reach a steady state (the
 * load balancer marks a target healthy after 2 checks 5 s apart), so CloudFormation's create completes; FastScalingService
 * always turns the deployment circuit breaker on, and a healthy task resets its failure count (ECS
 * `resetOnHealthyTask`, default true), so the loop afterwards never trips it.
 */
export const SERVE_SECONDS = 120;

/**
 * The app's shell command (busybox): serve `/` with 200 on port 80 (the load balancer's health check), then exit 1.
 * The task stops with `EssentialContainerExited` and the app's exit code 1: a crash, Reason ExitCode.
 */
export const CRASH_COMMAND = `mkdir -p /www && echo ok > /www/index.html && httpd -p 80 -h /www && sleep ${SERVE_SECONDS}; exit 1`;

/** At least this many crashes counted (a loop, not one stop). */
export const MIN_CRASHES = 2;

/** The webhook receiver: answers 200 to every request (a Lambda function URL's response). */
export const WEBHOOK_RECEIVER_CODE = "exports.handler = async () => ({ statusCode: 200, body: 'ok' });";

/** The canary stack: a public-subnet VPC (no NAT), a cluster, the crash-looping service and its webhook receiver. */
export class ServiceCanaryStack extends Stack {
  public readonly cluster: ecs.Cluster;
  public readonly service: FastScalingService;
  /** The function whose URL the webhook secret holds. */
  public readonly webhookReceiver: lambda.Function;
  public readonly webhook: secretsmanager.Secret;

  constructor(scope: App, id: string) {
    super(scope, id);
    this.cluster = publicCluster(this);

    this.webhookReceiver = new lambda.Function(this, 'WebhookReceiver', {
      description: 'cdk-fargate-monitor integ canary: stands in for a Slack incoming webhook (answers 200)',
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline(WEBHOOK_RECEIVER_CODE),
      memorySize: 128,
      timeout: Duration.seconds(3),
    });
    const url = this.webhookReceiver.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.webhook = new secretsmanager.Secret(this, 'Webhook', {
      description: 'cdk-fargate-monitor integ canary: the webhook URL (the receiver function\'s URL, not Slack)',
      secretStringValue: SecretValue.resourceAttribute(url.url),
    });

    this.service = new FastScalingService(this, 'CrashLoop', {
      cluster: this.cluster,
      serviceName: SERVICE_NAME,
      container: { image: ecs.ContainerImage.fromRegistry(IMAGE), command: ['sh', '-c', CRASH_COMMAND] },
      cpu: 256,
      memoryLimitMiB: 512,
      minCapacity: 1,
      maxCapacity: 2,
      taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      assignPublicIp: true, // to pull the public image without a NAT gateway
      namespace: NAMESPACE,
      createDashboard: false,
      slackNotifications: { webhook: this.webhook, notifySuccess: false },
    });
  }
}

/**
 * The integ app: the canary stack and its assertions (integ-tests-alpha's DeployAssert stack).
 * @returns the app, the test and the canary stack (the offline test inspects them)
 */
export function buildIntegApp(app = new App()): { app: App; integ: IntegTest; stack: ServiceCanaryStack } {
  const stack = new ServiceCanaryStack(app, 'FargateMonitorServiceCanary');
  const { integ, assertions: a, waitLong, start, end } = integSetup(app, 'ServiceIncidents', stack);
  const clusterName = stack.cluster.clusterName;
  const dimensions = [
    { Name: 'ClusterName', Value: clusterName },
    { Name: 'ServiceName', Value: SERVICE_NAME },
  ];

  // 1. ECS knows the service (DescribeServices answers much: asserted at one path each).
  const describeService = (path: string, expected: ExpectedResult): IApiCall => a.awsApiCall('ECS', 'describeServices', {
    cluster: stack.cluster.clusterArn,
    services: [SERVICE_NAME],
  }).assertAtPath(path, expected).waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) });
  const named = describeService('services.0.serviceName', ExpectedResult.exact(SERVICE_NAME));
  const active = describeService('services.0.status', ExpectedResult.exact('ACTIVE'));

  // 2. The crash loop is counted: TaskCrashes (Sum over one 1-day period) ≥ MIN_CRASHES, with the service's
  //    dimensions, and again with Reason ExitCode. integ-tests' matchers have no "at least": a metric math IF turns
  //    the sum into 1 (enough) or 0, and the assertion wants exactly [1]; no datapoint yet gives [] and it waits.
  const atLeast = (extra: Array<{ Name: string; Value: string }>): IApiCall => a.awsApiCall('CloudWatch', 'getMetricData', {
    StartTime: start.toISOString(),
    EndTime: end.toISOString(),
    MetricDataQueries: [
      {
        Id: 'crashes',
        MetricStat: {
          Metric: { Namespace: NAMESPACE, MetricName: 'TaskCrashes', Dimensions: [...dimensions, ...extra] },
          Period: 86_400,
          Stat: 'Sum',
        },
        ReturnData: false,
      },
      { Id: 'loop', Expression: `IF(crashes >= ${MIN_CRASHES}, 1, 0)`, ReturnData: true },
    ],
  }).expect(ExpectedResult.objectLike({ MetricDataResults: [Match.objectLike({ Id: 'loop', Values: [1] })] }))
    .waitForAssertions(waitLong);
  const crashes = atLeast([]);
  const exitCodes = atLeast([{ Name: 'Reason', Value: 'ExitCode' }]);

  // 3. The handler keeps the service's crash window in its table (lib/notifier/service-events.ts `windowKey`): the
  //    item goes only when a whole incident window (10 minutes) has passed after the last one without a crash, and
  //    here a task crashes every SERVE_SECONDS plus its start (about 3 minutes).
  const windowKey = `service-window#${clusterName}/${SERVICE_NAME}`;
  const window = a.awsApiCall('DynamoDB', 'getItem', {
    TableName: RunOutcomeHandler.of(stack).dedupTable.tableName,
    Key: { taskArn: { S: windowKey } },
    ConsistentRead: true,
  }).assertAtPath('Item.taskArn.S', ExpectedResult.exact(windowKey))
    .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(15) });

  named.next(active).next(crashes).next(exitCodes).next(window);
  return { app, integ, stack };
}

if (require.main === module) {
  buildIntegApp().app.synth();
}
