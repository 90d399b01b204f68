/**
 * A fault-injecting HTTP proxy in front of moto's CloudWatch: counts and records PutMetricData requests (and their
 * bytes), and can answer with throttling errors, 500s, hang, or refuse connections ("down").
 */
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type CwMode = 'pass' | 'throttle' | 'error500' | 'hang' | 'down';

export interface CwRequest {
  target: string;
  bytes: number;
  body: string;
  answered: CwMode;
  at: number;
  /**
   * `pass` only: moto's answer reached the agent. False when the agent gave up first (its request timeout, e.g. moto
   * slow on a busy machine): then moto stored the datums but the agent will send them again, as any client would.
   */
  acked?: boolean;
}

export class CwProxy {
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  mode: CwMode = 'pass';
  readonly requests: CwRequest[] = [];

  constructor(private readonly upstream: string) {}

  get url(): string { return `http://127.0.0.1:${this.port}`; }

  /** PutMetricData requests seen (any outcome). */
  puts(): CwRequest[] { return this.requests.filter((r) => r.target.endsWith('PutMetricData')); }

  /** MetricData of PutMetricData requests that moto accepted. */
  delivered(): any[] {
    return this.puts().filter((r) => r.answered === 'pass').flatMap((r) => JSON.parse(r.body).MetricData);
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server = undefined;
  }

  /** `down`: stop listening (connection refused); anything else: listen again on the same port. */
  async setMode(mode: CwMode): Promise<void> {
    if (mode === 'down' && this.server) await this.stop();
    if (mode !== 'down' && !this.server) await this.start();
    this.mode = mode;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let headerBytes = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
      for (let i = 0; i < req.rawHeaders.length; i += 2) headerBytes += req.rawHeaders[i].length + req.rawHeaders[i + 1].length + 4;
      const target = String(req.headers['x-amz-target'] ?? '');
      const mode = this.mode;
      const rec: CwRequest = { target, bytes: headerBytes + body.length, body: body.toString('utf8'), answered: mode, at: Date.now() };
      this.requests.push(rec);
      if (mode === 'hang') return;
      if (mode === 'throttle') {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'Throttling;Sender' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.cloudwatch#ThrottlingException', message: 'Rate exceeded' }));
        return;
      }
      if (mode === 'error500') {
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'InternalServiceError', message: 'injected' }));
        return;
      }
      const up = new URL(this.upstream);
      const fwd = http.request({
        host: up.hostname,
        port: up.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: up.host },
      }, (r) => {
        if (mode === 'pass') {
          rec.acked = false;
          res.on('finish', () => { rec.acked = !req.socket.destroyed; });
        }
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      fwd.on('error', () => { res.writeHead(502); res.end(); });
      fwd.end(body);
    });
  }
}
