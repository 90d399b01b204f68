/**
 * No docstring in lib/ and no line of README.md names a prop that does not exist.
 *
 * Every backticked span that is a camelCase name or a dotted path of names (`maxRunDuration`,
 * `alarmOverrides.missedRun.enabled`) is checked, segment by segment, against the names that exist:
 * - this library's declarations (interface props, class members, method and function names, parameters), read from
 *   lib/ with the TypeScript parser: the same declarations jsii turns into the assembly, without a compile in the test;
 * - the props and members of the aws-cdk-lib modules lib/ imports (their .d.ts): the CDK names the docs refer to
 *   (`memoryReservation`, `dependsOn`, `maxWindow`);
 * - the keys of the real ECS, TMDE and Step Functions payloads under test/fixtures (`desiredStatus`, `stopCode`);
 * - the warning ids the library adds (`cdk-fargate-monitor:<id>`);
 * - a short allow-list, each with its reason.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { lastRunColumns, runsColumns } from '../lib/shared/fleet-queries';

const ROOT = path.join(__dirname, '..');

/** Names that are not props of this library or aws-cdk-lib, and why the docs name them. */
const ALLOWED: Record<string, string> = {
  backoffLimit: 'Kubernetes Job field, cited as the convention runRetry counts in',
  activeDeadlineSeconds: 'Kubernetes Job field, cited next to runTimeout',
  nextToken: 'the GetQueryResults paging field (CloudWatch Logs API), cited for the fleet board\'s row limit',
};

function walk(dir: string, keep: (p: string) => boolean, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, keep, out);
    else if (keep(p)) out.push(p);
  }
  return out;
}

function declaredNames(file: string, into: Set<string>): ts.SourceFile {
  const src = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n: ts.Node) => {
    if ((ts.isPropertySignature(n) || ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n) || ts.isMethodSignature(n)
      || ts.isGetAccessor(n) || ts.isParameter(n) || ts.isFunctionDeclaration(n)) && n.name && ts.isIdentifier(n.name)) {
      into.add(n.name.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return src;
}

function jsonKeys(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {value.forEach((v) => jsonKeys(v, into));} else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      jsonKeys(v, into);
    }
  }
}

const libFiles = walk(path.join(ROOT, 'lib'), (p) => p.endsWith('.ts') && !p.endsWith('.d.ts'));
const known = new Set<string>();
const docs: Array<{ where: string; text: string }> = [];
const cdkModules = new Set<string>();
for (const f of libFiles) {
  const src = declaredNames(f, known);
  for (const m of src.text.matchAll(/\/\*\*[\s\S]*?\*\//g)) docs.push({ where: path.relative(ROOT, f), text: m[0] });
  for (const m of src.text.matchAll(/from 'aws-cdk-lib\/([a-z0-9-]+)'/g)) cdkModules.add(m[1]);
  for (const m of src.text.matchAll(/'cdk-fargate-monitor:([A-Za-z]+)'/g)) known.add(m[1]);
}
const cdkRoot = path.dirname(require.resolve('aws-cdk-lib/package.json'));
for (const mod of [...cdkModules, 'core']) {
  const dir = path.join(cdkRoot, mod, 'lib');
  if (fs.existsSync(dir)) for (const f of walk(dir, (p) => p.endsWith('.d.ts'))) declaredNames(f, known);
}
for (const f of walk(path.join(ROOT, 'test', 'fixtures'), (p) => p.endsWith('.json'))) jsonKeys(JSON.parse(fs.readFileSync(f, 'utf8')), known);
// The fleet board's column names (Logs Insights aliases the README's table describes), from the code that builds them.
for (const c of [...lastRunColumns(1), ...runsColumns(1)]) known.add(c.name);
docs.push({ where: 'README.md', text: fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8') });

/** The camelCase segments of every backticked name or dotted path in `text`. */
function namedProps(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    if (!/^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$/.test(m[1])) continue;
    out.push(...m[1].split('.').filter((seg) => /[A-Z]/.test(seg)));
  }
  return out;
}

test('every backticked prop-like name in lib/ docstrings and README.md exists', () => {
  const missing: string[] = [];
  let checked = 0;
  for (const { where, text } of docs) {
    for (const name of namedProps(text)) {
      checked++;
      if (!known.has(name) && !(name in ALLOWED)) missing.push(`${where}: \`${name}\``);
    }
  }
  expect([...new Set(missing)]).toEqual([]);
  expect(checked).toBeGreaterThan(300); // the check reads the docs it claims to read
});

test('the check finds a name that does not exist (and reads dotted paths segment by segment)', () => {
  expect(namedProps('the agent\'s reservation (`agentMemoryReservationMiB`) and `runRetry.maxAttempts`, `ScheduleExpression.cron()`'))
    .toEqual(['agentMemoryReservationMiB', 'runRetry', 'maxAttempts']);
  expect(known.has('agentMemoryReservationMiB')).toBe(false);
  expect(known.has('agentMemoryLimitMiB')).toBe(true);
  expect(known.has('maxRunDuration')).toBe(true);
});

test('every allow-listed name is still used somewhere (no stale entries)', () => {
  const used = new Set(docs.flatMap(({ text }) => namedProps(text)));
  expect(Object.keys(ALLOWED).filter((n) => !used.has(n) || known.has(n))).toEqual([]);
});
