import { Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag AwsSolutions-IAM5 findings on `scope` for wildcard resources, each with its reason. The finding
 * ids hold the resource as cdk-nag flattens it (`<AWS::Partition>`…), and `Validations.acknowledge` refuses ids with
 * '::' beyond the prefix: so this writes the same metadata entry `acknowledge()` writes, which cdk-nag reads.
 * Internal.
 *
 * @param resources resource ARN (tokens allowed) → why the wildcard is the narrowest scope
 */
export function acknowledgeWildcardResources(scope: IConstruct, resources: Array<[arn: string, reason: string]>): void {
  const stack = Stack.of(scope);
  scope.node.addMetadata(Validations.ACKNOWLEDGED_RULES_METADATA_KEY, Object.fromEntries(
    resources.map(([arn, reason]) => [`AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(arn))}]`, reason])));
}

/** A resolved CloudFormation value as cdk-nag writes it in finding ids: `{Ref: X}` as `<X>`, joins concatenated. */
function flattenForNag(node: any): string {
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (node && node['Fn::Join']) return (node['Fn::Join'][1] as any[]).map(flattenForNag).join(node['Fn::Join'][0]);
  if (node && node['Fn::GetAtt']) return `<${flattenForNag(node['Fn::GetAtt'][0])}.${flattenForNag(node['Fn::GetAtt'][1])}>`;
  if (node && node.Ref) return `<${flattenForNag(node.Ref)}>`;
  return JSON.stringify(node);
}
