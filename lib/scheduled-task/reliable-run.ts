import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { reliableRunDefinition } from './reliable-run-definition';
import { AlarmFactory, countAlarmDefinition } from '../shared/alarm-factory';
import { AlarmActionOptions, AlarmOverride } from '../shared/alarm-override';
import { acknowledgeWildcardResources } from '../shared/nag';
import { stackDefault } from '../shared/stack-default';

/**
 * What a scheduled run does while the previous run of the same job (task definition family, cluster) is still going,
 * in any state: its task running, waiting in its backoff between retries, or between attempts (as Kubernetes CronJob's
 * `concurrencyPolicy`). A run lease per family in the run-outcome handler's DynamoDB table holds the execution of the
 * run in progress from its start to its report; a run that finds it held asks Step Functions whether that execution
 * still runs (DescribeExecution), so a run that died cannot block the next one. Besides, a task of the family started
 * any other way (ListTasks on the family, desired status RUNNING) counts too.
 */
export enum ConcurrencyPolicy {
  /** Start the run anyway: runs may overlap. */
  ALLOW = 'ALLOW',
  /**
   * Skip this run: no task is started; the run is counted as `SkippedRuns` (not as `Runs`) and told as "skipped: the
   * 02:00 run was still running".
   */
  FORBID = 'FORBID',
  /**
   * Stop the previous run, then start this one: its execution is stopped (StopExecution: its pending retries are
   * cancelled; it is reported as interrupted, "replaced by the next scheduled run"), and the running tasks of the
   * family are stopped (StopTask with a reason). This run does not wait for them to exit, so they overlap for as long
   * as their containers take to stop (the agent's 10 s, then the app's `stopTimeout`, default 30 s).
   */
  REPLACE = 'REPLACE',
}

/**
 * How a run is retried (as AWS Batch's retry strategy and Kubernetes Job's `backoffLimit`). A retry starts a new task;
 * the run's outcome is that of its last attempt, and only that counts in `FailedRuns`.
 */
export interface RunRetryOptions {
  /**
   * How many times a run is retried after its first attempt (counted as Kubernetes Job's `backoffLimit`, not as AWS
   * Batch's `attempts`, which includes the first): `retries: 2` makes up to 3 attempts. For a run that could not
   * start: RunTask answered with `failures[]` (capacity, placement; Step Functions' `AmazonECS.Unknown`), API
   * throttling or server errors (`ECS.ServerException`, `ECS.ThrottlingException`, `ECS.AmazonECSException`, an
   * `ECS.InvalidParameterException` that says it was throttled), or a task that stopped with TaskFailedToStart (image
   * pull, secrets, ENI). With `onAppFailure`, also for an app that exited non-zero. The Spot fallback and the
   * `oomRetry` sizes come on top of these. 0–10.
   *
   * @default 2
   */
  readonly retries?: number;

  /**
   * Wait before the first retry. Each next wait is `backoffRate` times longer, at most `maxBackoff`.
   *
   * @default Duration.seconds(30)
   */
  readonly backoff?: Duration;

  /**
   * Multiplier of the wait between retries (1–10).
   *
   * @default 2
   */
  readonly backoffRate?: number;

  /**
   * Longest wait between two retries.
   *
   * @default Duration.minutes(10)
   */
  readonly maxBackoff?: Duration;

  /**
   * Also retry a run whose app container exited non-zero (or without an exit code, or out of memory once `oomRetry`
   * has no bigger size). Only for jobs that are safe to run again.
   *
   * @default false
   */
  readonly onAppFailure?: boolean;

  /**
   * With a `capacityProviderStrategies` that uses FARGATE_SPOT: when Spot has no capacity ("Capacity is unavailable at
   * this time"), or any RunTask `failures[]` (`AmazonECS.Unknown`, whatever its cause says), or interrupts the task
   * before the app finished (stop code SpotInterruption or TerminationNotice), run once more with launch type FARGATE
   * at once, without backoff and outside `retries`. Later attempts stay on FARGATE.
   *
   * @default true when the strategy uses FARGATE_SPOT
   */
  readonly spotFallback?: boolean;
}

