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

const runTaskParameters = (launch: object) => ({
  'Cluster.$': '$.run.cluster',
  'TaskDefinition.$': '$.run.taskDefinition',
  'NetworkConfiguration.$': '$.run.network',
  'PlatformVersion.$': '$.run.platformVersion',
  'EnableExecuteCommand.$': '$.run.enableExecuteCommand',
  'PropagateTags.$': '$.run.propagateTags',
  'Tags.$': '$.run.tags',
  'Overrides.$': '$.loop.state.overrides',
  'StartedBy.$': '$.loop.state.startedBy',
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

/**
 * The Amazon States Language definition of the reliable-run state machine (JSONPath). Everything that differs between
 * tasks comes from the execution input (see {@link ReliableRunStateMachine}), so one state machine serves every task of
 * a stack. The loop: check concurrency → plan (the run-outcome Lambda) → run one attempt (.sync, with the run timeout)
 * → decide (the Lambda, from the attempt's task or error) → wait and run again, stop the timed-out task, or report the
 * run to the Lambda (asynchronously, once).
 */
export function reliableRunDefinition(): any {
  return {
    Comment: 'cdk-fargate-monitor reliable runs: retries, Spot fallback, run timeout, concurrency policy, OOM retry',
    StartAt: 'CheckConcurrency',
    States: {
      CheckConcurrency: {
        Type: 'Choice',
        Choices: [{ Variable: '$.run.concurrencyPolicy', StringEquals: 'ALLOW', Next: 'Plan' }],
        Default: 'ListRunning',
      },
      ListRunning: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ecs:listTasks',
        Parameters: { 'Cluster.$': '$.run.cluster', 'Family.$': '$.run.family', 'DesiredStatus': 'RUNNING' },
        ResultSelector: { 'TaskArns.$': '$.TaskArns' },
        ResultPath: '$.running',
        Retry: API_RETRY,
        Next: 'AnyRunning',
      },
      AnyRunning: {
        Type: 'Choice',
        Choices: [
          { And: [{ Variable: '$.running.TaskArns[0]', IsPresent: true }, { Variable: '$.run.concurrencyPolicy', StringEquals: 'FORBID' }], Next: 'DescribeRunning' },
          { And: [{ Variable: '$.running.TaskArns[0]', IsPresent: true }, { Variable: '$.run.concurrencyPolicy', StringEquals: 'REPLACE' }], Next: 'StopPrevious' },
        ],
        Default: 'Plan',
      },
      DescribeRunning: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ecs:describeTasks',
        Parameters: { 'Cluster.$': '$.run.cluster', 'Tasks.$': '$.running.TaskArns' },
        ResultSelector: { 'Tasks.$': '$.Tasks' },
        ResultPath: '$.running',
        Retry: API_RETRY,
        Next: 'ReportSkipped',
      },
      ReportSkipped: {
        ...invoke({ 'runOutcome': { 'executionArn.$': '$$.Execution.Id', 'skipped.$': '$.running' }, 'config.$': '$.config' }, true),
        ResultPath: null,
        End: true,
      },
      StopPrevious: {
        ...stopEach('$.running.TaskArns', { Reason: 'Replaced by the next scheduled run (concurrencyPolicy REPLACE, cdk-fargate-monitor)' }, 'StopPreviousTask'),
        Next: 'Plan',
      },
      Plan: {
        ...invoke({ decide: { 'options.$': '$.run.options', 'executionId.$': '$$.Execution.Id' } }, false),
        ResultSelector: { 'state.$': '$.Payload', 'history': [] },
        ResultPath: '$.loop',
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
      // A state timeout ends the state, not the task (Step Functions does not document stopping it): find the task by
      // its startedBy and stop it.
      FindTimedOutTask: {
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ecs:listTasks',
        Parameters: { 'Cluster.$': '$.run.cluster', 'StartedBy.$': '$.loop.state.startedBy' },
        ResultSelector: { 'TaskArns.$': '$.TaskArns' },
        ResultPath: '$.timedOut',
        Retry: API_RETRY,
        Next: 'StopTimedOut',
      },
      StopTimedOut: {
        ...stopEach('$.timedOut.TaskArns', { 'Reason.$': "States.Format('Run timed out after {} s (runTimeout): stopped by cdk-fargate-monitor', $.run.timeoutSeconds)" }, 'StopTimedOutTask'),
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
