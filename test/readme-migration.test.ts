/**
 * The README's "Migrating from aws-ecs-patterns" examples, as written there: each `ts` block type-checks against
 * aws-cdk-lib and this library's sources (so a renamed prop on either side fails here), and synthesizes.
 */
import * as fs from 'fs';
import { createRequire } from 'module';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as library from '../lib';
import { sectionCodeBlocks } from './support/readme';

const SECTION = 'Migrating from aws-ecs-patterns';
const LIB = path.join(__dirname, '..', 'lib');

/** A block's "Before" and "After" halves (split at its `// After` comment line): each goes into a stack of its own. */
function halves(block: string): string[] {
  const lines = block.split('\n');
  const after = lines.findIndex((l) => /^\/\/ After\b/.test(l));
  if (after < 0) throw new Error(`a migration example without an "// After" line:\n${block}`);
  return [lines.slice(0, after).join('\n'), lines.slice(after).join('\n')];
}

/** Each half in a stack of its own, with the free variables they use (cluster, repo, opsTopic) defined. */
function program(blocks: string[]): string {
  return `import { App, Stack, TimeZone } from 'aws-cdk-lib';
import * as cw_actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecs_patterns from 'aws-cdk-lib/aws-ecs-patterns';
import * as events from 'aws-cdk-lib/aws-events';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import { FastScalingService, MonitoredScheduledTask } from 'cdk-fargate-monitor';

export function synth(): App {
  const app = new App();
${blocks.flatMap(halves).map((block, i) => `  {
    const stack = new Stack(app, 'Half${i}');
    const self = stack;
    const cluster = new ecs.Cluster(self, 'Cluster', { vpc: new ec2.Vpc(self, 'Vpc', { maxAzs: 2, natGateways: 1 }) });
    const repo = ecr.Repository.fromRepositoryName(self, 'Repo', 'batch');
    const opsTopic = new sns.Topic(self, 'OpsTopic');
    ((scope: Stack) => {
${block.replace(/\bthis\b/g, 'scope').split('\n').map((l) => (l ? `      ${l}` : l)).join('\n')}
    })(stack);
  }`).join('\n')}
  void [TimeZone, cw_actions, events, scheduler, ecs_patterns, FastScalingService, MonitoredScheduledTask];
  return app;
}
`;
}

describe('README, "Migrating from aws-ecs-patterns"', () => {
  const blocks = sectionCodeBlocks(SECTION, 'ts');
  let dir: string;
  let file: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-fargate-monitor-migration-'));
    file = path.join(dir, 'migration.ts');
    fs.writeFileSync(file, program(blocks));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('has a before/after example for each construct', () => {
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toMatch(/ecs_patterns\.ScheduledFargateTask[\s\S]*new MonitoredScheduledTask/);
    expect(blocks[1]).toMatch(/ecs_patterns\.ApplicationLoadBalancedFargateService[\s\S]*new FastScalingService/);
  });

  test('its examples type-check against aws-cdk-lib and lib/', () => {
    const config = ts.readConfigFile(path.join(__dirname, 'tsconfig.json'), ts.sys.readFile).config;
    const options = ts.parseJsonConfigFileContent(config, ts.sys, __dirname).options;
    // `cdk-fargate-monitor` is this repository's lib/ (as the package would be once installed); everything else
    // resolves from this repository's node_modules (the file itself is in a temp directory).
    const root = path.join(__dirname, '..');
    const paths = { 'cdk-fargate-monitor': [path.join(LIB, 'index.ts')], '*': [path.join(root, 'node_modules', '*')] };
    const checked = ts.createProgram([file], { ...options, paths, rootDir: undefined, noEmit: true, noUnusedLocals: false });
    const diagnostics = ts.getPreEmitDiagnostics(checked).filter((d) => d.file?.fileName === file || !d.file);
    expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  });

  test('its examples synthesize', () => {
    const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const requireHere = createRequire(__filename);
    const module = { exports: {} as any };
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function('require', 'module', 'exports', js)(
      (name: string) => (name === 'cdk-fargate-monitor' ? library : requireHere(name)), module, module.exports);
    const assembly = module.exports.synth().synth();
    const templates = assembly.stacks.map((s: any) => s.template);
    const types = (t: any) => Object.values<any>(t.Resources).map((r) => r.Type);
    expect(templates).toHaveLength(4); // before and after, for each construct
    expect(types(templates[0])).toContain('AWS::Events::Rule'); // ScheduledFargateTask
    expect(types(templates[1])).toContain('AWS::Scheduler::Schedule'); // MonitoredScheduledTask
    expect(types(templates[2])).toContain('AWS::ECS::Service'); // ApplicationLoadBalancedFargateService
    expect(types(templates[3])).toEqual(expect.arrayContaining(['AWS::ECS::Service', 'AWS::ApplicationAutoScaling::ScalingPolicy']));
  });
});