/**
 * Retry a run whose app was killed out of memory with a bigger task (task-level RunTask `overrides.memory`, and the app
 * container's `memory` override when it has a hard limit, keeping the same room for the agent).
 */
export interface OomRetryOptions {
  /**
   * The largest task memory to try, MiB: a valid Fargate memory size for the task's CPU, above `memoryLimitMiB`. After
   * each app OOM the run is retried with the next valid size, until this one. The message says which size held
   * ("OOM at 512 MiB, succeeded at 1024 MiB: set memoryLimitMiB to 1024").
   */
  readonly maxMemoryMiB: number;
}

/** Construct id of the stack's default state machine, directly under the stack. */
const STATE_MACHINE_ID = 'FargateMonitorReliableRuns';

/**
 * Properties of {@link ReliableRunStateMachine}: its log settings and where its alarm goes.
 */
export interface ReliableRunStateMachineProps extends AlarmActionOptions {
  /**
   * Retention of the state machine's log group.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * KMS key to encrypt the state machine's log group with (its key policy must allow the CloudWatch Logs service
   * principal).
   *
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;

  /**
   * Settings of the executions-failed alarm: `ExecutionsFailed` Sum ≥ threshold (count, default 1) in one 5-minute
   * period. An execution that fails (the state machine itself: a Lambda step or the report failed after its
   * retries) reports nothing: the run may be neither counted nor posted.
   *
   * @default - threshold 1, period 5 minutes, 1 of 1
   */
  readonly executionsFailedAlarm?: AlarmOverride;
}

/**
 * A reliable-run state machine (AWS Step Functions, Standard), shared by the {@link MonitoredScheduledTask}s that use
 * `runRetry`, `runTimeout`, `concurrencyPolicy` or `oomRetry`: each task's schedule starts an
 * execution with the task's parameters as input ({@link reliableRunDefinition}). Each task adds statements to the
 * role (RunTask on its family in its cluster, StopTask/DescribeTasks on its cluster's tasks, ListTasks with an
 * `ecs:cluster` condition, PassRole for its two roles to ECS tasks only, InvokeFunction on its run-outcome handler) and
 * no resource; the first also a policy of DescribeExecution/StopExecution on this state machine's own executions (the
 * run lease of concurrencyPolicy FORBID/REPLACE). Logs every event (no execution data) to its own log group; X-Ray tracing on; `executionsFailedAlarm`
 * watches for executions that failed.
 *
 * Explicit, as the run-outcome handler: a task without `reliableRunStateMachine` uses the stack's default one
 * ({@link ReliableRunStateMachine.of}, default settings: one month of logs, no alarm actions); to choose the log
 * settings and the alarm's actions, create one and give it to the tasks.
 */
export class ReliableRunStateMachine extends Construct {
  /**
   * The stack's default state machine, created with default settings on first use (construct id
   * `FargateMonitorReliableRuns` directly under the stack). Settings never come from the caller.
   */
  public static of(scope: Construct): ReliableRunStateMachine {
    return stackDefault(scope, STATE_MACHINE_ID, (c): c is ReliableRunStateMachine => c instanceof ReliableRunStateMachine,
      (stack, id) => new ReliableRunStateMachine(stack, id));
  }

  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;

  /** Its role. */
  public readonly role: iam.Role;

  /** Its log group (every event, without execution data). */
  public readonly logGroup: logs.LogGroup;

  /** Executions that failed (unless switched off with `executionsFailedAlarm.enabled` false). */
  public readonly executionsFailedAlarm?: cloudwatch.Alarm;

  private readonly granted = new Set<string>();
  private ecsSyncGranted = false;
  private executionsPolicy?: iam.Policy;

