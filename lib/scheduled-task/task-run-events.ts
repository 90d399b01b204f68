import { Duration, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { AGENT_CONTAINER_NAME } from '../agent/monitoring-agent';
import { DEFAULT_NAMESPACE } from '../agent/task-metrics';
import { RunOutcomeHandler, SlackNotificationOptions } from '../notifier/run-outcome-handler';
import { slackWebhooks } from '../notifier/slack-webhooks';

/**
 * Properties of {@link TaskRunEvents}.
 */
export interface TaskRunEventsProps {
  /** Cluster the tasks run in. */
  readonly cluster: ecs.ICluster;

  /** Task definition whose runs are judged (matched on the task group `family:<family>`). */
  readonly taskDefinition: ecs.FargateTaskDefinition;

  /** Name of the app container: its exit decides whether a run succeeded (sidecars' exits are shown, not judged). */
  readonly appContainerName: string;

  /**
   * CloudWatch namespace for the run metrics (the agent's namespace, so one dashboard shows both).
   *
   * @default 'FargateMonitor'
   */
  readonly namespace?: string;

  /**
   * Log group holding the agent's log (stream `agent/fargate-monitor-agent/<task id>`), where the handler reads the
   * agent's REPORT for the RUN_OUTCOME line and the Slack message.
   */
  readonly logGroup: logs.ILogGroup;

  /**
   * awslogs stream prefix of the app container in `logGroup` (for the message's link to the app log).
   *
   * @default - no link to the app log
   */
  readonly appStreamPrefix?: string;

  /**
   * Post one Slack message per run.
   *
   * @default - no Slack messages (the run metrics are published all the same)
   */
  readonly slackNotifications?: SlackNotificationOptions;

  /**
   * The run-outcome handler.
   *
   * @default - the stack's, from `RunOutcomeHandler.of(this)`
   */
  readonly handler?: RunOutcomeHandler;
}

/**
 * Judges every run of a task definition family from ECS task state change events, with the stack's
 * {@link RunOutcomeHandler}.
 *
 * One EventBridge rule on the default bus, `stoppedRule`, matches every task of the family that reached `lastStatus`
 * STOPPED in the cluster (not `desiredStatus`: a DEPROVISIONING event already carries exit codes) and targets the
 * handler with the event's `detail` and this task's configuration. The handler judges the app container exactly (by
 * name, so sidecars, AWS-injected containers and `null` exit codes cannot fail a run) and publishes, in `namespace`
 * with dimensions `ClusterName` and `TaskDefinitionFamily` (unit Count, one datum per task stop):
 * - `Runs`: 1 for every stop;
 * - `FailedRuns`: 1 when the run failed to start (TaskFailedToStart, or `stoppedReason` 'Task failed to start'
 *   without a stop code), the app was killed out of memory, or exited non-zero or without an exit code (not when it
 *   was interrupted), else 0;
 * - `InterruptedRuns`: 1 when AWS or a user stopped the task (stop codes SpotInterruption, TerminationNotice,
 *   UserInitiated, ServiceSchedulerInitiated, InfrastructureHealth), even when the app then exited 0 on SIGTERM,
 *   unless the app was killed out of memory, else 0.
 *
 * Each datum is timestamped when the handler publishes it (seconds after `stoppedAt`), not at `stoppedAt`: a
 * back-dated datum arriving late lands in a minute the one-period failed-run alarm may already have evaluated and
 * never alarm (see README, "Run metrics").
 *
 * Each stop is counted at most once (a DynamoDB claim; see {@link RunOutcomeHandler}).
 */
export class TaskRunEvents extends Construct {
  /** Matches every stop of a task of the family in the cluster; targets the run-outcome handler. */
  public readonly stoppedRule: events.Rule;

  /** The stack's run-outcome handler. */
  public readonly handler: RunOutcomeHandler;

  /**
   * The task's configuration the handler reads (the rule input's `config`; the reliable-run state machine sends it too).
   * @internal
   */
  public readonly _runOutcomeConfig: { [key: string]: any };

  private readonly namespace: string;
  private readonly dimensions: { [name: string]: string };

  constructor(scope: Construct, id: string, props: TaskRunEventsProps) {
    super(scope, id);
    if (!props.appContainerName) throw new Error('appContainerName is required: the container whose exit decides the outcome');
    const slack = props.slackNotifications;
    const headroom = slack?.rightSizeHeadroomPercent ?? 20;
    if (!Token.isUnresolved(headroom) && !(headroom >= 0 && headroom <= 200)) {
      throw new Error(`slackNotifications.rightSizeHeadroomPercent must be between 0 and 200 (percent), got ${headroom}`);
    }
    const hooks = slack ? slackWebhooks(slack) : undefined;
    this.namespace = props.namespace ?? DEFAULT_NAMESPACE;
    const family = props.taskDefinition.family;
    this.dimensions = { ClusterName: props.cluster.clusterName, TaskDefinitionFamily: family };
    this.handler = props.handler ?? RunOutcomeHandler.of(this);
    this.handler.grantTask(this.namespace, props.logGroup, slack);

    this.stoppedRule = new events.Rule(this, 'Stopped', {
      description: `Every stopped task of family ${family}: judged by the cdk-fargate-monitor run-outcome handler`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          clusterArn: [props.cluster.clusterArn],
          group: [`family:${family}`],
          lastStatus: ['STOPPED'],
        },
      },
    });
    this._runOutcomeConfig = {
      appContainer: props.appContainerName,
      namespace: this.namespace,
      clusterName: props.cluster.clusterName,
      family,
      logGroupName: props.logGroup.logGroupName,
      agentStreamPrefix: `agent/${AGENT_CONTAINER_NAME}`,
      appStreamPrefix: props.appStreamPrefix ? `${props.appStreamPrefix}/${props.appContainerName}` : undefined,
      cpu: props.taskDefinition.cpu,
      memoryMiB: props.taskDefinition.memoryMiB,
      headroomPercent: headroom,
      successWebhookSecretArn: hooks?.success.secretArn,
      failureWebhookSecretArn: hooks?.failure.secretArn,
      notifySuccess: slack?.notifySuccess ?? true,
    };
    this.stoppedRule.addTarget(new targets.LambdaFunction(this.handler.function, {
      event: events.RuleTargetInput.fromObject({
        detail: events.EventField.fromPath('$.detail'),
        resources: events.EventField.fromPath('$.resources'),
        config: this._runOutcomeConfig,
      }),
    }));
  }

  /**
   * Number of runs that ended, any outcome: `Runs` published by the run-outcome handler, unit Count.
   *
   * @default statistic Sum, period 1 minute
   */
  public metricRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Runs', props);
  }

  /**
   * Number of runs that failed (failed to start, out of memory, app exit non-zero or missing): `FailedRuns`, unit Count.
   *
   * @default statistic Sum, period 1 minute
   */
  public metricFailedRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('FailedRuns', props);
  }

  /**
   * Number of runs interrupted by AWS or a user (Spot, termination notice, StopTask): `InterruptedRuns`, unit Count.
   *
   * @default statistic Sum, period 1 minute
   */
  public metricInterruptedRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('InterruptedRuns', props);
  }

  /**
   * Tasks started per run by the reliable-run state machine (`runRetry`, `runTimeout`, `concurrencyPolicy`, `oomRetry`):
   * `Attempts`, unit Count, one datum per run (Sum over a period: the attempts of the runs that ended in it).
   *
   * @default statistic Sum, period 1 minute
   */
  public metricAttempts(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Attempts', props);
  }

  /**
   * Runs skipped because the previous run still ran (`concurrencyPolicy` FORBID): `SkippedRuns`, unit Count. A skipped
   * run is not in `Runs`.
   *
   * @default statistic Sum, period 1 minute
   */
  public metricSkippedRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SkippedRuns', props);
  }

  /**
   * Runs stopped at `runTimeout`: `TimedOutRuns`, unit Count (also in `FailedRuns`).
   *
   * @default statistic Sum, period 1 minute
   */
  public metricTimedOutRuns(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('TimedOutRuns', props);
  }

  private metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      statistic: 'Sum',
      period: Duration.minutes(1),
      unit: cloudwatch.Unit.COUNT,
      ...props,
      dimensionsMap: { ...this.dimensions, ...props?.dimensionsMap },
    });
  }
}
