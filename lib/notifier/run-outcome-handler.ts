import { Duration, Lazy, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RunOutcomeFunction } from './run-outcome-function';
import { slackWebhooks } from './slack-webhooks';
import { AlarmFactory, countAlarmDefinition } from '../shared/alarm-factory';
import { AlarmActionOptions, AlarmOverride } from '../shared/alarm-override';
import { stackDefault } from '../shared/stack-default';

/** Construct id of the stack's default handler, directly under the stack. */
const DEFAULT_HANDLER_ID = 'FargateMonitorRunOutcomeHandler';

/**
 * Slack notifications of a monitored scheduled task: one message per run. One channel: give `webhook`. Success and
 * failure in different channels: give `successWebhook` and `failureWebhook` (an incoming webhook is bound to one
 * channel), or `webhook` plus the one that differs.
 *
 * Each is a Secrets Manager secret whose value is the channel's incoming-webhook URL (the plain URL, or JSON
 * `{"url": "https://hooks.slack.com/..."}`), read by the handler at run time and cached for 10 minutes; the URL is
 * never in the template or an environment variable. A secret used for both channels is granted and read once.
 */
export interface SlackNotificationOptions {
  /**
   * Secret with the incoming-webhook URL of the channel for every run: successful, failed and interrupted, unless
   * `successWebhook` or `failureWebhook` is given.
   *
   * @default - none: give both `successWebhook` and `failureWebhook`
   */
  readonly webhook?: secretsmanager.ISecret;

  /**
   * Secret with the incoming-webhook URL of the channel for successful runs.
   *
   * @default - `webhook`
   */
  readonly successWebhook?: secretsmanager.ISecret;

  /**
   * Secret with the incoming-webhook URL of the channel for failed, failed-to-start and interrupted runs.
   *
   * @default - `webhook`
   */
  readonly failureWebhook?: secretsmanager.ISecret;

  /**
   * Post successful runs too. When false, only failed, failed-to-start and interrupted runs are posted.
   *
   * @default true
   */
  readonly notifySuccess?: boolean;

  /**
   * Headroom over a run's peak CPU and memory, in percent, for the message's right-size line (the cheapest Fargate
   * size that would have held the peaks with this headroom). 0–200.
   *
   * @default 20
   */
  readonly rightSizeHeadroomPercent?: number;
}

/**
 * Properties of {@link RunOutcomeHandler}: its log settings, and where its two alarms (`errorsAlarm`,
 * `deadLetterAlarm`) send their state changes (`alarmActions`, `okActions`).
 */
export interface RunOutcomeHandlerProps extends AlarmActionOptions {
  /**
   * Retention of the handler's log group.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * KMS key to encrypt the handler's log group with (its key policy must allow the CloudWatch Logs service principal).
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Per-alarm settings of the handler's alarms (switch one off, change its threshold, periods or actions).
   *
   * @default - both alarms with their defaults
   */
  readonly alarmOverrides?: RunOutcomeHandlerAlarmOverrides;
}

/**
 * Per-alarm settings of a {@link RunOutcomeHandler}'s alarms (see {@link AlarmOverride}).
 */
export interface RunOutcomeHandlerAlarmOverrides {
  /**
   * The errors alarm: the function's `Errors` Sum ≥ threshold (count, default 1) in one 5-minute period (it retries
   * twice; see `deadLetter` for events given up).
   *
   * @default - threshold 1, period 5 minutes, 1 of 1
   */
  readonly errors?: AlarmOverride;

  /**
   * The dead-letter alarm: `NumberOfMessagesSent` Sum of the on-failure queue ≥ threshold (count, default 1) in one
   * 5-minute period: an event given up after the retries.
   *
   * @default - threshold 1, period 5 minutes, 1 of 1
   */
  readonly deadLetter?: AlarmOverride;
}

