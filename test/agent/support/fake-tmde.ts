/** A local HTTP server standing in for the ECS Task Metadata Endpoint v4, with fault injection. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Reply =
  | { status: number; body: string }
  | { kind: 'hang' }
  | { kind: 'truncate'; body: string }
  | { kind: 'reset' };

export type Handler = (path: string, hit: number) => Reply;

export function json(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value) };
}

export class FakeTmde {
  private server?: http.Server;
  readonly hits: Record<string, number> = {};
  readonly sockets = new Set<import('node:net').Socket>();
  url = '';

  constructor(public handler: Handler) {}

  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      const p = (req.url ?? '/').replace(/^\/v4\/[^/]+/, '') || '/';
      const hit = (this.hits[p] = (this.hits[p] ?? 0) + 1);
      let reply: Reply;
      try { reply = this.handler(p, hit); } catch (e) { reply = { status: 500, body: String(e) }; }
      if ('kind' in reply) {
        if (reply.kind === 'hang') return; // never answer
        if (reply.kind === 'reset') { req.socket.destroy(); return; }
        // Promise more than we send, then cut the connection.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(reply.body) + 100) });
        res.write(reply.body);
        setTimeout(() => req.socket.destroy(), 20);
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v4/0123456789abcdef-1234567890`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * Serves `/task` and a stats sequence: stats sample k is served for `repeat` consecutive polls (so repeated
 * `read`s are exercised), then the last one forever. `self` is the agent's own container name.
 */
export function sequenceHandler(task: any, seq: any[], selfName: string, repeat = 2): Handler {
  return (p, hit) => {
    if (p === '/' || p === '') return json(200, { ...task.Containers.find((c: any) => c.Name === selfName), Name: selfName });
    if (p === '/task') return json(200, task);
    if (p === '/task/stats') return json(200, seq[Math.min(Math.floor((hit - 1) / repeat), seq.length - 1)]);
    return json(404, { message: 'not found' });
  };
}

/**
 * A Fargate-like endpoint over a synthetic task (`syntheticTask` in payloads.ts): `/` is the agent's own container,
 * `/task` the task, and the stats move on to the next sample every `everyPolls` stats requests or every `everyMs`
 * (Fargate refreshes about every 10 s while the agent polls every second), the same body in between. `extra` may
 * answer other paths first (for example `/credentials`).
 */
export function fargateLikeHandler(syn: { task: any; next: () => any }, self: { Name: string; DockerId: string },
  refresh: { everyPolls?: number; everyMs?: number }, extra?: (path: string) => Reply | undefined): Handler {
  let current = syn.next();
  let polls = 0;
  let switched = Date.now();
  return (p) => {
    const other = extra?.(p);
    if (other) return other;
    if (p === '/' || p === '') return json(200, self);
    if (p === '/task') return json(200, syn.task);
    polls++;
    const due = (refresh.everyPolls !== undefined && polls % refresh.everyPolls === 0)
      || (refresh.everyMs !== undefined && Date.now() - switched >= refresh.everyMs);
    if (due) {
      current = syn.next();
      switched = Date.now();
    }
    return json(200, current);
  };
}
