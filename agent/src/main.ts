/**
 * fargate-monitor sidecar agent entry point. Reads ECS Task Metadata Endpoint v4, publishes task- and
 * container-level CPU/memory metrics, prints a REPORT at SIGTERM and always exits 0.
 */
import { Agent } from './agent';
import { loadConfig } from './config';
import { errorText, log } from './log';
import type { Publisher } from './publisher';
import { CloudWatchPublisher } from './publisher-cloudwatch';
import { EmfPublisher } from './publisher-emf';

function main(): void {
  process.on('uncaughtException', (e) => log('error', `uncaught exception (continuing): ${errorText(e)}`));
  process.on('unhandledRejection', (e) => log('error', `unhandled rejection (continuing): ${errorText(e)}`));

  const cfg = loadConfig(process.env, (message, fields) => log('warn', message, fields));
  let reported = false;
  const print = (line: string) => { process.stdout.write(line + '\n'); };

  const agent: Agent = new Agent(cfg, {
    print,
    makePublisher: (): Publisher => cfg.publisher === 'emf' ? new EmfPublisher(cfg.namespace) : new CloudWatchPublisher({
      namespace: cfg.namespace,
      maxBufferedDatums: cfg.bufferMaxDatums,
      requestTimeoutMs: cfg.cloudwatchTimeoutMs,
      region: process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || agent.regionHint(),
    }),
  });

  const exit = () => {
    // Let stdout drain; stdout to a pipe is asynchronous in Node.
    process.stdout.write('', () => process.exit(0));
    setTimeout(() => process.exit(0), 200).unref();
  };

  let signalled = false;
  const onSignal = (sig: string) => {
    if (signalled) return;
    signalled = true;
    const timeoutMs = agent.shutdownTimeoutMs();
    log('info', `${sig} received: last sample, flush, REPORT`, { shutdownTimeoutMs: timeoutMs, appRunning: agent.appRunning() ?? null });
    // Hard deadline: the REPORT goes out and the process exits 0 even if everything else hangs.
    setTimeout(() => {
      if (!reported) {
        reported = true;
        log('warn', 'shutdown deadline reached: printing the REPORT with what is known');
        agent.printReport();
      }
      exit();
    }, Math.max(100, timeoutMs - 300)).unref();
    void agent.shutdownSteps(timeoutMs).then(() => {
      if (!reported) {
        reported = true;
        agent.printReport();
      }
      exit();
    });
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  agent.start();

  // With --expose-gc (agent/Dockerfile's CMD): a major GC once a minute. Without it, garbage outside the small JS
  // heap (buffers of the HTTPS client, native memory) piles up until V8's first major GC, many minutes in: measured
  // on Node 22, anonymous memory rose from 14.7 to 16.8 MiB over 10 minutes (agent/README.md "Benchmark").
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') setInterval(() => { try { gc(); } catch { /* never fatal */ } }, 60_000).unref();
}

main();
