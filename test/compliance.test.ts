import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConcurrencyPolicy, MonitoredScheduledTask } from '../lib';
import { ExampleStack } from './example/example-stack';
import { minimalProps } from './support/stacks';

/** Synthesizes the stack into a fresh directory and returns the template path. */
function synthToFile(build: (app: App) => Stack): { app: App; stack: Stack; templatePath: string } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fargate-monitor-'));
  const app = new App({ outdir });
  const stack = build(app);
  const assembly = app.synth();
  return { app, stack, templatePath: path.join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile) };
}

const example = () => synthToFile((app) => new ExampleStack(app, 'FargateMonitorExample'));
/** Default props on a cluster of the user's (the construct's own VPC, made when none is given, has no flow logs). */
const minimal = () => synthToFile((app) => {
  const stack = new Stack(app, 'Minimal');
  const vpc = new ec2.Vpc(stack, 'Vpc');
  vpc.addFlowLog('FlowLog');
  new MonitoredScheduledTask(stack, 'Job', minimalProps({ cluster: new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED }) }));
  return stack;
});

/** Every production setting at once: ARM64 with /proc sampling, Fargate Spot, tags, ECS Exec, own role and log group, reliable runs. */
const production = () => synthToFile((app) => {
  const stack = new Stack(app, 'Production');
  const vpc = new ec2.Vpc(stack, 'Vpc');
  vpc.addFlowLog('FlowLog');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  new MonitoredScheduledTask(stack, 'Job', minimalProps({
    cluster,
    cpuArchitecture: ecs.CpuArchitecture.ARM64,
    procfsSampling: true,
    capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 3 }, { capacityProvider: 'FARGATE', weight: 1 }],
    propagateTags: true,
    tags: { team: 'data' },
    enableExecuteCommand: true,
    ephemeralStorageGiB: 40,
    taskRole: new iam.Role(stack, 'AppRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }),
    logGroup: new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS }),
    timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(15)),
    dashboardName: 'production-job',
    // Reliable runs: the stack's Step Functions state machine and its role.
    runRetry: { retries: 2, onAppFailure: true },
    runTimeout: Duration.hours(2),
    concurrencyPolicy: ConcurrencyPolicy.FORBID,
    oomRetry: { maxMemoryMiB: 2048 },
  }));
  return stack;
});

/** Runs Python's cfn-lint (pip `cfn-lint`) through the interpreter, so no PATH set-up is needed. */
function cfnLint(...args: string[]) {
  const python = process.env.PYTHON ?? 'python3';
  const code = 'import sys; from cfnlint.runner import main; sys.argv = ["cfn-lint"] + sys.argv[1:]; sys.exit(main())';
  return spawnSync(python, ['-c', code, ...args], { encoding: 'utf8' });
}

describe('cdk-nag AwsSolutions', () => {
  test.each([['example app', example], ['minimal props', minimal], ['production settings', production]])('%s: no unacknowledged finding', (_name, make) => {
    const { app } = make();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r: any) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
  });

  test('the checks do run: a wildcard no acknowledgement covers is reported', () => {
    const { app, stack } = minimal();
    const role = new iam.Role(stack, 'Extra', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-IAM5[Action::s3:*]');
  });
});

describe('cfn-guard (Control Tower rules, offline)', () => {
  test('example app: no violation but the documented one', () => {
    const { app, templatePath } = example();
    const report = new CfnGuardValidator().validate({ templatePaths: [templatePath], appConstruct: app });
    const violations = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`);
    // CT.SQS.PR.1 wants every queue to have a dead-letter queue; these queues ARE dead-letter queues (the schedule's,
    // and the run-outcome handler's on-failure destination). CT.LAMBDA.PR.3 wants functions in a VPC; the handler
    // calls public AWS endpoints and Slack, which from a VPC would need a NAT gateway (README, "Slack notifications").
    // On the shop's load balancer access-log bucket: CT.S3.PR.10 (KMS: ALB access logs can only be written with
    // SSE-S3), CT.S3.PR.2 (server access logs of the log bucket would need yet another log bucket), and event
    // notifications (they would only announce log files).
    expect(violations.sort()).toEqual([
      expect.stringMatching(/^lambda_inside_vpc_check: RunOutcomesFunction[0-9A-F]{8}$/),
      expect.stringMatching(/^s3_bucket_default_encryption_kms_check: ShopAccessLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^s3_bucket_logging_enabled_check: ShopAccessLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^s3_event_notifications_enabled_check: ShopAccessLogs[0-9A-F]{8}$/),
      expect.stringMatching(/^sqs_dlq_check: RunOutcomesDeadLetterQueue[0-9A-F]{8}, NightlyBatchDeadLetterQueue[0-9A-F]{8}$/),
    ]);
  });
});

describe('cfn-lint (Python, the CloudFormation linter)', () => {
  test.each([['example app', example], ['minimal props', minimal], ['production settings', production]])('%s: no errors or warnings', (_name, make) => {
    const { templatePath } = make();
    const run = cfnLint('--format', 'parseable', templatePath);
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  test('the linter does catch a broken template', () => {
    const { templatePath } = minimal();
    const template = JSON.parse(fs.readFileSync(templatePath, 'utf8'));
    const alarm = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::CloudWatch::Alarm') as any;
    alarm.Properties.ComparisonOperator = 'Bigger';
    fs.writeFileSync(templatePath, JSON.stringify(template));
    const run = cfnLint(templatePath);
    expect(run.status).not.toBe(0);
    expect(run.stdout).toMatch(/E3030 'Bigger' is not one of/);
  });
});
