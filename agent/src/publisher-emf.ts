/**
 * Embedded Metric Format publisher, built on the official `aws-embedded-metrics` library: one JSON line on
 * stdout per sample and dimension set (task level, then each container), high resolution, no API calls.
 * CloudWatch Logs (awslogs driver) extracts the metrics; the task role needs no cloudwatch:PutMetricData.
 */
import type * as Emf from 'aws-embedded-metrics';
import { errorText, log } from './log';
import type { Publisher } from './publisher';
import type { Datum } from './types';

type EmfModule = typeof Emf;
let emf: EmfModule | undefined;
function loadEmf(): EmfModule {
  if (!emf) {
    // The library resolves its environment when it is first loaded; `Local` = plain JSON lines on stdout, no
    // network probes (EC2 IMDS, ECS v3 metadata). Users may still choose another AWS_EMF_ENVIRONMENT.
    process.env.AWS_EMF_ENVIRONMENT ??= 'Local';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    emf = require('aws-embedded-metrics') as EmfModule;
  }
  return emf;
}

export class EmfPublisher implements Publisher {
  private pendingFlushes = new Set<Promise<void>>();
  private errors = 0;
  lines = 0;

  constructor(private readonly namespace: string) {
    loadEmf();
  }

  add(datums: Datum[]): void {
    // Group by (timestamp, dimension set): one EMF document each.
    const groups = new Map<string, Datum[]>();
    for (const d of datums) {
      if (!Number.isFinite(d.value) || !Number.isFinite(d.timestampMs)) continue;
      const key = `${Math.round(d.timestampMs)}|${d.dimensions.map(([k, v]) => `${k}=${v}`).join(',')}`;
      const g = groups.get(key);
      if (g) g.push(d); else groups.set(key, [d]);
    }
    const lib = loadEmf();
    for (const group of groups.values()) {
      try {
        const logger = lib.createMetricsLogger();
        logger.setNamespace(this.namespace);
        const dims: Record<string, string> = {};
        for (const [k, v] of group[0].dimensions) dims[k] = v;
        logger.setDimensions(dims); // replaces the library's default dimensions
        logger.setTimestamp(new Date(Math.round(group[0].timestampMs)));
        for (const d of group) logger.putMetric(d.name, d.value, d.unit as Emf.Unit, lib.StorageResolution.High);
        const p: Promise<void> = logger.flush().then(
          () => { this.lines++; },
          (e) => this.fail(e),
        ).finally(() => this.pendingFlushes.delete(p));
        this.pendingFlushes.add(p);
      } catch (e) {
        // e.g. a timestamp older than 14 days, which CloudWatch would reject too.
        this.fail(e);
      }
    }
  }

  private fail(e: unknown): void {
    this.errors++;
    if (this.errors === 1 || this.errors % 1000 === 0) log('warn', `EMF line not written: ${errorText(e)}`, { errors: this.errors });
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.pendingFlushes]);
  }

  pending(): number {
    return 0;
  }

  close(): void { /* nothing */ }
}
