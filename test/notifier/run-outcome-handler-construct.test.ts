import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MonitoredScheduledTask, RunOutcomeHandler, SlackNotificationOptions } from '../../lib';
import { minimalProps, newStack } from '../support/stacks';

/** Two monitored tasks in one stack, the second with Slack notifications, both with the same alarm topic. */
function twoTasks() {
  const stack = newStack();
  const vpc = new ec2.Vpc(stack, 'Vpc');
  vpc.addFlowLog('FlowLog');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const topic = new sns.Topic(stack, 'Ops', { enforceSSL: true });
  const successWebhook = new secretsmanager.Secret(stack, 'SuccessHook');
  const failureWebhook = new secretsmanager.Secret(stack, 'FailureHook');
  for (const secret of [successWebhook, failureWebhook]) {
    Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: 'A Slack webhook URL cannot be rotated automatically.' });
  }
  const alarmActions = [new actions.SnsAction(topic)];
  // The handler is created explicitly with its own settings; `RunOutcomeHandler.of` (used by `loud`) finds it by its id.
  const runOutcomeHandler = new RunOutcomeHandler(stack, 'FargateMonitorRunOutcomeHandler', { alarmActions });
  const quiet = new MonitoredScheduledTask(stack, 'Quiet', minimalProps({ cluster, namespace: 'Team/A', family: 'quiet-job', alarmActions, runOutcomeHandler }));
  const loud = new MonitoredScheduledTask(stack, 'Loud', minimalProps({
    cluster,
    namespace: 'Team/B',
    family: 'loud-job',
    alarmActions,
    cpu: 512,
    memoryLimitMiB: 2048,
    slackNotifications: { successWebhook, failureWebhook, notifySuccess: false, rightSizeHeadroomPercent: 30 },
  }));
  return { stack, quiet, loud, template: Template.fromStack(stack), successWebhook, failureWebhook };
}

