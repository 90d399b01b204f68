import type { Datum } from './types';

/** Where datums go: CloudWatch PutMetricData (buffered, batched) or Embedded Metric Format log lines. */
export interface Publisher {
  /** Queues datums (non-finite values are dropped here, as a last guard). */
  add(datums: Datum[]): void;
  /** Sends what is queued; resolves (never rejects) when done, failed, or aborted. */
  flush(signal?: AbortSignal): Promise<void>;
  /** Datums waiting to be sent. */
  pending(): number;
  close(): void;
}
