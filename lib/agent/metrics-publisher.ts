/**
 * How the agent delivers its metrics to CloudWatch.
 */
export class MetricsPublisher {
  /**
   * `PutMetricData` API calls through the AWS SDK: one batched call per flush (every 10 s by default), data kept in
   * a bounded buffer and retried with backoff while CloudWatch is unreachable. Needs the task role's
   * `cloudwatch:PutMetricData` permission (granted, scoped to the namespace). Cost: API requests.
   */
  public static putMetricData(): MetricsPublisher {
    return new MetricsPublisher('cloudwatch');
  }

  /**
   * CloudWatch Embedded Metric Format: one JSON log line per sample on the agent's stdout, which the awslogs driver
   * sends to the log group and CloudWatch Logs turns into the same high-resolution metrics. No API calls and no IAM
   * permission for metrics; cost: log ingestion (a few hundred bytes per sample).
   */
  public static embeddedMetricFormat(): MetricsPublisher {
    return new MetricsPublisher('emf');
  }

  /**
   * @param name the agent's `FARGATE_MONITOR_PUBLISHER` value
   */
  private constructor(public readonly name: string) {}
}
