/**
 * An HTTP proxy in front of moto that forwards one request at a time (each waits for the previous one's whole
 * answer). DynamoDB applies each write atomically ("Individual write operations such as UpdateItem are atomic and
 * always operate on the most recent version of the item, regardless of concurrency": DynamoDB Developer Guide, "Best
 * practices for handling concurrent updates"), so of two concurrent conditional PutItems on one item exactly one
 * succeeds. moto's threaded server checks a ConditionExpression and writes the item without a lock: under load both
 * can succeed (measured here: 4 of 200 pairs with two busy loops running, 0 of 200 on a quiet machine). Serializing
 * the requests gives the tests DynamoDB's documented behaviour; it changes nothing else.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An HTTP proxy on loopback in front of `upstream` (moto); subclasses say what to do with each whole request. */
export abstract class LoopbackProxy {
  private server?: http.Server;

  constructor(protected readonly upstream: string) {}

  get url(): string { return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`; }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  protected abstract handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void;
}

export class SerialProxy extends LoopbackProxy {
  private queue: Promise<void> = Promise.resolve();
  /** Requests forwarded. */
  count = 0;

  protected handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    this.queue = this.queue.then(() => {
      this.count++;
      return forward(this.upstream, req, body, res);
    }).catch(() => undefined);
  }
}

/** Sends one request on to `upstream` and its whole answer back; resolves when done (or failed). */
export function forward(upstream: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): Promise<void> {
  const up = new URL(upstream);
  return new Promise<void>((resolve) => {
    const out = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const parts: Buffer[] = [];
      ur.on('data', (c) => parts.push(c));
      ur.on('end', () => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        res.end(Buffer.concat(parts));
        resolve();
      });
      ur.on('error', () => { res.destroy(); resolve(); });
    });
    out.on('error', () => { res.destroy(); resolve(); });
    out.end(body);
  });
}
