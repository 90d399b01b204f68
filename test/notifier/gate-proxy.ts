/**
 * An HTTP proxy in front of moto that forwards every request at once, except the first request whose body matches
 * `hold` after `arm()`: that one waits until `release()`. It puts one request of one process after another
 * process's requests, so a test can play an interleaving that a busy Lambda fleet may produce, every time.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward } from './serial-proxy';

export class GateProxy {
  private server?: http.Server;
  private armed?: (body: string) => boolean;
  private opened?: () => void;
  private caughtResolve?: () => void;
  /** Resolves when the armed request has arrived (and is held). */
  caught: Promise<void> = Promise.resolve();

  constructor(private readonly upstream: string) {}

  get url(): string { return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`; }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (this.armed && this.armed(body.toString('utf8'))) {
          this.armed = undefined;
          const gate = new Promise<void>((r) => { this.opened = r; });
          this.caughtResolve?.();
          void gate.then(() => forward(this.upstream, req, body, res));
        } else {
          void forward(this.upstream, req, body, res);
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this.url;
  }

  /** Holds the next request whose body satisfies `hold`. */
  arm(hold: (body: string) => boolean): void {
    this.armed = hold;
    this.caught = new Promise<void>((r) => { this.caughtResolve = r; });
  }

  /** Lets the held request go. */
  release(): void {
    this.opened?.();
    this.opened = undefined;
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
