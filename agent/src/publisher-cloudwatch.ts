/**
 * PutMetricData publisher: datums wait in a bounded buffer (oldest dropped first, drops counted in a log line)
 * and go out once per flush, split only at 1,000 datums / ~1 MB per request. Retries are the SDK's standard
 * retry strategy (exponential backoff with jitter); a failed batch stays in the buffer for the next flush.
 */
import type { CloudWatchClient, MetricDatum } from '@aws-sdk/client-cloudwatch';
import { Condition, errorText, log } from './log';
import type { Publisher } from './publisher';
import type { Datum } from './types';

export const MAX_DATUMS_PER_REQUEST = 1000;
/** PutMetricData's limit is 1 MB of payload; leave room for the envelope. */
export const MAX_REQUEST_BYTES = 900_000;

export interface CloudWatchPublisherOptions {
  namespace: string;
  maxBufferedDatums: number;
  region?: string;
  /** Per-attempt HTTP timeout. */
  requestTimeoutMs?: number;
  /** Tests may inject a client. */
  client?: Pick<CloudWatchClient, 'send' | 'destroy'>;
}

type Sdk = typeof import('./cloudwatch-sdk');
let sdk: Sdk | undefined;
function loadSdk(): Sdk {
  // Loaded on first use so the EMF publisher never pays for the SDK (esbuild keeps this lazy in the bundle).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  sdk ??= require('./cloudwatch-sdk') as Sdk;
  return sdk;
}

export function toMetricDatum(d: Datum): MetricDatum {
  return {
    MetricName: d.name,
    Dimensions: d.dimensions.map(([Name, Value]) => ({ Name, Value })),
    Timestamp: new Date(Math.round(d.timestampMs)),
    Value: d.value,
    Unit: d.unit,
    StorageResolution: 1,
  };
}

function approxBytes(d: Datum): number {
  let n = 160 + d.name.length;
  for (const [k, v] of d.dimensions) n += k.length + v.length + 30;
  return n;
}

export class CloudWatchPublisher implements Publisher {
  private buffer: Datum[] = [];
  private inFlight?: Promise<void>;
  private client?: Pick<CloudWatchClient, 'send' | 'destroy'>;
  private readonly failures = new Condition('PutMetricData failing; data kept in the buffer');
  private droppedSinceLog = 0;
  private lastDropLogMs?: number;
  droppedTotal = 0;
  calls = 0;

  constructor(private readonly opts: CloudWatchPublisherOptions) {
    this.client = opts.client;
  }

  add(datums: Datum[]): void {
    for (const d of datums) if (Number.isFinite(d.value) && Number.isFinite(d.timestampMs)) this.buffer.push(d);
    this.enforceBound();
  }

  pending(): number {
    return this.buffer.length;
  }

  private enforceBound(): void {
    const over = this.buffer.length - this.opts.maxBufferedDatums;
    if (over > 0) {
      this.buffer.splice(0, over);
      this.droppedSinceLog += over;
      this.droppedTotal += over;
    }
  }

  private getClient(): Pick<CloudWatchClient, 'send' | 'destroy'> {
    if (!this.client) {
      const { CloudWatchClient: Client } = loadSdk();
      this.client = new Client({
        region: this.opts.region,
        maxAttempts: 3,
        retryMode: 'standard',
        // Request compression (gzip above 10 KiB) produced bodies moto could not decompress here (the JSON went out
        // with `Content-Encoding: gzip`); our requests are small, so send them uncompressed. See agent/README.md.
        disableRequestCompression: true,
        requestHandler: {
          requestTimeout: this.opts.requestTimeoutMs ?? 5000,
          // Without this, smithy only logs a warning (through console, i.e. a non-JSON line) and keeps waiting.
          throwOnRequestTimeout: true,
          connectionTimeout: Math.min(3000, this.opts.requestTimeoutMs ?? 5000),
        },
      });
    }
    return this.client;
  }

  flush(signal?: AbortSignal): Promise<void> {
    if (this.inFlight) {
      if (!signal) return this.inFlight;
      // A shutdown flush waits for the running one, bounded by the caller's signal.
      return Promise.race([this.inFlight, abortPromise(signal)]).then(() => (signal.aborted ? undefined : this.flush(signal)));
    }
    this.inFlight = this.doFlush(signal).finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  private async doFlush(signal?: AbortSignal): Promise<void> {
    try {
      // One call per flush: only what is queued now goes out (datums arriving meanwhile wait for the next flush);
      // more than one call only when the backlog exceeds 1,000 datums / ~900 kB per request.
      let budget = this.buffer.length;
      while (budget > 0 && this.buffer.length > 0 && !signal?.aborted) {
        let n = 0;
        let bytes = 0;
        while (n < this.buffer.length && n < budget && n < MAX_DATUMS_PER_REQUEST) {
          const b = approxBytes(this.buffer[n]);
          if (n > 0 && bytes + b > MAX_REQUEST_BYTES) break;
          bytes += b;
          n++;
        }
        const batch = this.buffer.splice(0, n);
        budget -= n;
        try {
          const { PutMetricDataCommand } = loadSdk();
          this.calls++;
          await this.getClient().send(
            new PutMetricDataCommand({ Namespace: this.opts.namespace, MetricData: batch.map(toMetricDatum) }),
            { abortSignal: signal },
          );
          this.failures.ok();
        } catch (e) {
          // Put the batch back in front (oldest data first) and let the bound drop the oldest if needed.
          this.buffer = batch.concat(this.buffer);
          this.enforceBound();
          this.failures.fail(errorText(e), { pending: this.buffer.length });
          break;
        }
      }
    } catch (e) {
      log('error', `flush failed unexpectedly: ${errorText(e)}`);
    }
    // Drops are logged with a count at most once a minute (and at the final, shutdown flush).
    const now = Date.now();
    if (this.droppedSinceLog > 0 && (this.lastDropLogMs === undefined || now - this.lastDropLogMs >= 60_000 || signal)) {
      this.lastDropLogMs = now;
      log('warn', `buffer full: dropped the ${this.droppedSinceLog} oldest datum(s)`, {
        dropped: this.droppedSinceLog, droppedTotal: this.droppedTotal, bufferMaxDatums: this.opts.maxBufferedDatums,
      });
      this.droppedSinceLog = 0;
    }
  }

  close(): void {
    try { this.client?.destroy(); } catch { /* ignore */ }
  }
}

function abortPromise(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
