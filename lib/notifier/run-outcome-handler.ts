import { Duration, Lazy, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RunOutcomeFunction } from './run-outcome-function';

/**
 * Slack notifications of a monitored scheduled task: one message per run, success and failure to different channels.
 */
export interface SlackNotificationOptions {
  /**
   * Secret whose value is the incoming-webhook URL of the channel for successful runs (the plain URL, or JSON
   * `{"url": "https://hooks.slack.com/..."}`). Read by the handler at run time and cached for 10 minutes; the URL
   * is never in the template or an environment variable.
   */
  readonly successWebhook: secretsmanager.ISecret;

  /** Secret with the incoming-webhook URL of the channel for failed and interrupted runs (same format). */
  readonly failureWebhook: secretsmanager.ISecret;

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
 * Properties of {@link RunOutcomeHandler}.
 */
export interface RunOutcomeHandlerProps {
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
}

/**
 * The stack's run-outcome handler: one Lambda function (Node 22, ARM64) shared by every monitored scheduled task of
 * the stack. Each task's STOPPED rule targets it; it judges the run by the app container, publishes `Runs`,
 * `FailedRuns` and `InterruptedRuns` (Count, dimensions `ClusterName` and `TaskDefinitionFamily`, in the task's
 * namespace) and, for tasks with Slack notifications, posts one message per task stop.
 *
 * At most one message per task stop: a conditional write to a DynamoDB table (on-demand, TTL 7 days) claims the
 * stop before anything is published. If publishing or posting fails, the claim is released and the invocation
 * fails, so Lambda retries (twice); after that the event lands in `deadLetterQueue` (on-failure destination, with
 * the error). A claim held by an invocation that died (timeout) can be taken over after 5 minutes.
 *
 * One per stack: {@link RunOutcomeHandler.of} returns it, creating it on first use. To choose its log settings,
 * create it yourself (`new RunOutcomeHandler(stack, 'RunOutcomes', {...})`) before the first monitored task;
 * otherwise a MonitoredScheduledTask creates it with its own `logRetention` and `logEncryptionKey`.
 *
 * The function runs outside any VPC: it calls CloudWatch, CloudWatch Logs, DynamoDB, Secrets Manager and Slack's
 * public webhook endpoint, which from a VPC would need a NAT gateway.
 *
 * @throws if a stack gets a second RunOutcomeHandler
 */
export class RunOutcomeHandler extends Construct {
  /**
   * The stack's handler, created on first use (with `props`; later calls ignore them).
   */
  public static of(scope: Construct, props?: RunOutcomeHandlerProps): RunOutcomeHandler {
    const stack = Stack.of(scope);
    const existing = stack.node.children.find((c) => c instanceof RunOutcomeHandler) as RunOutcomeHandler | undefined;
    return existing ?? new RunOutcomeHandler(stack, 'FargateMonitorRunOutcomeHandler', props);
  }

  /** The Lambda function. */
  public readonly function: lambda.Function;

  /** Events the function failed to handle after its retries (on-failure destination). */
  public readonly deadLetterQueue: sqs.Queue;

  /** One item per handled task stop (key `taskArn`, TTL attribute `expiresAt`). */
  public readonly dedupTable: dynamodb.Table;

  /** The function failed at least once in 5 minutes (it retries; see `deadLetterAlarm` for events given up). */
  public readonly errorsAlarm: cloudwatch.Alarm;

  /** An event was given up after the retries: a run's outcome was not published or posted. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  private readonly namespaces = new Set<string>();
  private readonly alarmActionArns = new Set<string>();
  private readonly okActionArns = new Set<string>();

  constructor(scope: Construct, id: string, props: RunOutcomeHandlerProps = {}) {
    super(onlyOnePerStack(scope), id);
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

    this.errorsAlarm = this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }).createAlarm(this, 'ErrorsAlarm', {
      alarmDescription: 'The cdk-fargate-monitor run-outcome handler failed (it retries twice). Read its log group.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // NumberOfMessagesSent counts each new message (the destination sends with SendMessage); unlike
    // ApproximateNumberOfMessagesVisible it returns to OK on its own while the message waits to be read.
    this.deadLetterAlarm = this.deadLetterQueue.metricNumberOfMessagesSent({ period: Duration.minutes(5), statistic: 'Sum' })
      .createAlarm(this, 'DeadLetterAlarm', {
        alarmDescription: 'The run-outcome handler gave up on an event after its retries: a run was not counted or not posted. ' +
          'The message in the dead-letter queue carries the event and the error.',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
  }

  /** Both alarms, for adding actions. */
  public get alarms(): cloudwatch.Alarm[] {
    return [this.errorsAlarm, this.deadLetterAlarm];
  }

  /**
   * Adds actions to the ALARM state of both alarms, skipping any action (by ARN) already added: every task of the
   * stack may pass its own `alarmActions` without duplicates.
   */
  public addAlarmActions(...actions: cloudwatch.IAlarmAction[]): void {
    this.addActions(this.alarmActionArns, actions, (alarm, action) => alarm.addAlarmAction(action));
  }

  /**
   * Adds actions to the OK state of both alarms, skipping any action (by ARN) already added.
   */
  public addOkActions(...actions: cloudwatch.IAlarmAction[]): void {
    this.addActions(this.okActionArns, actions, (alarm, action) => alarm.addOkAction(action));
  }

  private addActions(seen: Set<string>, actions: cloudwatch.IAlarmAction[],
    add: (alarm: cloudwatch.Alarm, action: cloudwatch.IAlarmAction) => void): void {
    for (const action of actions) {
      const arn = action.bind(this, this.errorsAlarm).alarmActionArn;
      if (seen.has(arn)) continue;
      seen.add(arn);
      for (const alarm of this.alarms) add(alarm, action);
    }
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
      slack.successWebhook.grantRead(this.function);
      slack.failureWebhook.grantRead(this.function);
    }
  }
}

function onlyOnePerStack(scope: Construct): Construct {
  const stack = Stack.of(scope);
  if (scope !== stack) throw new Error('RunOutcomeHandler must be created directly in a Stack (one per stack)');
  if (stack.node.children.some((c) => c instanceof RunOutcomeHandler)) {
    throw new Error(`stack ${stack.node.path} already has a RunOutcomeHandler: use RunOutcomeHandler.of(scope)`);
  }
  return scope;
}

