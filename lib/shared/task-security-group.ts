import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/**
 * A security group of its own for a task: no inbound rule, all outbound traffic allowed (to pull images, reach
 * CloudWatch and the app's dependencies). Without one, EventBridge Scheduler and ECS run an awsvpc task in the VPC's
 * default security group, which new CDK VPCs empty (`restrictDefaultSecurityGroup`): the task then cannot pull its
 * image. Give other resources' security groups an ingress rule from this group to let the task in.
 *
 * Internal: used by MonitoredScheduledTask and the service construct.
 */
export function taskSecurityGroup(scope: Construct, id: string, vpc: ec2.IVpc, description: string): ec2.SecurityGroup {
  return new ec2.SecurityGroup(scope, id, { vpc, allowAllOutbound: true, description });
}