/**
 * A run-outcome handler: one Lambda function (Node 24, ARM64) shared by the monitored scheduled tasks that use it.
 * Each task's STOPPED rule targets it; it judges the run by the app container, publishes `Runs`, `FailedRuns` and
 * `InterruptedRuns` (Count, dimensions `ClusterName` and `TaskDefinitionFamily`, in the task's namespace), logs one
 * `RUN_OUTCOME` JSON line per task stop (README, "One RUN_OUTCOME line per run"; what a {@link FleetDashboard}
 * queries) and, for tasks with Slack notifications, posts one message per task stop.
 *
 * At most one message per task stop: a conditional write to a DynamoDB table (on-demand, TTL 7 days) claims the
 * stop before anything is published. If publishing or posting fails, the claim is released and the invocation
 * fails, so Lambda retries (twice); after that the event lands in `deadLetterQueue` (on-failure destination, with
 * the error). A claim held by an invocation that died (timeout) can be taken over after 5 minutes.
 *
 * Explicit, not first-caller-wins: a MonitoredScheduledTask without `runOutcomeHandler` uses the stack's default
 * handler, {@link RunOutcomeHandler.of}, always with the default settings (one month of logs, no alarm actions). To
 * choose the log settings and where the handler's own alarms go, create one (`new RunOutcomeHandler(stack,
 * 'RunOutcomes', { alarmActions, logRetention })`) and give it to the tasks as `runOutcomeHandler`.
 *
 * The function runs outside any VPC: it calls CloudWatch, CloudWatch Logs, DynamoDB, Secrets Manager and Slack's
 * public webhook endpoint, which from a VPC would need a NAT gateway.
 *
 * @throws if an alarm override is invalid
 */
export class RunOutcomeHandler extends Construct {
  /**
   * The stack's default handler (construct id `FargateMonitorRunOutcomeHandler` directly under the stack), created
   * with default settings on first use. Settings never come from the caller.
   */
  public static of(scope: Construct): RunOutcomeHandler {
    return stackDefault(scope, DEFAULT_HANDLER_ID, (c): c is RunOutcomeHandler => c instanceof RunOutcomeHandler,
      (stack, id) => new RunOutcomeHandler(stack, id));
  }

  /** The Lambda function. */
  public readonly function: lambda.Function;

  /** Events the function failed to handle after its retries (on-failure destination). */
  public readonly deadLetterQueue: sqs.Queue;

  /**
   * Log group of the function: its own log lines, among them one JSON line per task stop (`"type": "RUN_OUTCOME"`),
   * which a FleetDashboard queries with Logs Insights.
   */
  public readonly logGroup: logs.ILogGroup;

  /** One item per handled task stop (key `taskArn`, TTL attribute `expiresAt`). */
  public readonly dedupTable: dynamodb.Table;

  /** The function failed at least once in 5 minutes (it retries; see `deadLetterAlarm` for events given up). */
  public readonly errorsAlarm?: cloudwatch.Alarm;

  /** An event was given up after the retries: a run's outcome was not published or posted. */
  public readonly deadLetterAlarm?: cloudwatch.Alarm;

  /** The created alarms. */
  public readonly alarms: cloudwatch.Alarm[];

  private readonly namespaces = new Set<string>();
  private readonly serviceArns: string[] = [];
  private flushRule?: events.Rule;

