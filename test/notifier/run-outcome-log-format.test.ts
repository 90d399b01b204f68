/**
 * The RUN_OUTCOME line (and the handler's other log lines) is one whole-JSON log event under Lambda's Text and JSON
 * log formats, so Logs Insights discovers its fields in any log group, whether or not it applies its Lambda rule.
 *
 * The real bundled handler runs with a stand-in for the Node.js Lambda runtime's console patch loaded first
 * (test/support/lambda-runtime-console.cjs, re-implemented from aws-lambda-nodejs-runtime-interface-client
 * src/LogPatch.js at commit da5777a8963928cac4f6f93d88d6928262f6bd2a): `console.*` is prefixed (Text) or wrapped
 * (JSON), `process.stdout` is left alone, and the platform cuts stdout into one event per line.
 *
 * Logs Insights field discovery, the two readings (CloudWatch Logs User Guide, "Supported logs and discovered fields"):
 * - any log group: the fields of a log event that is JSON;
 * - Lambda logs: "discovers log fields in Lambda logs, but only for the first embedded JSON fragment" of the event.
 * AWS does not say how a log group not named /aws/lambda/… (Lambda's LoggingConfig.LogGroup, as here) is recognised,
 * so the queries must work under both.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createLogs, createTable, ensureBundle, loadEvent, reportLine, runHandler, unique } from './support';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConsole = require('../support/lambda-runtime-console.cjs');

const PATCH = path.join(__dirname, '..', 'support', 'lambda-runtime-console.cjs');

beforeAll(() => ensureBundle());

type Discovery = 'json-event' | 'lambda-first-fragment';

/** The fields Logs Insights discovers in one log event under a reading (none when there is no JSON object). */
function discovered(event: string, reading: Discovery): Record<string, unknown> {
  const parse = (text: string) => {
    try {
      const v = JSON.parse(text);
      return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
    } catch {
      return {};
    }
  };
  if (reading === 'json-event') return parse(event);
  // The first JSON fragment: from the first "{" to its matching "}" (strings and escapes respected).
  const start = event.indexOf('{');
  if (start < 0) return {};
  let depth = 0;
  let inString = false;
  for (let i = start; i < event.length; i++) {
    const ch = event[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {inString = true;} else if (ch === '{') {depth++;} else if (ch === '}' && --depth === 0) {return parse(event.slice(start, i + 1));}
  }
  return {};
}

/** The fleet dashboard's filter on RUN_OUTCOME lines (lib/shared/fleet-dashboard.ts runOutcomeFilter) over discovered fields. */
const matchesFleetFilter = (f: Record<string, unknown>, family: string) => f.type === 'RUN_OUTCOME' && f.family === family;

/** Stdout cut into log events as the platform does: one per line. */
const eventsOf = (stdout: string) => stdout.split('\n').filter((l) => l.length > 0);

describe.each(['Text', 'JSON'])('AWS_LAMBDA_LOG_FORMAT=%s', (format) => {
  let events: string[];
  let family: string;

  beforeAll(async () => {
    const table = await createTable();
    const e = loadEvent('fivexl_task-state-change_STOPPED_EssentialContainerExited_exit2-app_exit0-envoy_fargate_service-group.json');
    const detail = e.detail;
    detail.taskArn = `arn:aws:ecs:eu-central-1:111111111111:task/batch/${unique('t').replace(/[^a-z0-9]/gi, '')}`;
    family = unique('nightly');
    const group = await createLogs({ [detail.taskArn.split('/').pop()]: [reportLine(detail.taskArn, { maxMemoryUsedMiB: 500 })] });
    const config = {
      appContainer: 'app',
      namespace: unique('Test/Runs'),
      clusterName: 'batch',
      family,
      logGroupName: group,
      agentStreamPrefix: 'agent/fargate-monitor-agent',
      cpu: 512,
      memoryMiB: 1024,
      headroomPercent: 20,
    };
    const run = await runHandler([{ detail, config }, { detail, config }], {
      DEDUP_TABLE_NAME: table,
      REPORT_WAIT_MS: '0',
      NODE_OPTIONS: `--require ${PATCH}`,
      CFM_LAMBDA_CONSOLE: '1',
      AWS_LAMBDA_LOG_FORMAT: format,
    });
    expect(run.results.map((r) => r.result)).toEqual(['handled', 'duplicate']);
    events = eventsOf(run.stdout);
  });

  test('the stand-in runtime is in place: console.log in a process started the same way is prefixed or wrapped', () => {
    // The control: without the patch in effect this file would prove nothing about the runtime.
    const r = spawnSync(process.execPath, ['-e', 'console.log(JSON.stringify({ type: "X" })); process.stdout.write("{\\"type\\":\\"Y\\"}\\n")'], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--require ${PATCH}`, CFM_LAMBDA_CONSOLE: '1', AWS_LAMBDA_LOG_FORMAT: format },
      encoding: 'utf8',
    });
    const [viaConsole, direct] = eventsOf(r.stdout);
    if (format === 'Text') expect(viaConsole).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z\tc793869b-ee49-115b-a5b6-4fd21e8dedac\tINFO\t\{"type":"X"\}$/);
    else expect(JSON.parse(viaConsole)).toMatchObject({ level: 'INFO', message: '{"type":"X"}' });
    expect(direct).toBe('{"type":"Y"}');
  });

  test('the RUN_OUTCOME line is one event that is whole JSON, with the fields at the top level', () => {
    const outcome = events.filter((e) => e.includes('"RUN_OUTCOME"'));
    expect(outcome).toHaveLength(1);
    const record = JSON.parse(outcome[0]);
    expect(record).toMatchObject({ type: 'RUN_OUTCOME', version: 1, family, outcome: 'FAILED', peakMemoryMiB: 500, peakMemoryPercent: 48.8 });
  });

  test('every line the handler logs is whole JSON (its level/message lines too)', () => {
    const handlerLines = events.filter((e) => e.includes('"level":') || e.includes('RUN_OUTCOME'));
    expect(handlerLines.length).toBeGreaterThanOrEqual(3); // RUN_OUTCOME, "handled", "duplicate"
    for (const e of handlerLines) expect(() => JSON.parse(e)).not.toThrow();
    expect(handlerLines.map((e) => JSON.parse(e).message).filter(Boolean)).toEqual(expect.arrayContaining(['handled', 'duplicate: this task stop was already handled']));
  });

  test.each(['json-event', 'lambda-first-fragment'] as Discovery[])('the fleet queries find the run under the %s reading', (reading) => {
    const rows = events.map((e) => discovered(e, reading)).filter((f) => matchesFleetFilter(f, family));
    expect(rows).toHaveLength(1);
    // The fields the last-runs table and the memory bar chart read.
    for (const k of ['family', 'outcome', 'durationSeconds', 'peakMemoryPercent', 'memoryLimitMiB', 'cpuAverageUtilizationPercent', 'cpuMaxUtilizationPercent', 'rightSize']) {
      expect(rows[0]).toHaveProperty(k);
    }
  });
});

describe('why not console.log: the same line through the runtime\'s console', () => {
  const line = JSON.stringify({ type: 'RUN_OUTCOME', version: 1, family: 'f', outcome: 'SUCCEEDED' });
  const time = '2026-12-07T04:00:00.000Z';
  const id = 'c793869b-ee49-115b-a5b6-4fd21e8dedac';

  test('Text: `<time>\\t<request id>\\tINFO\\t{…}`: no fields in a non-Lambda log group, found only by the Lambda rule', () => {
    const event: string = runtimeConsole.textEvent(time, id, 'INFO', line);
    expect(event).toBe(`${time}\t${id}\tINFO\t${line}`);
    expect(discovered(event, 'json-event')).toEqual({});
    expect(discovered(event, 'lambda-first-fragment')).toMatchObject({ type: 'RUN_OUTCOME', family: 'f' });
  });

  test('JSON: the line becomes a string under `message`: `type` and `family` are not fields under either reading', () => {
    const event: string = runtimeConsole.jsonEvent(time, id, 'INFO', line);
    expect(JSON.parse(event)).toEqual({ timestamp: time, level: 'INFO', requestId: id, message: line });
    for (const reading of ['json-event', 'lambda-first-fragment'] as Discovery[]) {
      expect(matchesFleetFilter(discovered(event, reading), 'f')).toBe(false);
    }
  });
});
