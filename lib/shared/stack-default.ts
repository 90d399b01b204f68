import { Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

/**
 * A stack's default instance of a shared construct, found by its fixed construct id directly under the stack (as
 * aws-ecs-patterns finds its default cluster), or created there by `create` with default settings: never with the
 * settings of whichever caller comes first. Internal.
 *
 * @throws if another kind of construct holds the id
 */
export function stackDefault<T extends IConstruct>(scope: Construct, id: string, isT: (c: IConstruct) => c is T,
  create: (stack: Stack, id: string) => T): T {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(id);
  if (existing && !isT(existing)) {
    throw new Error(`construct id ${id} under stack ${stack.node.path} is taken by another construct`);
  }
  return existing ?? create(stack, id);
}
