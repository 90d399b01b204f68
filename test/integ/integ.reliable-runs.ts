/**
 * Live checks for a maintainer with an AWS account (README, "Live checks in an AWS account"): an integ app in the way
 * aws-cdk's own constructs prove themselves (`@aws-cdk/integ-tests-alpha`), deployed with the CDK CLI:
 *
 *   npx cdk deploy --app 'npx ts-node --prefer-ts-exts test/integ/integ.reliable-runs.ts' --all --require-approval never
 *
 * It deploys three small canary jobs (public busybox image; schedules disabled: the assertions start the runs) through
 * the reliable-run state machine, and a DeployAssert stack whose custom resources call the AWS APIs and wait until
 * what the emulators in test/ assume holds in AWS: one run counted per execution (`Runs`), the attempts told apart
 * from plain task stops, the timed-out task STOPPED, one RUN_OUTCOME row per run from a Logs Insights query, the
 * agent's metrics present. A failed assertion fails the deployment of the DeployAssert stack. Remove everything with
 * the same `--app` and `cdk destroy --all`. Needs Docker (the agent image is built from agent/).
 *
 * Never run by the test suite, and not run in AWS from this project's machines: test/integ/integ.test.ts only
 * synthesizes this app and checks the assertions are wired. @aws-cdk/integ-runner is deliberately not used: the
 * newest the registry serves refuses aws-cdk-lib 2.258's cloud assembly.
 */
