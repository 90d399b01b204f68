// The Amazon States Language definition of the reliable-run state machine, and a cdk-nag helper. Not part of the
// jsii API (not exported from index.ts).

/** Retries of the state machine's own ECS and Lambda calls (not the run's attempts). */
export const API_RETRY = [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 4, BackoffRate: 2 }];
const LAMBDA_RETRY = [{
  ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
}];

// RunTask parameters, all in the Step Functions ECS integration's documented list (developer guide, "Run Amazon ECS or
// Fargate tasks": Cluster, Group, LaunchType, NetworkConfiguration, Overrides, PlacementConstraints, PlacementStrategy,
// PlatformVersion, PropagateTags, TaskDefinition, EnableExecuteCommand; aws-cdk-lib's EcsRunTask adds
// CapacityProviderStrategy). No StartedBy and no Tags: whether `.sync` keeps, replaces, drops or refuses them is not
// documented. The run's tasks are told apart by `Group` (`cfm:<md5 of the execution>`, in every task event and
// DescribeTasks); the user's tags reach the task through `PropagateTags: TASK_DEFINITION` (they are on the task
// definition).
const runTaskParameters = (launch: object) => ({
  'Cluster.$': '$.run.cluster',
  'TaskDefinition.$': '$.run.taskDefinition',
  'NetworkConfiguration.$': '$.run.network',
  'PlatformVersion.$': '$.run.platformVersion',
  'EnableExecuteCommand.$': '$.run.enableExecuteCommand',
  'PropagateTags.$': '$.run.propagateTags',
  'Overrides.$': '$.loop.state.overrides',
  'Group.$': '$.loop.state.group',
  ...launch,
});

const runTaskState = (launch: object) => ({
  Type: 'Task',
  Comment: 'One attempt: RunTask, waiting for the task to stop (Run a Job). A non-empty failures[] fails it with AmazonECS.Unknown, a non-zero essential exit with States.TaskFailed (cause: the task), the run timeout with States.Timeout.',
  Resource: 'arn:aws:states:::ecs:runTask.sync',
  Parameters: runTaskParameters(launch),
  TimeoutSecondsPath: '$.run.timeoutSeconds',
  ResultSelector: { 'task.$': '$' },
  ResultPath: '$.attempt',
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.attempt', Next: 'Decide' }],
  Next: 'Decide',
});

const invoke = (payload: object, event: boolean) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::lambda:invoke',
  Parameters: { 'FunctionName.$': '$.run.handler', ...event ? { InvocationType: 'Event' } : {}, 'Payload': payload },
  Retry: LAMBDA_RETRY,
});

const stopEach = (itemsPath: string, reason: object, name: string) => ({
  Type: 'Map',
  ItemsPath: itemsPath,
  ItemSelector: { 'Cluster.$': '$.run.cluster', 'Task.$': '$$.Map.Item.Value', ...reason },
  ItemProcessor: {
    ProcessorConfig: { Mode: 'INLINE' },
    StartAt: name,
    States: {
      [name]: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ecs:stopTask',
        Parameters: { 'Cluster.$': '$.Cluster', 'Task.$': '$.Task', 'Reason.$': '$.Reason' },
        Retry: API_RETRY,
        End: true,
      },
    },
  },
  ResultPath: null,
});

const listFamily = (resultPath: string, next: string) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::aws-sdk:ecs:listTasks',
  Parameters: { 'Cluster.$': '$.run.cluster', 'Family.$': '$.run.family', 'DesiredStatus': 'RUNNING' },
  ResultSelector: { 'TaskArns.$': '$.TaskArns' },
  ResultPath: resultPath,
  Retry: API_RETRY,
  Next: next,
});

const lambdaStep = (payload: object, resultSelector: object, resultPath: string, next: string) => ({
  ...invoke(payload, false),
  ResultSelector: resultSelector,
  ResultPath: resultPath,
  Next: next,
});

/**
 * The Amazon States Language definition of the reliable-run state machine (JSONPath). Everything that differs between
 * tasks comes from the execution input (see {@link ReliableRunStateMachine}), so one state machine serves every task of
 * a stack. The loop: plan (the run-outcome Lambda checks the input, fails the execution with ReliableRunInputError
 * before any RunTask when it is malformed, and with FORBID/REPLACE takes the family's run lease) → concurrency (the
 * lease's holder asked with DescribeExecution: still RUNNING → FORBID skips, REPLACE stops its execution and the
 * family's tasks; not running → the lease is taken over; then any other running task of the family) → run one attempt
 * (.sync, with the run timeout) → decide (the Lambda, from the attempt's task or error) → wait and run again, stop the
 * timed-out task (found by its group), or report the run to the Lambda (asynchronously, once; the report gives the
 * lease back).
 */