  constructor(scope: Construct, id: string, props: ReliableRunStateMachineProps = {}) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'cdk-fargate-monitor reliable runs: runs, stops and lists the scheduled tasks of this stack',
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(reliableRunDefinition())),
      role: this.role,
      comment: 'cdk-fargate-monitor: runs the scheduled tasks of this stack with retries, timeouts and a concurrency policy',
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    // CDK makes the state machine depend on its role and also reads the role's ARN: cfn-lint W3005 calls the first
    // redundant. The dependency on the role's policy is the one that matters; keep both (as the run-outcome handler).
    (this.stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
    this.executionsFailedAlarm = new AlarmFactory(props).create(this, countAlarmDefinition('ExecutionsFailedAlarm',
      'executionsFailedAlarm', this.metricFailed(),
      () => 'A cdk-fargate-monitor reliable-run execution failed (not a run: the state machine itself, after its retries): that run may be ' +
        'neither counted nor posted. The execution\'s history in the Step Functions console shows the failed state.'), props.executionsFailedAlarm);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'CloudWatch Logs delivery and X-Ray actions of Step Functions logging and tracing support no resource-level permissions; ' +
        'ecs:ListTasks is limited by an ecs:cluster condition per cluster.',
    });
  }

  /**
   * Lets the state machine run one task definition family in one cluster and report to one handler function.
   * Adds statements to the role only (no resource per task).
   */
  public grantTask(cluster: ecs.ICluster, taskDefinition: ecs.FargateTaskDefinition, handler: lambda.IFunction, tags: boolean): void {
    const stack = Stack.of(this);
    const key = `${taskDefinition.node.path}|${handler.node.path}`;
    if (this.granted.has(key)) return;
    this.granted.add(key);
    const region = stack.region;
    const account = stack.account;
    const taskArns = `arn:${stack.partition}:ecs:${region}:${account}:task/${cluster.clusterName}/*`;
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecs:RunTask'],
      resources: [`arn:${stack.partition}:ecs:${region}:${account}:task-definition/${taskDefinition.family}:*`],
      conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
    }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecs:StopTask', 'ecs:DescribeTasks'], resources: [taskArns] }));
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecs:ListTasks'], resources: ['*'], conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
    }));
    if (tags) {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ecs:TagResource'], resources: [taskArns], conditions: { StringEquals: { 'ecs:CreateAction': 'RunTask' } },
      }));
    }
    const roles = [taskDefinition.taskRole.roleArn, taskDefinition.obtainExecutionRole().roleArn];
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['iam:PassRole'], resources: roles, conditions: { StringLike: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }));
    // The function itself only (grantInvoke would add its versions and aliases, `<arn>:*`).
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [handler.functionArn] }));
    if (!this.ecsSyncGranted) {
      this.ecsSyncGranted = true;
      this.grantOwnExecutions();
      // The Run a Job (.sync) pattern watches the task through this managed EventBridge rule (Step Functions developer
      // guide, "IAM policies for Amazon ECS/AWS Fargate": PutTargets, PutRule, DescribeRule on it).
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [`arn:${stack.partition}:events:${region}:${account}:rule/StepFunctionsGetEventsForECSTaskRule`],
      }));
    }
    acknowledgeWildcardResources(this.role, [
      [`arn:${stack.partition}:ecs:${region}:${account}:task-definition/${taskDefinition.family}:*`,
        'RunTask of any revision of this task definition family (the schedule passes the current revision), with an ecs:cluster condition.'],
      [taskArns, 'StopTask/DescribeTasks/TagResource on the tasks of this cluster: the ids of the tasks a run starts are not known in advance.'],
    ]);
  }

  /**
   * DescribeExecution and StopExecution on this state machine's own executions (the run lease: is the previous run
   * still running; REPLACE stops it). In a policy of its own, not the role's default one: the state machine depends on
   * that one, and this one names the state machine.
   */
  private grantOwnExecutions(): void {
    const stack = Stack.of(this);
    this.executionsPolicy = new iam.Policy(this, 'OwnExecutionsPolicy', {
      roles: [this.role],
      statements: [new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [stack.formatArn({
          service: 'states', resource: 'execution', resourceName: `${this.stateMachine.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        })],
      })],
    });
    acknowledgeWildcardResources(this.executionsPolicy, [[
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${this.stateMachine.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
      'DescribeExecution/StopExecution on the executions of this state machine only: their names are not known in advance.',
    ]]);
  }

  /** Executions that failed (the state machine itself failed: a run may not have been reported). */
  public metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum', ...props });
  }
}
