/**
 * A picture of the fleet dashboard as synthesized (not AWS's renderer, which cannot be reached from here): synthesizes a
 * stack with four nightly jobs (one with reliable runs) and a fast-scaling service, writes the FleetDashboard's
 * DashboardBody (CloudFormation references shown as `<LogicalId>`) to bench/results/fleet-dashboard.json, and draws
 * its grid with bench/plot-fleet-dashboard.py: each widget at its x/y/width/height, with its type, title and what it
 * reads (a Logs Insights query's columns, a graph's metrics, an alarm widget's alarm count, a text widget's text).
 *
 *   npx ts-node --transpile-only bench/fleet-dashboard.ts     # needs python3 with matplotlib (PYTHON=… to pick one)
 */
import { spawnSync } from 'child_process';
import { writeFileSync } from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { FastScalingService, FleetDashboard, MonitoredScheduledTask } from '../lib';

const REPO = path.join(__dirname, '..');
const JSON_PATH = path.join(REPO, 'bench', 'results', 'fleet-dashboard.json');
const PNG_PATH = path.join(REPO, 'bench', 'results', 'fleet-dashboard.png');

/** The fleet dashboard's body with `{Ref: X}` / `{Fn::GetAtt: [X, Y]}` written `<X>` / `<X.Y>`. */
export function fleetDashboardBody(stack: Stack): any {
  const resources = Template.fromStack(stack).toJSON().Resources;
  const [, dashboard] = Object.entries<any>(resources).find(([id, r]) => r.Type === 'AWS::CloudWatch::Dashboard' && id.startsWith('FleetDashboard'))!;
  const body = dashboard.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : body['Fn::Join'][1].map((x: any) => {
    if (typeof x === 'string') return x;
    if (x.Ref) return `<${x.Ref}>`;
    if (x['Fn::GetAtt']) return `<${x['Fn::GetAtt'].join('.')}>`;
    return '<TOKEN>';
  }).join('');
  return JSON.parse(text);
}

function main(): void {
  const stack = new Stack(new App(), 'Fleet', { env: { account: '111111111111', region: 'eu-central-1' } });
  const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:1.37');
  const nightly = scheduler.ScheduleExpression.cron({ hour: '2', minute: '0' });
  const jobs = [
    ['Export', 'warehouse-export-nightly', 1024, 2048],
    ['Reconcile', 'billing-reconcile-nightly', 512, 1024],
    ['Sync', 'crm-sync-accounts', 256, 512],
  ].map(([id, family, cpu, memoryLimitMiB]) => new MonitoredScheduledTask(stack, id as string, {
    schedule: nightly, container: { image }, family: family as string, cpu: cpu as number, memoryLimitMiB: memoryLimitMiB as number,
  }));
  jobs.push(new MonitoredScheduledTask(stack, 'Report', {
    schedule: nightly, container: { image }, family: 'finance-report-reliable', runTimeout: Duration.hours(2),
  }));
  const shop = new FastScalingService(stack, 'Shop', { container: { image }, serviceName: 'shop' });
  new FleetDashboard(stack, 'Fleet', { members: [...jobs, shop] });

  writeFileSync(JSON_PATH, JSON.stringify(fleetDashboardBody(stack), null, 1) + '\n');
  const plot = spawnSync(process.env.PYTHON ?? 'python3', [path.join(REPO, 'bench', 'plot-fleet-dashboard.py'), JSON_PATH, PNG_PATH], { encoding: 'utf8' });
  process.stdout.write(plot.stdout ?? '');
  if (plot.status !== 0) throw new Error(`plot-fleet-dashboard.py failed: ${plot.stderr}`);
  console.log(`wrote ${path.relative(REPO, JSON_PATH)} and ${path.relative(REPO, PNG_PATH)}`);
}

if (require.main === module) main();
