import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { FastScalingService, FastScalingServiceProps } from '../../lib';

/** A FastScalingService on the user's cluster (a VPC with flow logs, Container Insights on), synthesized to a file. */
function synth(props: Partial<FastScalingServiceProps> = {}, withSlack = false):
{ app: App; stack: Stack; templatePath: string; svc: FastScalingService } {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'fargate-monitor-svc-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Service');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  vpc.addFlowLog('FlowLog');
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
  const svc = new FastScalingService(stack, 'Web', {
    cluster,
    container: { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/nginx/nginx:1.27') },
    ...props,
    ...withSlack ? {
      slackNotifications: {
        successWebhook: secretsmanager.Secret.fromSecretNameV2(stack, 'Ok', 'slack/ok'),
        failureWebhook: secretsmanager.Secret.fromSecretNameV2(stack, 'Ko', 'slack/ko'),
      },
    } : {},
  });
  const assembly = app.synth();
  return { app, stack, svc, templatePath: path.join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile) };
}

function cfnLint(...args: string[]) {
  const python = process.env.PYTHON ?? 'python3';
  const code = 'import sys; from cfnlint.runner import main; sys.argv = ["cfn-lint"] + sys.argv[1:]; sys.exit(main())';
  return spawnSync(python, ['-c', code, ...args], { encoding: 'utf8' });
}

describe('cdk-nag AwsSolutions', () => {
  test('default props: only the load balancer access logs, the user\'s choice, remain', () => {
    const { app } = synth();
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r: any) => r.constructPath).join(', ')}`);
    // Access logs need a bucket the user owns (and its own findings): the example app shows them on.
    expect(findings).toEqual([expect.stringMatching(/^AwsSolutions-ELB2 at Service\/Web\/Service\/LB\//)]);
  });

  test('slackNotifications (the rule, two alarms, the stack\'s run-outcome handler): nothing more', () => {
    const { app } = synth({}, true);
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r: any) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([expect.stringMatching(/^AwsSolutions-ELB2 at Service\/Web\/Service\/LB\//)]);
  });
});

describe('cfn-guard (Control Tower rules, offline)', () => {
  test('default props: what remains is the user\'s (access logs, the app image\'s root user and filesystem)', () => {
    const { app, templatePath } = synth();
    const report = new CfnGuardValidator().validate({ templatePaths: [templatePath], appConstruct: app });
    const rules = [...new Set(report.violations.map((v) => v.ruleName))].sort();
    expect(rules).toEqual(GUARD_USER_CHOICES);
  });

  test('slackNotifications adds only the run-outcome handler\'s two documented findings (README, "Compliance")', () => {
    const { app, templatePath } = synth({}, true);
    const report = new CfnGuardValidator().validate({ templatePaths: [templatePath], appConstruct: app });
    const rules = [...new Set(report.violations.map((v) => v.ruleName))].sort();
    // The handler runs outside a VPC (it calls public AWS endpoints and Slack); its on-failure queue IS a dead-letter queue.
    expect(rules).toEqual([...GUARD_USER_CHOICES, 'lambda_inside_vpc_check', 'sqs_dlq_check'].sort());
  });

  test('a non-root, read-only app container clears the two container findings', () => {
    const { app, templatePath } = synth({ container: { image: ecs.ContainerImage.fromRegistry('x'), user: '101', readonlyRootFilesystem: true } });
    const report = new CfnGuardValidator().validate({ templatePaths: [templatePath], appConstruct: app });
    const rules = [...new Set(report.violations.map((v) => v.ruleName))].sort();
    expect(rules).toEqual(GUARD_USER_CHOICES.filter((r) => r !== 'ecs_task_definition_nonroot_user_check' && r !== 'ecs_containers_readonly_access_check'));
  });
});

describe('cfn-lint (Python, the CloudFormation linter)', () => {
  test('default props: no errors or warnings', () => {
    const { templatePath } = synth();
    const run = cfnLint('--format', 'parseable', templatePath);
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  test('slackNotifications: no errors or warnings', () => {
    const { templatePath } = synth({}, true);
    const run = cfnLint('--format', 'parseable', templatePath);
    expect(run.error).toBeUndefined();
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  test('native 20 s target tracking: only the linter\'s schema lag (2026-06 properties it does not know yet)', () => {
    const { templatePath } = synth({ nativeTargetTrackingCpuPercent: 60 });
    const run = cfnLint('--format', 'parseable', templatePath);
    const lines = run.stdout.split('\n').filter(Boolean);
    // cfn-lint ≤ 1.58 lacks AWS::ECS::Service MonitoringConfiguration; ≤ 1.51 also the HighResolution metric type.
    const unknown = lines.filter((l) => !/E3002:Additional properties are not allowed \('MonitoringConfiguration' was unexpected\)/.test(l)
      && !/E3030:'ECSServiceAverageCPUUtilizationHighResolution' is not one of/.test(l));
    expect(unknown).toEqual([]);
  });
});

/**
 * Findings that follow from the user's choices, not from the construct's wiring; the example app shows each one
 * done: an HTTPS certificate (redirect), alarm actions, an encrypted log group kept a year, the app container's
 * memory limit, deletion protection and access logs of the load balancer, and a VPC whose public subnets do not
 * hand out public IPs.
 */
const GUARD_USER_CHOICES = [
  'alb_http_to_https_redirection_check',
  'cloudwatch_alarm_action_check',
  'cloudwatch_log_group_encrypted_check',
  'cloudwatch_log_group_retention_period_check',
  'ecs_containers_readonly_access_check',
  'ecs_task_definition_memory_hard_limit_check',
  'ecs_task_definition_nonroot_user_check',
  'elbv2_deletion_protection_enabled_check',
  'elbv2_logging_enabled_check',
  'subnet_auto_assign_public_ip_disabled_check',
].sort();
