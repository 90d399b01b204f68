import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SOURCE_DIR = path.join(__dirname, '..', 'event-ruler');
const LIB_DIR = path.join(__dirname, '..', '..', 'node_modules', '.cache', 'event-ruler');

/**
 * Fetches AWS event-ruler (the pattern-matching library of EventBridge, from Maven Central) with Maven into
 * node_modules/.cache once; later runs reuse it.
 */
export function ensureEventRuler(): void {
  if (fs.existsSync(LIB_DIR) && fs.readdirSync(LIB_DIR).some((f) => f.startsWith('event-ruler-'))) return;
  const mvn = spawnSync('mvn', ['-q', '-B', '-f', path.join(SOURCE_DIR, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${LIB_DIR}`], {
    encoding: 'utf8', timeout: 300_000,
  });
  if (mvn.status !== 0) throw new Error(`mvn could not fetch event-ruler: ${mvn.error ?? ''} ${mvn.stdout} ${mvn.stderr}`);
}

/**
 * For each event, whether each pattern matches it, as EventBridge's matching library decides.
 * One JVM run for all of them.
 */
export function matchEvents(patterns: object[], events: object[]): boolean[][] {
  ensureEventRuler();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ruler-'));
  const write = (name: string, value: object) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(value));
    return file;
  };
  const patternFiles = patterns.map((p, i) => write(`pattern-${i}.json`, p));
  const eventFiles = events.map((e, i) => write(`event-${i}.json`, e));
  const java = spawnSync('java', ['-cp', `${LIB_DIR}/*`, path.join(SOURCE_DIR, 'RulerMatch.java'), ...patternFiles, '--', ...eventFiles], {
    encoding: 'utf8', timeout: 120_000,
  });
  if (java.status !== 0) throw new Error(`event-ruler failed: ${java.error ?? ''} ${java.stderr}`);
  const lines = java.stdout.trim().split('\n');
  if (lines.length !== events.length) throw new Error(`event-ruler printed ${lines.length} lines for ${events.length} events`);
  return lines.map((l) => l.split(' ').map((v) => v === 'true'));
}
