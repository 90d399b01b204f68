import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { formatReport, ReportData } from '../../agent/src/report';
import { motoUrl } from '../support/moto';

export const ROOT = path.join(__dirname, '..', '..');
export const BUNDLE = path.join(ROOT, 'assets', 'lib', 'notifier', 'run-outcome.lambda', 'index.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'events');
export const REGION = 'eu-central-1';

/** Builds the handler bundle with projen's own task, once per test file. */
export function ensureBundle(): void {
  const r = spawnSync('npx', ['projen', 'bundle:lib/notifier/run-outcome.lambda'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`bundling the handler failed: ${r.stdout} ${r.stderr}`);
}

export const awsConfig = () => ({
  region: REGION, endpoint: motoUrl(), credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

let counter = 0;
export const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

/** A fresh dedup table (same key schema as the construct's). */
export async function createTable(): Promise<string> {
  const name = unique('dedup');
  await new DynamoDBClient(awsConfig()).send(new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'taskArn', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'taskArn', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  return name;
}

export async function createSecret(value: string): Promise<string> {
  const res = await new SecretsManagerClient(awsConfig()).send(new CreateSecretCommand({ Name: unique('webhook'), SecretString: value }));
  return res.ARN!;
}

/** A log group with, per task id, an agent stream holding the given lines. */
export async function createLogs(streams: Record<string, string[]>): Promise<string> {
  const logs = new CloudWatchLogsClient(awsConfig());
  const group = `/test/${unique('task')}`;
  await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
  for (const [taskId, lines] of Object.entries(streams)) {
    const stream = `agent/fargate-monitor-agent/${taskId}`;
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
    const now = Date.now();
    await logs.send(new PutLogEventsCommand({
      logGroupName: group, logStreamName: stream, logEvents: lines.map((message, i) => ({ timestamp: now + i, message })),
    }));
  }
  return group;
}

export function reportLine(taskArn: string, figures: Partial<ReportData>): string {
  // The JSON line exactly as the agent prints it (its own formatter), so the handler is tested on the real contract.
  // Unless given, the task's memory figures equal the app's (an app without a hard limit, alone in the task).
  const r = {
    taskArn,
    appContainer: 'app',
    appExitCode: 0,
    appRunningAtShutdown: false,
    durationSeconds: 60,
    maxMemoryUsedMiB: 100,
    memoryLimitMiB: 1024,
    maxMemoryUtilizationPercent: 9.8,
    cpuAverageUtilizationPercent: 20,
    cpuMaxUtilizationPercent: 40,
    samples: 6,
    memorySource: 'tmde' as const,
    ...figures,
  };
  return formatReport(withTaskFigures(r))[1];
}

/**
 * A REPORT of an app without a hard limit: its task figures are the app's (as the agent writes them), unless `r`
 * gives its own.
 */
export function withTaskFigures<R extends Pick<ReportData, 'maxMemoryUsedMiB' | 'memoryLimitMiB' | 'maxMemoryUtilizationPercent' | 'memorySource'>>(r: R) {
  return {
    memoryLimitScope: 'task' as const,
    taskMaxMemoryUsedMiB: r.maxMemoryUsedMiB,
    taskMemoryMiB: r.memoryLimitMiB,
    taskMaxMemoryUtilizationPercent: r.maxMemoryUtilizationPercent,
    taskMemorySource: r.memorySource,
    ...r,
  };
}

/** Loads a fixture event: JSON, a Python dict literal (through Python's own parser), or the doc snippet with `...`. */
export function loadEvent(file: string): any {
  let text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  if (file.endsWith('.json')) return JSON.parse(text);
  if (file.includes('SNIPPET')) {
    // The AWS doc snippet elides the rest with "...": drop that line and the comma before it.
    text = text.replace(/,\s*\n\s*\.\.\.\s*\n/, '\n');
    return JSON.parse(text);
  }
  const py = spawnSync(process.env.PYTHON ?? 'python3', ['-c', 'import ast, json, sys; print(json.dumps(ast.literal_eval(sys.stdin.read())))'], { input: text, encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`python could not read ${file}: ${py.stderr}`);
  return JSON.parse(py.stdout);
}

export function allFixtureFiles(): string[] {
  return fs.readdirSync(FIXTURES).filter((f) => f !== 'PROVENANCE.md').sort();
}

/** One scripted reply of the stand-in Slack server. */
export interface Reply { status: number; headers?: Record<string, string>; body?: string }

/** A local HTTP server standing in for Slack's incoming webhooks: records every POST per path, replies as scripted. */
export class FakeSlack {
  public readonly requests: Array<{ path: string; body: any; at: number }> = [];
  private readonly scripts = new Map<string, Reply[]>();
  private server?: http.Server;
  public url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c) => { data += c; });
      req.on('end', () => {
        const p = req.url ?? '/';
        let body: any = data;
        try { body = JSON.parse(data); } catch { /* keep text */ }
        this.requests.push({ path: p, body, at: Date.now() });
        const reply = this.scripts.get(p)?.shift() ?? { status: 200, body: 'ok' };
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body ?? '');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as any).port}`;
  }

  script(p: string, ...replies: Reply[]): void {
    this.scripts.set(p, replies);
  }

  posts(p: string): any[] {
    return this.requests.filter((r) => r.path === p).map((r) => r.body);
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

export interface HandlerRun { results: any[]; stdout: string }

/**
 * Runs the real bundled handler in a node process (as Lambda would: one module instance, invocations in order, or
 * all at once with `parallel`), against moto and the fake Slack. Async, so the in-process fake Slack can answer.
 */
export async function runHandler(inputs: object[], env: Record<string, string>, parallel = false,
  onOutput?: (text: string) => void): Promise<HandlerRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outcome-'));
  const inFile = path.join(dir, 'in.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(inFile, JSON.stringify(inputs));
  const driver = `
    const fs = require('fs');
    const { handler } = require(${JSON.stringify(BUNDLE)});
    const inputs = JSON.parse(fs.readFileSync(${JSON.stringify(inFile)}, 'utf8'));
    const ctx = { getRemainingTimeInMillis: () => Number(process.env.TEST_REMAINING_MS || 60000) };
    const run = (i) => handler(i, ctx).catch((e) => ({ error: String(e && e.message || e) }));
    (async () => {
      const results = [];
      if (${parallel}) results.push(...await Promise.all(inputs.map(run)));
      else for (const i of inputs) results.push(await run(i));
      fs.writeFileSync(${JSON.stringify(outFile)}, JSON.stringify(results));
    })();`;
  const child = spawn(process.execPath, ['-e', driver], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL: motoUrl(),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d) => { stdout += d; onOutput?.(stdout); });
  child.stderr.on('data', (d) => { stdout += d; });
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0 || !fs.existsSync(outFile)) throw new Error(`handler process exited ${code}: ${stdout}`);
  return { results: JSON.parse(fs.readFileSync(outFile, 'utf8')), stdout };
}

/**
 * For one test file: the Slack stand-in (started before all tests, its requests cleared before each) and the two
 * webhook secrets in moto (success: the plain URL; failure: JSON `{url}`), after `setup` (default: the handler bundle
 * is built).
 */
export function slackWithWebhookSecrets(setup: () => void = ensureBundle): { slack: FakeSlack; successArn: string; failureArn: string } {
  const ctx = { slack: new FakeSlack(), successArn: '', failureArn: '' };
  beforeAll(async () => {
    setup();
    await ctx.slack.start();
    ctx.successArn = await createSecret(`${ctx.slack.url}/success`);
    ctx.failureArn = await createSecret(JSON.stringify({ url: `${ctx.slack.url}/failure` }));
  }, 180_000);
  afterAll(() => ctx.slack.stop());
  beforeEach(() => { ctx.slack.requests.length = 0; });
  return ctx;
}
