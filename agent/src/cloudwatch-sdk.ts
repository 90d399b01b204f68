/**
 * The only two parts of the CloudWatch client the agent uses. Named re-exports (rather than `require` of the
 * package) let esbuild drop the client's other commands and their schemas from the bundle; the publisher still
 * `require`s this module lazily, so the EMF publisher never loads the SDK.
 */
export { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