describe('RunOutcomeHandler: one per stack', () => {
  const { stack, quiet, loud, template } = twoTasks();

  test('one function (Node 24, ARM64, 2 min) shared by both tasks, each task\'s STOPPED rule targets it', () => {
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 120,
      Handler: 'index.handler',
      Environment: { Variables: { DEDUP_TABLE_NAME: { Ref: Match.stringLikeRegexp('Dedup') }, AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1' } },
    });
    expect(quiet.runEvents.handler).toBe(loud.runEvents.handler);
    expect(RunOutcomeHandler.of(quiet)).toBe(quiet.runEvents.handler);
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.resourceCountIs('AWS::Lambda::Permission', 2);
  });

  test('asynchronous invocation: 2 retries, then the on-failure destination, an encrypted TLS-only queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('RunOutcomeHandlerDeadLetterQueue'), 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: Match.stringLikeRegexp('RunOutcomeHandlerDeadLetterQueue') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('dedup table: on demand, TTL on expiresAt, key taskArn', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'taskArn', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('alarms on errors and on each new dead-letter message, with the handler\'s own actions', () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith('FargateMonitorRunOutcomeHandler'));
    const props = alarms.map(([, a]) => (a as any).Properties);
    expect(props.map((p) => [p.Namespace, p.MetricName, p.Statistic, p.Threshold, p.ComparisonOperator])).toEqual([
      ['AWS/Lambda', 'Errors', 'Sum', 1, 'GreaterThanOrEqualToThreshold'],
      ['AWS/SQS', 'NumberOfMessagesSent', 'Sum', 1, 'GreaterThanOrEqualToThreshold'],
    ]);
    for (const p of props) {
      expect(p.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
      expect(p.OKActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
    }
  });

  test('least privilege: its own log group, the table, PutMetricData to the tasks\' namespaces, each task\'s log (REPORT), the secrets of the Slack task only', () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('FargateMonitorRunOutcomeHandler'));
    expect(policies).toHaveLength(1);
    const statements = stack.resolve((policies[0][1] as any).Properties.PolicyDocument.Statement) as any[];
    const summary = statements.map((s) => `${[s.Action].flat().join(',')} -> ${JSON.stringify(s.Resource)}${s.Condition ? ` if ${JSON.stringify(s.Condition)}` : ''}`);
    expect(summary).toEqual([
      expect.stringMatching(/^logs:CreateLogStream,logs:PutLogEvents -> \{"Fn::GetAtt":\["FargateMonitorRunOutcomeHandlerLogs[0-9A-F]{8}","Arn"\]\}$/),
      expect.stringMatching(/^sqs:SendMessage,sqs:GetQueueAttributes,sqs:GetQueueUrl -> \{"Fn::GetAtt":\["FargateMonitorRunOutcomeHandlerDeadLetterQueue/),
      expect.stringMatching(/^dynamodb:PutItem,dynamodb:UpdateItem -> \{"Fn::GetAtt":\["FargateMonitorRunOutcomeHandlerDedup/),
      'cloudwatch:PutMetricData -> "*" if {"StringEquals":{"cloudwatch:namespace":["Team/A","Team/B"]}}',
      // arn:…:log-group:NAME:*, for the RUN_OUTCOME line of every task, with or without Slack
      expect.stringMatching(/^logs:GetLogEvents -> \{"Fn::GetAtt":\["QuietLogs[0-9A-F]{8}","Arn"\]\}$/),
      expect.stringMatching(/^logs:GetLogEvents -> \{"Fn::GetAtt":\["LoudLogs[0-9A-F]{8}","Arn"\]\}$/),
      expect.stringMatching(/^secretsmanager:GetSecretValue,secretsmanager:DescribeSecret -> \{"Ref":"SuccessHook/),
      expect.stringMatching(/^secretsmanager:GetSecretValue,secretsmanager:DescribeSecret -> \{"Ref":"FailureHook/),
    ]);
    // The role has no managed policy (AWSLambdaBasicExecutionRole would allow every log group).
    const roles = Object.entries(template.findResources('AWS::IAM::Role')).filter(([id]) => id.startsWith('FargateMonitorRunOutcomeHandler'));
    expect((roles[0][1] as any).Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('the rule passes the event detail and the task\'s configuration; no webhook URL anywhere in the template', () => {
    const rules = Object.entries(template.findResources('AWS::Events::Rule')).filter(([id]) => id.startsWith('Loud'));
    const rule = (rules[0][1] as any).Properties;
    expect(rule.EventPattern).toEqual({
      'source': ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      'detail': { clusterArn: [{ 'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Arn'] }], group: ['family:loud-job'], lastStatus: ['STOPPED'] },
    });
    const target = rule.Targets[0];
    expect(target.InputTransformer.InputPathsMap).toEqual({ detail: '$.detail', resources: '$.resources' });
    const input = JSON.stringify(stack.resolve(target.InputTransformer.InputTemplate));
    for (const s of ['\\"appContainer\\":\\"app\\"', '\\"namespace\\":\\"Team/B\\"', '\\"family\\":\\"loud-job\\"', '\\"cpu\\":512', '\\"memoryMiB\\":2048',
      '\\"headroomPercent\\":30', '\\"notifySuccess\\":false', '\\"agentStreamPrefix\\":\\"agent/fargate-monitor-agent\\"', 'successWebhookSecretArn', '{"Ref":"SuccessHook']) {
      expect(input).toContain(s);
    }
    expect(input).toMatch(/"detail\\":<detail>/);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/hooks\.slack\.com|WEBHOOK_URL/i);
  });

  test('cfn-lint (Python): no errors or warnings with Slack notifications', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outcomes-lint-'));
    const file = path.join(dir, 'template.json');
    fs.writeFileSync(file, JSON.stringify(template.toJSON()));
    const code = 'import sys; from cfnlint.runner import main; sys.argv = ["cfn-lint"] + sys.argv[1:]; sys.exit(main())';
    const run = spawnSync(process.env.PYTHON ?? 'python3', ['-c', code, '--format', 'parseable', file], { encoding: 'utf8' });
    // The test stack's VPC uses CDK's placeholder zones (dummy1a…) for want of a context lookup: not ours to lint.
    const findings = (run.stdout + run.stderr).split('\n').filter((l) => l && !/W3010:Avoid hardcoding availability zones 'dummy/.test(l));
    expect(findings).toEqual([]);
    expect(run.error).toBeUndefined();
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding with Slack notifications', () => {
    const report = new AwsSolutionsChecks(stack.node.root as any).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r: any) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});

describe('explicit handlers, no first-caller-wins', () => {
  test('the default handler never takes a task\'s settings: its log retention and alarm actions are the defaults', () => {
    const stack = newStack();
    const topic = new sns.Topic(stack, 'Ops');
    new MonitoredScheduledTask(stack, 'First', minimalProps({ logRetention: logs.RetentionDays.ONE_YEAR, alarmActions: [new actions.SnsAction(topic)] }));
    const t = Template.fromStack(stack);
    const handlerLogs = Object.entries(t.findResources('AWS::Logs::LogGroup')).filter(([id]) => id.startsWith('FargateMonitorRunOutcomeHandler'));
    expect(handlerLogs.map(([, l]) => (l as any).Properties.RetentionInDays)).toEqual([30]);
    const handlerAlarms = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).filter(([id]) => id.startsWith('FargateMonitorRunOutcomeHandler'));
    expect(handlerAlarms).toHaveLength(2);
    for (const [, a] of handlerAlarms) expect((a as any).Properties.AlarmActions).toBeUndefined();
  });

  test('a task given its own handler uses it; others use the stack\'s default one', () => {
    const stack = newStack();
    const mine = new RunOutcomeHandler(stack, 'Mine', { alarmOverrides: { errors: { enabled: false } } });
    const a = new MonitoredScheduledTask(stack, 'A', minimalProps({ runOutcomeHandler: mine }));
    const b = new MonitoredScheduledTask(stack, 'B', minimalProps());
    expect(a.runEvents.handler).toBe(mine);
    expect(b.runEvents.handler).toBe(RunOutcomeHandler.of(stack));
    expect(b.runEvents.handler).not.toBe(mine);
    expect(mine.errorsAlarm).toBeUndefined();
    expect(mine.alarms.map((x) => x.node.id)).toEqual(['DeadLetterAlarm']);
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 2);
  });

  test('RunOutcomeHandler.of refuses a foreign construct under the default id', () => {
    const stack = newStack();
    new sns.Topic(stack, 'FargateMonitorRunOutcomeHandler');
    expect(() => RunOutcomeHandler.of(stack)).toThrow(/FargateMonitorRunOutcomeHandler under stack .* is taken by another construct/);
  });
});

describe('bad props', () => {
  test('headroom outside 0–200 names the prop', () => {
    const stack = newStack();
    const successWebhook = new secretsmanager.Secret(stack, 'S');
    expect(() => new MonitoredScheduledTask(stack, 'Job', minimalProps({
      slackNotifications: { successWebhook, failureWebhook: successWebhook, rightSizeHeadroomPercent: 250 },
      maxRunDuration: Duration.minutes(5),
    }))).toThrow(/slackNotifications.rightSizeHeadroomPercent must be between 0 and 200 \(percent\), got 250/);
  });
});

describe('one webhook for both channels', () => {
  function slackTask(stack: Stack, slackNotifications: SlackNotificationOptions) {
    const task = new MonitoredScheduledTask(stack, 'Job', minimalProps({ slackNotifications }));
    const template = Template.fromStack(stack);
    const policy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('FargateMonitorRunOutcomeHandler'))![1] as any;
    const secretGrants = (stack.resolve(policy.Properties.PolicyDocument.Statement) as any[])
      .filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')).map((s) => JSON.stringify(s.Resource));
    const config = stack.resolve(task.runEvents._runOutcomeConfig);
    return { secretGrants, arns: [config.successWebhookSecretArn, config.failureWebhookSecretArn].map((a) => JSON.stringify(a)) };
  }

  test('`webhook` serves success and failure: one secret, granted once, sent as both channels\' ARN', () => {
    const stack = newStack();
    const { secretGrants, arns } = slackTask(stack, { webhook: new secretsmanager.Secret(stack, 'Hook') });
    expect(secretGrants).toEqual([expect.stringMatching(/^\{"Ref":"Hook/)]);
    expect(arns).toEqual([secretGrants[0], secretGrants[0]]);
  });

  test('the same secret given as successWebhook and failureWebhook is granted once too', () => {
    const stack = newStack();
    const hook = new secretsmanager.Secret(stack, 'Hook');
    expect(slackTask(stack, { successWebhook: hook, failureWebhook: hook }).secretGrants).toHaveLength(1);
  });

  test('successWebhook or failureWebhook overrides `webhook` for its channel', () => {
    const stack = newStack();
    const { secretGrants, arns } = slackTask(stack, { webhook: new secretsmanager.Secret(stack, 'Hook'), failureWebhook: new secretsmanager.Secret(stack, 'Pager') });
    expect(secretGrants).toEqual([expect.stringMatching(/^\{"Ref":"Hook/), expect.stringMatching(/^\{"Ref":"Pager/)]);
    expect(arns).toEqual([secretGrants[0], secretGrants[1]]);
  });

  test.each([
    ['neither', {}, /slackNotifications needs a webhook for both channels: give webhook .* or successWebhook and failureWebhook/],
    ['only successWebhook', { successWebhook: 'S' }, /slackNotifications needs a webhook for failed runs/],
    ['only failureWebhook', { failureWebhook: 'S' }, /slackNotifications needs a webhook for successful runs/],
  ])('a channel without a webhook fails at synth, naming the props: %s', (_name, given, message) => {
    const stack = newStack();
    const secret = new secretsmanager.Secret(stack, 'S');
    const slack = Object.fromEntries(Object.entries(given).map(([k]) => [k, secret]));
    expect(() => new MonitoredScheduledTask(stack, 'Job', minimalProps({ slackNotifications: slack }))).toThrow(message);
  });
});
