import { IDeployAssert, IntegTest, WaiterStateMachineOptions } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';

/** What every integ app's assertions share: the test, its assertions, how long they wait, the metric window. */
export interface IntegSetup {
  readonly integ: IntegTest;
  readonly assertions: IDeployAssert;
  /** Polls every 30 s for up to 30 min: a task must start, run and stop, its metrics arrive (minutes). */
  readonly waitLong: WaiterStateMachineOptions;
  /**
   * Synth-time bounds of the metric and log queries: the assertions run right after the deployment. Two hours back to
   * 22 hours ahead is one 1-day period: GetMetricStatistics and GetMetricData return one value per query.
   */
  readonly start: Date;
  readonly end: Date;
}

/** One integ test (integ-tests-alpha's DeployAssert stack) of one canary stack. */
export function integSetup(app: App, name: string, stack: Stack): IntegSetup {
  const integ = new IntegTest(app, name, { testCases: [stack], diffAssets: false });
  return {
    integ,
    assertions: integ.assertions,
    waitLong: { totalTimeout: Duration.minutes(30), interval: Duration.seconds(30) },
    start: new Date(Date.now() - 2 * 3600_000),
    end: new Date(Date.now() + 22 * 3600_000),
  };
}

/**
 * A cluster in a VPC of public subnets only, in 2 AZs, without a NAT gateway: the canaries' tasks get a public IP to
 * pull their public image, and the stack costs nothing while idle.
 */
export function publicCluster(stack: Stack): ecs.Cluster {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
  });
  return new ecs.Cluster(stack, 'Cluster', { vpc });
}
