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

  constructor(private readonly baseUri: string, private readonly timeoutMs: number) {}

  container(signal?: AbortSignal): Promise<TmdeContainer> {
    return this.getJson(this.baseUri, signal) as Promise<TmdeContainer>;
  }

  task(signal?: AbortSignal): Promise<TmdeTask> {
    return this.getJson(`${this.baseUri}/task`, signal) as Promise<TmdeTask>;
  }

  taskStats(signal?: AbortSignal): Promise<TaskStats> {
    return this.getJson(`${this.baseUri}/task/stats`, signal) as Promise<TaskStats>;
  }

  close(): void {
    this.agent.destroy();
  }

  /** GET + JSON.parse; rejects with TmdeError on non-2xx, timeout, oversize, truncated or non-JSON bodies. */
  getJson(url: string, signal?: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, value?: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err); else resolve(value);
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
            try {
              finish(undefined, JSON.parse(body));
            } catch {
              finish(new TmdeError(`GET ${url} returned a body that is not JSON (${body.length} bytes)`));
            }
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
