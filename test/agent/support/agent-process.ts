/** Runs the bundled agent (agent/dist/agent.js) as a real child process and collects its stdout lines. */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REPO = path.join(__dirname, '..', '..', '..');
export const BUNDLE = path.join(REPO, 'agent', 'dist', 'agent.js');
/** The CloudWatch client, a bundle of its own that agent.js loads only when the PutMetricData publisher starts. */
export const SDK_BUNDLE = path.join(REPO, 'agent', 'dist', 'cloudwatch-sdk.js');

/** Every file `npx projen bundle:agent` writes: the agent and the CloudWatch SDK it loads lazily. */
const BUNDLE_FILES = [BUNDLE, SDK_BUNDLE];

/** Runs `npx projen bundle:agent` (the one definition of the bundle) when a bundle is missing or older than agent/src. */
export function ensureBundle(): void {
  const src = path.join(REPO, 'agent', 'src');
  const newest = Math.max(...fs.readdirSync(src).map((f) => fs.statSync(path.join(src, f)).mtimeMs));
  if (BUNDLE_FILES.every((f) => fs.existsSync(f) && fs.statSync(f).mtimeMs >= newest)) return;
  execFileSync('npx', ['projen', 'bundle:agent'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The node flags of the image: the arguments between "node" and the script in agent/Dockerfile's CMD. */
export function dockerfileNodeArgs(): string[] {
  const m = /^CMD\s+(\[.*\])\s*$/m.exec(fs.readFileSync(path.join(REPO, 'agent', 'Dockerfile'), 'utf8'));
  const cmd: string[] = m ? JSON.parse(m[1]) : [];
  return cmd.slice(1, -1);
}

export const FAKE_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_SESSION_TOKEN: 'testing',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};

export class AgentProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  private buf = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;

  /**
   * `nodeBinary` defaults to the node running the tests (the benchmark may pass another, e.g. the image's major);
   * `script` to the bundle in agent/dist.
   */
  constructor(env: Record<string, string | undefined>, nodeArgs: string[] = [], nodeBinary: string = process.execPath, script: string = BUNDLE) {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('FARGATE_MONITOR_') && !k.startsWith('ECS_')) clean[k] = v;
    }
    for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
    this.child = spawn(nodeBinary, [...nodeArgs, script], { env: clean, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d) => {
      this.buf += String(d);
      const parts = this.buf.split('\n');
      this.buf = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.on('data', (d) => { this.stderr += String(d); });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        // Flush the remainder once stdout closes.
        setTimeout(() => {
          if (this.buf) { this.lines.push(this.buf); this.buf = ''; }
          resolve({ code, signal, atMs: Date.now() });
        }, 50);
      });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Parsed JSON log lines (`{"level":...}`; not the REPORT, not EMF documents). */
  logs(): Array<{ level: string; message: string; [k: string]: unknown }> {
    return this.lines.filter((l) => l.startsWith('{"level"')).map((l) => JSON.parse(l));
  }

  reportText(): string | undefined {
    return this.lines.find((l) => l.startsWith('REPORT '));
  }

  reportJson(): any {
    const l = this.lines.find((x) => x.includes('"type":"REPORT"'));
    return l ? JSON.parse(l) : undefined;
  }

  async waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      if (!this.alive) throw new Error(`agent exited while waiting for ${what}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** SIGTERM and wait for exit; returns the exit and how long it took. */
  async terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null; tookMs: number }> {
    const t0 = Date.now();
    this.child.kill('SIGTERM');
    const e = await this.exited;
    return { code: e.code, signal: e.signal, tookMs: e.atMs - t0 };
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }
}
