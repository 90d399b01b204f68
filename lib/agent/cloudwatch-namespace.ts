/**
 * The one rule for CloudWatch metric namespaces, shared by the constructs (synth-time check) and the agent
 * (run-time check of FARGATE_MONITOR_NAMESPACE), so both accept exactly the same names. From the PutMetricData
 * API reference: 1–255 characters from 0-9A-Za-z . - _ / # : and space, not starting with ":"; namespaces
 * starting with "AWS/" are reserved for AWS services. No imports: the agent bundle includes this file.
 */
const NAMESPACE_CHARS = /^[0-9A-Za-z.\-_/#: ]{1,255}$/;

/** Why `namespace` is not a valid custom CloudWatch namespace, or undefined when it is. */
export function cloudWatchNamespaceProblem(namespace: string): string | undefined {
  if (!NAMESPACE_CHARS.test(namespace)) {
    return 'must be 1–255 characters from 0-9 A-Z a-z . - _ / # : and space';
  }
  if (namespace.startsWith(':')) return 'must not start with ":"';
  if (namespace.startsWith('AWS/')) return 'must not start with "AWS/" (reserved for AWS services)';
  return undefined;
}
