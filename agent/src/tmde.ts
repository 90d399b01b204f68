/** Minimal client for the ECS Task Metadata Endpoint v4 over plain node:http, with a hard timeout per request. */
import * as http from 'node:http';
import type { TaskStats, TmdeContainer, TmdeTask } from './types';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class TmdeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TmdeError';
  }
}

export class TmdeClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  private lastStatsBody?: string;
  private lastStatsValue?: TaskStats;

  constructor(private readonly baseUri: string, private readonly timeoutMs: number) {}

  container(signal?: AbortSignal): Promise<TmdeContainer> {
    return this.getJson(this.baseUri, signal) as Promise<TmdeContainer>;
  }

  task(signal?: AbortSignal): Promise<TmdeTask> {
    return this.getJson(`${this.baseUri}/task`, signal) as Promise<TmdeTask>;
  }

  /**
   * `/task/stats`. Fargate serves the same sample ~10 times (it refreshes every ~10 s): a byte-identical body
   * returns the previously parsed object (same identity) instead of parsing it again.
   */
  async taskStats(signal?: AbortSignal): Promise<TaskStats> {
    const body = await this.getText(`${this.baseUri}/task/stats`, signal);
    if (body === this.lastStatsBody && this.lastStatsValue) return this.lastStatsValue;
    const value = parseJson(body, `${this.baseUri}/task/stats`) as TaskStats;
    this.lastStatsBody = body;
    this.lastStatsValue = value;
    return value;
  }

  close(): void {
    this.agent.destroy();
  }

  /** GET + JSON.parse; rejects with TmdeError on non-2xx, timeout, oversize, truncated or non-JSON bodies. */
  async getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    return parseJson(await this.getText(url, signal), url);
  }

  /** GET; rejects with TmdeError on non-2xx, timeout, oversize or truncated bodies. */
  getText(url: string, signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, value?: string) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err); else resolve(value ?? '');
      };
      let req: http.ClientRequest;
      try {
        req = http.get(url, { agent: this.agent, signal }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) {
              req.destroy();
              finish(new TmdeError(`response from ${url} exceeds ${MAX_BODY_BYTES} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('error', (e) => finish(new TmdeError(`reading ${url}: ${e.message}`)));
          res.on('aborted', () => finish(new TmdeError(`response from ${url} was cut short`)));
          res.on('end', () => {
            if (!res.complete) return finish(new TmdeError(`response from ${url} was cut short`));
            const status = res.statusCode ?? 0;
            const body = Buffer.concat(chunks).toString('utf8');
            if (status < 200 || status > 299) return finish(new TmdeError(`GET ${url} returned HTTP ${status}`));
            finish(undefined, body);
          });
        });
      } catch (e) {
        return finish(new TmdeError(`GET ${url}: ${(e as Error).message}`));
      }
      const timer = setTimeout(() => {
        req.destroy();
        finish(new TmdeError(`GET ${url} timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (e) => finish(new TmdeError(`GET ${url}: ${e.message}`)));
    });
  }
}

function parseJson(body: string, url: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new TmdeError(`GET ${url} returned a body that is not JSON (${body.length} bytes)`);
  }
}
