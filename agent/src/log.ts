/** One JSON object per line on stdout: `{"level":...,"message":...,...fields}`. Never one line per sample. */

export type Level = 'debug' | 'info' | 'warn' | 'error';

let writer: (line: string) => void = (line) => { process.stdout.write(line + '\n'); };

/** For tests: capture log lines instead of writing them. */
export function setLogWriter(w: (line: string) => void): void {
  writer = w;
}

export function log(level: Level, message: string, fields?: Record<string, unknown>): void {
  try {
    writer(JSON.stringify({ level, message, ...fields }));
  } catch {
    /* a log line must never take the agent down */
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.slice(0, 500);
  return String(e).slice(0, 500);
}

/** Logs a condition when it starts and when it ends (with how many times it happened), never in between. */
export class Condition {
  private active = false;
  private count = 0;
  constructor(private readonly what: string) {}

  fail(detail: string, fields?: Record<string, unknown>): void {
    this.count++;
    if (this.active) return;
    this.active = true;
    log('warn', `${this.what}: ${detail}`, fields);
  }

  ok(): void {
    if (!this.active) return;
    log('info', `${this.what}: recovered after ${this.count} failure(s)`);
    this.active = false;
    this.count = 0;
  }
}
