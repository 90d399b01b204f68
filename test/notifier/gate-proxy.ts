/**
 * An HTTP proxy in front of moto that forwards every request at once, except the first request whose body matches
 * `hold` after `arm()`: that one waits until `release()`. It puts one request of one process after another
 * process's requests, so a test can play an interleaving that a busy Lambda fleet may produce, every time.
 */
import type * as http from 'node:http';
import { forward, LoopbackProxy } from './serial-proxy';

export class GateProxy extends LoopbackProxy {
  private armed?: (body: string) => boolean;
  private opened?: () => void;
  private caughtResolve?: () => void;
  /** Resolves when the armed request has arrived (and is held). */
  caught: Promise<void> = Promise.resolve();

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
    await super.stop();
  }

  protected handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    if (this.armed && this.armed(body.toString('utf8'))) {
      this.armed = undefined;
      const gate = new Promise<void>((r) => { this.opened = r; });
      this.caughtResolve?.();
      void gate.then(() => forward(this.upstream, req, body, res));
    } else {
      void forward(this.upstream, req, body, res);
    }
  }
}