import { ExpectedResult, IApiCall, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, CfnResource, Duration, Fn, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { integSetup, publicCluster } from './support';
import { MonitoredScheduledTask, RunOutcomeHandler } from '../../lib';

/** The metric namespace of the canaries (agent metrics and the run-outcome handler's run metrics). */
export const NAMESPACE = 'Integ/FargateMonitor';
const IMAGE = 'public.ecr.aws/docker/library/busybox:stable';

/** The three canary jobs: family, the app's shell command, and what the run must come out as. */
export const CANARIES = {
  /** Exits 0 after half a minute (the agent samples TMDE about every 10 s, so it has metrics to publish). */
  ok: { family: 'cfm-integ-ok', command: 'echo canary ok; sleep 30; exit 0', outcome: 'SUCCEEDED' },
  /** Grows without bound (busybox `tail` buffers a line that never ends) past its 64 MiB container limit. */
  oom: { family: 'cfm-integ-oom', command: 'tail /dev/zero', outcome: 'FAILED' },
  /** Sleeps past its 2-minute `runTimeout`: the state machine must stop it. */
  timeout: { family: 'cfm-integ-timeout', command: 'sleep 900', outcome: 'TIMED_OUT' },
} as const;

/**
 * How a task the reliable-run state machine started is told apart from a plain task stop: a field of the DescribeTasks
 * task and the pattern it must match: RunTask's documented `Group`, `cfm:` + an MD5 of the execution ARN
 * (`groupFor`, lib/notifier/run-decision.ts), on every attempt of a run.
 */
export const ATTEMPT_MARK = { field: 'group', pattern: '^cfm:[0-9a-f]{32}$' };

/** The canary stack: a public-subnet VPC (no NAT), a cluster, three monitored tasks on the reliable-run path. */
export class CanaryStack extends Stack {
  public readonly cluster: ecs.Cluster;
  public readonly tasks: Record<keyof typeof CANARIES, MonitoredScheduledTask>;

  constructor(scope: App, id: string) {
    super(scope, id);
    this.cluster = publicCluster(this);
    const common = {
      cluster: this.cluster,
      schedule: scheduler.ScheduleExpression.rate(Duration.days(1)),
      scheduleEnabled: false, // the assertions start each run once
      taskSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      assignPublicIp: true, // to pull the public image without a NAT gateway
      namespace: NAMESPACE,
      createDashboard: false,
    };
    this.tasks = {
      ok: new MonitoredScheduledTask(this, 'Ok', {
        ...common,
        family: CANARIES.ok.family,
        container: { image: ecs.ContainerImage.fromRegistry(IMAGE), command: ['sh', '-c', CANARIES.ok.command] },
        runRetry: { retries: 1 }, // the reliable-run path; a run that exits 0 needs no retry
      }),
      oom: new MonitoredScheduledTask(this, 'Oom', {
        ...common,
        family: CANARIES.oom.family,
        container: {
          image: ecs.ContainerImage.fromRegistry(IMAGE),
          command: ['sh', '-c', CANARIES.oom.command],
          memoryLimitMiB: 64,
        },
        cpu: 256,
        memoryLimitMiB: 512,
        oomRetry: { maxMemoryMiB: 1024 }, // two attempts (512, then 1024 MiB), both killed: one run, two tasks
      }),
      timeout: new MonitoredScheduledTask(this, 'Timeout', {
        ...common,
        family: CANARIES.timeout.family,
        container: { image: ecs.ContainerImage.fromRegistry(IMAGE), command: ['sh', '-c', CANARIES.timeout.command] },
        maxRunDuration: Duration.minutes(1),
        runTimeout: Duration.minutes(2),
      }),
    };
  }
}

/**
 * The execution input the task's schedule would send (the schedule is disabled: the assertion sends it), as an
 * awsApiCall parameter. integ-tests encodes each parameter with `JSON.stringify` at synth, which cannot escape what a
 * token resolves to at deploy: the input (a JSON document with the cluster's and task definition's ARNs in it) would
 * reach StartExecution wrapped in quotes, unescaped, and be refused. So the input is rebuilt from its resolved
 * `Fn::Join` with each literal piece JSON-escaped and each reference re-created as a token of the canary stack (so
 * CDK exports it to the DeployAssert stack); ARNs and IDs need no escaping. Decoded at deploy, it is the input itself.
 */
function scheduleInputParameter(stack: CanaryStack, task: MonitoredScheduledTask): string {
  const cfn = task.schedule.node.defaultChild as scheduler.CfnSchedule;
  const input = (cfn.target as scheduler.CfnSchedule.TargetProperty).input;
  if (!input) throw new Error(`${task.node.path}: its schedule has no input (is it on the reliable-run path?)`);
  const resolved = stack.resolve(input);
  const pieces: any[] = typeof resolved === 'string' ? [resolved] : resolved['Fn::Join'][1];
  const elements = stack.node.findAll().filter((c): c is CfnResource => CfnResource.isCfnResource(c));
  const byLogicalId = (id: string) => {
    const found = elements.find((e) => stack.resolve(e.logicalId) === id);
    if (!found) throw new Error(`scheduleInputParameter: no resource ${id} in ${stack.stackName}`);
    return found;
  };
  return Fn.join('', pieces.map((piece) => {
    if (typeof piece === 'string') return JSON.stringify(piece).slice(1, -1);
    if (piece.Ref) return byLogicalId(piece.Ref).ref;
    if (piece['Fn::GetAtt']) return byLogicalId(piece['Fn::GetAtt'][0]).getAtt(piece['Fn::GetAtt'][1]).toString();
    throw new Error(`scheduleInputParameter: unexpected piece ${JSON.stringify(piece)}`);
  }));
}

/**
 * The integ app: the canary stack and its assertions (integ-tests-alpha's DeployAssert stack).
 * @returns the app, the test and the canary stack (the offline test inspects them)
 */
export function buildIntegApp(app = new App()): { app: App; integ: IntegTest; stack: CanaryStack } {
  const stack = new CanaryStack(app, 'FargateMonitorCanaries');
  const { integ, assertions: a, waitLong, start, end } = integSetup(app, 'ReliableRuns', stack);
  const stateMachineArn = stack.tasks.ok.reliableRuns!.stateMachine.stateMachineArn;
  const handlerLogGroup = RunOutcomeHandler.of(stack).logGroup.logGroupName;

  for (const [name, canary] of Object.entries(CANARIES)) {
    const task = stack.tasks[name as keyof typeof CANARIES];
    const dimensions = [
      { Name: 'ClusterName', Value: stack.cluster.clusterName },
      { Name: 'TaskDefinitionFamily', Value: canary.family },
    ];
    const metricSum = (metricName: string, sum: number): IApiCall => a.awsApiCall('CloudWatch', 'getMetricStatistics', {
      Namespace: NAMESPACE,
      MetricName: metricName,
      Dimensions: dimensions,
      StartTime: start.toISOString(),
      EndTime: end.toISOString(),
      Period: 86_400,
      Statistics: ['Sum'],
    }).expect(ExpectedResult.objectLike({ Datapoints: [Match.objectLike({ Sum: sum })] })).waitForAssertions(waitLong);

    // 1. One execution of the state machine, with the input the schedule would send; it ends SUCCEEDED whatever the
    //    run's outcome (the outcome is reported to the run-outcome handler, asynchronously). Calls that return much
    //    (a task, an execution with its input) assert at one path: a custom resource's response is at most 4 KB.
    const execution = a.awsApiCall('StepFunctions', 'startExecution', {
      stateMachineArn,
      name: `integ-${name}-${start.getTime()}`,
      input: scheduleInputParameter(stack, task),
    }, ['executionArn']);
    const finished = a.awsApiCall('StepFunctions', 'describeExecution', { executionArn: execution.getAttString('executionArn') })
      .assertAtPath('status', ExpectedResult.exact('SUCCEEDED'))
      .waitForAssertions(waitLong);

    // 2. One run counted for the execution, whatever its attempts (the handler leaves attempts to the run's report).
    const runs = metricSum('Runs', 1);
    const failed = metricSum('FailedRuns', canary.outcome === 'SUCCEEDED' ? 0 : 1);

    // 3. A task of the run is marked as an attempt of a reliable run and is STOPPED (the timed-out one stopped by the
    //    state machine, with its reason). ListTasks lists stopped tasks for about an hour.
    const listed = a.awsApiCall('ECS', 'listTasks', {
      cluster: stack.cluster.clusterArn,
      family: canary.family,
      desiredStatus: 'STOPPED',
    }).assertAtPath('taskArns.0', ExpectedResult.stringLikeRegexp(':task/'))
      .waitForAssertions(waitLong);
    const taskField = (field: string, expected: ExpectedResult): IApiCall => a.awsApiCall('ECS', 'describeTasks', {
      cluster: stack.cluster.clusterArn,
      tasks: [listed.getAttString('taskArns.0')],
    }).assertAtPath(`tasks.0.${field}`, expected).waitForAssertions(waitLong);
    const checks: IApiCall[] = [
      taskField(ATTEMPT_MARK.field, ExpectedResult.stringLikeRegexp(ATTEMPT_MARK.pattern)),
      taskField('lastStatus', ExpectedResult.exact('STOPPED')),
    ];
    if (canary.outcome === 'TIMED_OUT') {
      checks.push(taskField('stopCode', ExpectedResult.exact('UserInitiated')));
      checks.push(taskField('stoppedReason', ExpectedResult.stringLikeRegexp('^Run timed out')));
    }

    // 4. One RUN_OUTCOME row for the run from a Logs Insights query, with the outcome (the query runs once, after a
    //    plain FilterLogEvents has seen the line arrive, so it does not race the log's ingestion). Logs Insights finds
    //    `type`, `family` and `outcome` only if it parses the handler's line as JSON (issue 17: the undocumented part).
    const logged = a.awsApiCall('CloudWatchLogs', 'filterLogEvents', {
      logGroupName: handlerLogGroup,
      startTime: start.getTime(),
      filterPattern: `"RUN_OUTCOME" "${canary.family}"`,
    }).assertAtPath('events.0.eventId', ExpectedResult.stringLikeRegexp('.'))
      .waitForAssertions(waitLong);
    const query = a.awsApiCall('CloudWatchLogs', 'startQuery', {
      logGroupName: handlerLogGroup,
      startTime: Math.floor(start.getTime() / 1000),
      endTime: Math.floor(end.getTime() / 1000),
      queryString: `filter type = "RUN_OUTCOME" and family = "${canary.family}" | fields outcome | limit 100`,
    }, ['queryId']);
    const rows = a.awsApiCall('CloudWatchLogs', 'getQueryResults', { queryId: query.getAttString('queryId') })
      .expect(ExpectedResult.objectLike({
        status: 'Complete',
        results: [Match.arrayWith([{ field: 'outcome', value: canary.outcome }])], // exactly one row
      }))
      .waitForAssertions({ totalTimeout: Duration.minutes(5), interval: Duration.seconds(10) });

    let chain = execution.next(finished).next(runs).next(failed).next(listed);
    for (const check of checks) chain = chain.next(check);
    chain.next(logged).next(query).next(rows);

    // 5. The oom run: two attempts (the task size, then the oomRetry size), still one run.
    if (name === 'oom') runs.next(metricSum('Attempts', 2));
    // 6. The agent's metrics, from the canary that ran to the end: task level and the app container.
    if (name === 'ok') {
      for (const [metricName, extra] of [['CPUUtilization', []], ['MemoryUtilization', [{ Name: 'ContainerName', Value: 'app' }]]] as const) {
        finished.next(a.awsApiCall('CloudWatch', 'listMetrics', {
          Namespace: NAMESPACE,
          MetricName: metricName,
          Dimensions: [...dimensions, ...extra],
        }).expect(ExpectedResult.objectLike({ Metrics: Match.arrayWith([Match.objectLike({ MetricName: metricName })]) }))
          .waitForAssertions(waitLong));
      }
    }
  }
  return { app, integ, stack };
}

if (require.main === module) {
  buildIntegApp().app.synth();
}