  constructor(scope: Construct, id: string, props: RunOutcomeHandlerProps = {}) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the on-failure destination of the run-outcome handler; deadLetterAlarm watches it.',
    });
    this.dedupTable = new dynamodb.Table(this, 'Dedup', {
      partitionKey: { name: 'taskArn', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.logGroup = logGroup;
    // Its own role, without AWSLambdaBasicExecutionRole (which may write to every log group).
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'cdk-fargate-monitor run-outcome handler',
    });
    logGroup.grantWrite(role);
    this.function = new RunOutcomeFunction(this, 'Function', {
      role,
      description: 'cdk-fargate-monitor: judges stopped scheduled tasks, publishes run metrics, posts to Slack',
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(2),
      logGroup,
      environment: { DEDUP_TABLE_NAME: this.dedupTable.tableName },
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resources: [this.dedupTable.tableArn],
    }));
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': Lazy.list({ produce: () => [...this.namespaces].sort() }) } },
    }));
    Validations.of(role).acknowledge(
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: 'cloudwatch:PutMetricData has no resource-level permissions; a cloudwatch:namespace condition limits it.' },
    );
    // CDK makes the function depend on its role (so the role's policy exists first) and also reads the role's ARN:
    // cfn-lint W3005 calls the first redundant. The dependency on the policy is the one that matters; keep both.
    (this.function.node.defaultChild as lambda.CfnFunction).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });

    const factory = new AlarmFactory(props);
    const o = props.alarmOverrides ?? {};
    this.errorsAlarm = factory.create(this, countAlarmDefinition('ErrorsAlarm', 'alarmOverrides.errors',
      this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      () => 'The cdk-fargate-monitor run-outcome handler failed (it retries twice). Read its log group.'), o.errors);
    // NumberOfMessagesSent counts each new message (the destination sends with SendMessage); unlike
    // ApproximateNumberOfMessagesVisible it returns to OK on its own while the message waits to be read.
    this.deadLetterAlarm = factory.create(this, countAlarmDefinition('DeadLetterAlarm', 'alarmOverrides.deadLetter',
      this.deadLetterQueue.metricNumberOfMessagesSent({ period: Duration.minutes(5), statistic: 'Sum' }),
      () => 'The run-outcome handler gave up on an event after its retries: a run was not counted or not posted. ' +
        'The message in the dead-letter queue carries the event and the error.'), o.deadLetter);
    this.alarms = [this.errorsAlarm, this.deadLetterAlarm].filter((a): a is cloudwatch.Alarm => a !== undefined);
  }

  /**
   * Lets the handler serve one task: publish to `namespace`, read the agent's REPORT from `logGroup`, and read the
   * webhook secrets. Adds statements to the function's role only (no resource per task).
   */
  public grantTask(namespace: string, logGroup: logs.ILogGroup, slack?: SlackNotificationOptions): void {
    this.namespaces.add(namespace);
    // The agent's REPORT, for every task (its RUN_OUTCOME line). The log group's ARN ends in `:*`, which covers its
    // streams (`…:log-group:NAME:log-stream:STREAM`).
    logGroup.grant(this.function, 'logs:GetLogEvents');
    if (slack) {
      for (const secret of new Set(Object.values(slackWebhooks(slack)))) secret.grantRead(this.function);
    }
  }

  /**
   * The service watch's flush: a rule that invokes the function once a minute, so the summary of a crash loop's last
   * window is posted when no further crash comes, and a service held at its ceiling is told when its time is up.
   * Created with the first service with Slack notifications.
   */
  public get serviceWindowFlushRule(): events.IRule | undefined {
    return this.flushRule;
  }

  /**
   * Lets the handler serve a FastScalingService's events (see `grantTask`) and watch it: reading and deleting the
   * window and ceiling items in the dedup table, `ecs:DescribeServices` on `serviceArn` (its desired count, for the
   * ceiling), and, once per handler, `serviceWindowFlushRule` (a rule and its Lambda permission, for every service of
   * the handler together). Adds statements to the function's role only (no resource per service).
   */
  public grantService(namespace: string, logGroup: logs.ILogGroup, slack: SlackNotificationOptions, serviceArn: string): void {
    this.grantTask(namespace, logGroup, slack);
    if (!this.serviceArns.includes(serviceArn)) this.serviceArns.push(serviceArn);
    if (this.flushRule) return;
    this.function.addToRolePolicy(new iam.PolicyStatement({
      actions: ['dynamodb:GetItem', 'dynamodb:DeleteItem'],
      resources: [this.dedupTable.tableArn],
    }));
    // One statement for every service of the handler (DescribeServices takes the service ARN as its resource). On the
    // role itself: the function's addToRolePolicy puts a statement with a list token in a policy of its own.
    this.function.role!.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecs:DescribeServices'],
      resources: Lazy.list({ produce: () => this.serviceArns }),
    }));
    this.flushRule = new events.Rule(this, 'ServiceWindowFlush', {
      description: 'cdk-fargate-monitor: posts ended service crash windows and services held at their ceiling (once a minute)',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.function, { event: events.RuleTargetInput.fromObject({ serviceFlush: true }) })],
    });
  }
}

