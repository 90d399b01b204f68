import { Stack, Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

interface Claim { readonly path: string; readonly account: string; readonly region: string }

/** Per app (the construct tree's root): family → the monitored constructs that took it. */
const claims = new WeakMap<IConstruct, Map<string, Claim[]>>();

/** An account or Region that is a token (an environment-agnostic stack) may be any: it matches every value. */
const sameEnvPart = (a: string, b: string) => a === '*' || b === '*' || a === b;

/**
 * Claims a task definition family for one monitored construct in its app, or throws naming `family` when another
 * monitored construct of the same app already uses it in the same account and Region (an environment-agnostic
 * stack's account or Region matches any). One family per job: the metrics (`TaskDefinitionFamily`), the run-outcome
 * rule (`group: family:<family>`), reliable runs' concurrency policy, the dashboards and the fleet rows all key on
 * it, so two jobs sharing one would read and skip each other's runs. Stacks of one app are checked against each
 * other whatever the order they are built in: the second construct built throws. A family that is a token is not
 * checked (its value is not known at synth).
 */
export function claimFamily(scope: IConstruct, family: string | undefined): void {
  if (family === undefined || Token.isUnresolved(family)) return;
  const stack = Stack.of(scope);
  const part = (v: string) => (Token.isUnresolved(v) ? '*' : v);
  const claim: Claim = { path: scope.node.path, account: part(stack.account), region: part(stack.region) };
  const root = scope.node.root;
  let byFamily = claims.get(root);
  if (!byFamily) {
    byFamily = new Map();
    claims.set(root, byFamily);
  }
  const taken = byFamily.get(family) ?? [];
  const other = taken.find((c) => sameEnvPart(c.account, claim.account) && sameEnvPart(c.region, claim.region));
  if (other) {
    throw new Error(`family ${JSON.stringify(family)} is already used by ${other.path}: give each monitored task its own family ` +
      '(its metrics, run-outcome events, reliable-run concurrency policy, dashboards and fleet rows are keyed on the family, ' +
      'so two jobs sharing one would read and skip each other\'s runs)');
  }
  byFamily.set(family, [...taken, claim]);
}
