import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';

/**
 * Construct id of the per-stack default cluster, the one aws-ecs-patterns uses (`getDefaultCluster`), so monitored
 * constructs and aws-ecs-patterns constructs without a cluster share one cluster (and one VPC) per stack and VPC.
 */
const DEFAULT_CLUSTER_ID = 'EcsDefaultClusterMnL3mNNYN';

/**
 * The stack's default ECS cluster in `vpc` (or in a new VPC when none is given): found in the stack, or created there
 * on first use, so every construct without a cluster shares it (one cluster, and at most one new VPC, per stack).
 *
 * Follows aws-ecs-patterns `getDefaultCluster` (same construct id, directly under the stack). A cluster created here
 * has Container Insights (enhanced observability) on, as cdk-nag AwsSolutions-ECS4 requires; one first created by
 * aws-ecs-patterns keeps its own settings. A VPC created here is the `ecs.Cluster` default (2 AZs, a NAT gateway per
 * AZ).
 *
 * Internal: used by MonitoredScheduledTask and the service construct.
 */
export function defaultCluster(scope: Construct, vpc?: ec2.IVpc): ecs.ICluster {
  const id = `${DEFAULT_CLUSTER_ID}${vpc ? vpc.node.id : ''}`;
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(id) as ecs.ICluster | undefined;
  return existing ?? new ecs.Cluster(stack, id, { vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
}

/**
 * Makes the Fargate capacity providers (FARGATE, FARGATE_SPOT) available on `cluster` when a strategy names them
 * and the cluster is defined in this app (an `ecs.Cluster`); an imported cluster must have them already.
 *
 * @throws if a strategy names a capacity provider other than FARGATE or FARGATE_SPOT, or a weight/base is out of range
 */
export function useFargateCapacityProviders(cluster: ecs.ICluster, strategies: ecs.CapacityProviderStrategy[] | undefined, propName: string): void {
  if (!strategies) return;
  if (strategies.length === 0) throw new Error(`${propName} must name at least one capacity provider (FARGATE or FARGATE_SPOT) when given`);
  for (const s of strategies) {
    if (s.capacityProvider !== 'FARGATE' && s.capacityProvider !== 'FARGATE_SPOT') {
      throw new Error(`${propName}: capacityProvider must be FARGATE or FARGATE_SPOT for a Fargate task, got "${s.capacityProvider}"`);
    }
    if (s.weight !== undefined && (!Number.isInteger(s.weight) || s.weight < 0 || s.weight > 1000)) {
      throw new Error(`${propName}: weight must be an integer from 0 to 1000, got ${s.weight}`);
    }
    if (s.base !== undefined && (!Number.isInteger(s.base) || s.base < 0 || s.base > 100000)) {
      throw new Error(`${propName}: base must be an integer from 0 to 100000, got ${s.base}`);
    }
  }
  if (!strategies.some((s) => (s.weight ?? 0) > 0)) {
    throw new Error(`${propName}: at least one capacity provider needs a weight above 0`);
  }
  if (cluster instanceof ecs.Cluster) cluster.enableFargateCapacityProviders();
}