export function reliableRunDefinition(): any {
  return {
    Comment: 'cdk-fargate-monitor reliable runs: retries, Spot fallback, run timeout, concurrency policy, OOM retry',
    StartAt: 'Plan',
    States: {
      Plan: lambdaStep({ plan: { 'input.$': '$', 'executionId.$': '$$.Execution.Id' } },
        { 'state.$': '$.Payload.state', 'lease.$': '$.Payload.lease', 'history': [] }, '$.loop', 'CheckConcurrency'),
      CheckConcurrency: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.run.concurrencyPolicy', StringEquals: 'ALLOW', Next: 'ChooseCapacity' },
          { Variable: '$.loop.lease.taken', BooleanEquals: true, Next: 'ListRunning' },
        ],
        Default: 'DescribeHolder',
      },
      // The run that holds the lease: still running (in a task, in Backoff, between attempts), or dead?
      DescribeHolder: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:sfn:describeExecution',
        Parameters: { 'ExecutionArn.$': '$.loop.lease.holder' },
        ResultSelector: { 'Status.$': '$.Status', 'RunStartedAt.$': '$.StartDate', 'Tasks': [] },
        ResultPath: '$.skipped',
        Retry: [{ ...API_RETRY[0], ErrorEquals: ['Sfn.SfnException', 'Sfn.ThrottlingException', 'States.Timeout'] }],
        Catch: [{ ErrorEquals: ['Sfn.ExecutionDoesNotExistException'], ResultPath: null, Next: 'TakeOver' }],
        Next: 'HolderRunning',
      },
      HolderRunning: {
        Type: 'Choice',
        Choices: [
          { And: [{ Variable: '$.skipped.Status', StringEquals: 'RUNNING' }, { Variable: '$.run.concurrencyPolicy', StringEquals: 'FORBID' }], Next: 'ReportSkipped' },
          { Variable: '$.skipped.Status', StringEquals: 'RUNNING', Next: 'StopHolder' },
        ],
        Default: 'TakeOver',
      },
      // REPLACE: the previous run's execution is stopped (its pending retries with it), reported as replaced, and the
      // family's running tasks (its task among them) are stopped.
      StopHolder: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:sfn:stopExecution',
        Parameters: { 'ExecutionArn.$': '$.loop.lease.holder', 'Error': 'Replaced', 'Cause': 'Replaced by the next scheduled run (concurrencyPolicy REPLACE, cdk-fargate-monitor)' },
        ResultPath: null,
        Retry: API_RETRY,
        Next: 'ReportReplaced',
      },
      ReportReplaced: {
        ...invoke({ 'runOutcome': { 'executionArn.$': '$.loop.lease.holder', 'replacedBy.$': '$$.Execution.Id' }, 'config.$': '$.config' }, true),
        ResultPath: null,
        Next: 'ListPrevious',
      },
      ListPrevious: listFamily('$.running', 'StopPrevious'),
      StopPrevious: {
        ...stopEach('$.running.TaskArns', { Reason: 'Replaced by the next scheduled run (concurrencyPolicy REPLACE, cdk-fargate-monitor)' }, 'StopPreviousTask'),
        Next: 'TakeOver',
      },
      TakeOver: lambdaStep({ takeOver: { 'input.$': '$', 'executionId.$': '$$.Execution.Id', 'previous.$': '$.loop.lease.holder' } },
        { 'taken.$': '$.Payload.taken', 'holder.$': '$.Payload.holder' }, '$.loop.lease', 'CheckConcurrency'),
      // The lease is ours: a task of the family started any other way counts too.
      ListRunning: listFamily('$.running', 'AnyRunning'),
      AnyRunning: {
        Type: 'Choice',
        Choices: [
          { And: [{ Variable: '$.running.TaskArns[0]', IsPresent: true }, { Variable: '$.run.concurrencyPolicy', StringEquals: 'FORBID' }], Next: 'DescribeRunning' },
          { And: [{ Variable: '$.running.TaskArns[0]', IsPresent: true }, { Variable: '$.run.concurrencyPolicy', StringEquals: 'REPLACE' }], Next: 'StopRunning' },
        ],
        Default: 'ChooseCapacity',
      },
      DescribeRunning: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ecs:describeTasks',
        Parameters: { 'Cluster.$': '$.run.cluster', 'Tasks.$': '$.running.TaskArns' },
        ResultSelector: { 'Tasks.$': '$.Tasks' },
        ResultPath: '$.skipped',
        Retry: API_RETRY,
        Next: 'ReportSkipped',
      },
      ReportSkipped: {
        ...invoke({ 'runOutcome': { 'executionArn.$': '$$.Execution.Id', 'skipped.$': '$.skipped' }, 'config.$': '$.config' }, true),
        ResultPath: null,
        End: true,
      },
      StopRunning: {
        ...stopEach('$.running.TaskArns', { Reason: 'Replaced by the next scheduled run (concurrencyPolicy REPLACE, cdk-fargate-monitor)' }, 'StopRunningTask'),
        Next: 'ChooseCapacity',
      },
      ChooseCapacity: {
        Type: 'Choice',
        Choices: [{ Variable: '$.loop.state.onFargate', BooleanEquals: true, Next: 'RunOnFargate' }],
        Default: 'RunWithStrategy',
      },
      RunOnFargate: runTaskState({ LaunchType: 'FARGATE' }),
      RunWithStrategy: runTaskState({ 'CapacityProviderStrategy.$': '$.run.capacityProviderStrategy' }),
      Decide: {
        ...invoke({
          decide: { 'options.$': '$.run.options', 'executionId.$': '$$.Execution.Id', 'state.$': '$.loop.state', 'attempt.$': '$.attempt' },
        }, false),
        ResultSelector: { 'decision.$': '$.Payload' },
        ResultPath: '$.decided',
        Next: 'Record',
      },
      Record: {
        Type: 'Pass',
        Parameters: { 'state.$': '$.decided.decision.state', 'history.$': 'States.Array($.loop.history, $.decided.decision.record)' },
        ResultPath: '$.loop',
        Next: 'Route',
      },
      Route: {
        Type: 'Choice',
        Choices: [
          { Variable: '$.decided.decision.action', StringEquals: 'RETRY', Next: 'Backoff' },
          { Variable: '$.decided.decision.action', StringEquals: 'STOP_TIMED_OUT', Next: 'FindTimedOutTask' },
        ],
        Default: 'Report',
      },
      Backoff: { Type: 'Wait', SecondsPath: '$.decided.decision.waitSeconds', Next: 'ChooseCapacity' },
      // A state timeout ends the state, not the task (Step Functions does not document stopping it): find the run's
      // task among the family's running tasks by its group (documented in DescribeTasks) and stop it.
      FindTimedOutTask: listFamily('$.timedOut', 'AnyTimedOut'),
      AnyTimedOut: {
        Type: 'Choice',
        Choices: [{ Variable: '$.timedOut.TaskArns[0]', IsPresent: true, Next: 'DescribeTimedOut' }],
        Default: 'ReportTimedOut',
      },
      DescribeTimedOut: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ecs:describeTasks',
        Parameters: { 'Cluster.$': '$.run.cluster', 'Tasks.$': '$.timedOut.TaskArns' },
        ResultSelector: { 'Tasks.$': '$.Tasks' },
        ResultPath: '$.timedOut',
        Retry: API_RETRY,
        Next: 'StopTimedOut',
      },
      StopTimedOut: {
        Type: 'Map',
        ItemsPath: '$.timedOut.Tasks',
        ItemSelector: {
          'Cluster.$': '$.run.cluster',
          'Task.$': '$$.Map.Item.Value',
          'Group.$': '$.loop.state.group',
          'Reason.$': "States.Format('Run timed out after {} s (runTimeout): stopped by cdk-fargate-monitor', $.run.timeoutSeconds)",
        },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'INLINE' },
          StartAt: 'OfThisRun',
          States: {
            OfThisRun: {
              Type: 'Choice',
              Choices: [{ Variable: '$.Task.Group', StringEqualsPath: '$.Group', Next: 'StopTimedOutTask' }],
              Default: 'OtherRun',
            },
            OtherRun: { Type: 'Succeed' },
            StopTimedOutTask: {
              Type: 'Task',
              Resource: 'arn:aws:states:::aws-sdk:ecs:stopTask',
              Parameters: { 'Cluster.$': '$.Cluster', 'Task.$': '$.Task.TaskArn', 'Reason.$': '$.Reason' },
              Retry: API_RETRY,
              End: true,
            },
          },
        },
        ResultPath: null,
        Next: 'ReportTimedOut',
      },
      ReportTimedOut: {
        ...invoke({
          'runOutcome': {
            'executionArn.$': '$$.Execution.Id',
            'history.$': '$.loop.history',
            'timedOut': true,
            'maxAttempts.$': '$.loop.state.maxAttempts',
            'timeoutSeconds.$': '$.run.timeoutSeconds',
          },
          'config.$': '$.config',
        }, true),
        ResultPath: null,
        End: true,
      },
      Report: {
        ...invoke({
          'runOutcome': {
            'executionArn.$': '$$.Execution.Id',
            'history.$': '$.loop.history',
            'final.$': '$.decided.decision.final',
            'maxAttempts.$': '$.loop.state.maxAttempts',
          },
          'config.$': '$.config',
        }, true),
        ResultPath: null,
        End: true,
      },
    },
  };
}
