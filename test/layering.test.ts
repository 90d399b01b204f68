import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The layout's rule: lower folders of lib/ never import higher ones, so the core (shared) stands under both L3s and
 * nothing in lib/ forms an import cycle. Order, lowest first: agent, shared, notifier, then scheduled-task and service
 * (which never import each other).
 */
const LIB = path.join(__dirname, '..', 'lib');
const RANK: Record<string, number> = { 'agent': 0, 'shared': 1, 'notifier': 2, 'scheduled-task': 3, 'service': 3 };

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file, as resolved paths of the imported modules (type-only imports count too). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)].map((m) => path.resolve(path.dirname(file), m[1]));
}

const folderOf = (p: string) => path.relative(LIB, p).split(path.sep)[0];

test('lib/: no folder imports a higher one, and scheduled-task and service do not import each other', () => {
  const wrong: string[] = [];
  for (const file of sources(LIB)) {
    const from = folderOf(file);
    if (!(from in RANK)) continue;
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to === from || !(to in RANK)) continue;
      if (RANK[to] >= RANK[from]) wrong.push(`${path.relative(LIB, file)} imports ${path.relative(LIB, target)}`);
    }
  }
  expect(wrong).toEqual([]);
});

test('lib/: no import cycle between files', () => {
  const graph = new Map<string, string[]>();
  for (const file of sources(LIB)) {
    graph.set(file.replace(/\.ts$/, ''), importsOf(file).map((t) => t.replace(/\.ts$/, '')).map((t) => (fs.existsSync(`${t}.ts`) ? t : path.join(t, 'index'))));
  }
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]) => {
    if (state.get(node) === 'done') return;
    if (state.get(node) === 'open') {
      cycles.push([...trail.slice(trail.indexOf(node)), node].map((n) => path.relative(LIB, n)).join(' → '));
      return;
    }
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) visit(next, [...trail, node]);
    state.set(node, 'done');
  };
  for (const node of graph.keys()) visit(node, []);
  expect(cycles).toEqual([]);
});
