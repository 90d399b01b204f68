import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** The webhook fields of `SlackNotificationOptions` (run-outcome-handler.ts), which imports this file. */
interface SlackWebhookOptions {
  readonly webhook?: secretsmanager.ISecret;
  readonly successWebhook?: secretsmanager.ISecret;
  readonly failureWebhook?: secretsmanager.ISecret;
}

/**
 * The webhook secrets of each channel: `successWebhook`/`failureWebhook`, else `webhook`. Internal.
 *
 * @throws naming `slackNotifications` when a channel has none
 */
export function slackWebhooks(slack: SlackWebhookOptions): { success: secretsmanager.ISecret; failure: secretsmanager.ISecret } {
  const success = slack.successWebhook ?? slack.webhook;
  const failure = slack.failureWebhook ?? slack.webhook;
  if (!success || !failure) {
    throw new Error(`slackNotifications needs a webhook for ${!success && !failure ? 'both channels' : !success ? 'successful runs' : 'failed runs'}: ` +
      'give webhook (one Secrets Manager secret holding the incoming-webhook URL, used for every run), or successWebhook and failureWebhook (one per channel)');
  }
  return { success, failure };
}
