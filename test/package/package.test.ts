/**
 * The library as users get it: the packed npm tarball installed into a fresh CDK app outside this repository, the
 * Python wheel installed into a fresh virtualenv, and the jsii Maven artifact used by a fresh Maven project (Java 17),
 * each synthesizing the README's usage example as written there.
 *
 * Slow (minutes: jsii compile, jsii-pacmak, npm install, pip install, Maven, three synths). It needs python3 with venv
 * and pip, Java ≥ 17 and Maven, and the npm registry, PyPI and Maven Central (the installs; Maven keeps what it
 * downloads in ~/.m2, so later runs need only what changed); it fails, naming what is missing, rather than skip.
 * The agent bundle (agent/dist/) must exist: `npx projen test` builds it first (`npx projen bundle` by hand).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { sectionCodeBlock } from '../support/readme';
import { maskAssetHashes } from '../support/stacks';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGE_JSON = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const CDK_LIB_VERSION: string = PACKAGE_JSON.devDependencies['aws-cdk-lib'];
const CONSTRUCTS_VERSION: string = PACKAGE_JSON.devDependencies.constructs;
const TYPESCRIPT_VERSION: string = PACKAGE_JSON.devDependencies.typescript;
const STACK_NAME = 'UsageExample';
/** aws-cdk-lib and constructs on Maven Central carry the npm packages' version numbers. */
const MAVEN = 'mvn';
const MINUTES = 60_000;

/** Where both apps run: a fixed environment whose AZs are in cdk.context.json, as after a lookup (no credentials). */
const ACCOUNT = '111111111111';
const REGION = 'eu-central-1';
const CDK_CONTEXT = {
  [`availability-zones:account=${ACCOUNT}:region=${REGION}`]: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'],
};

/** The environment of commands run as a user would: without this repo's npm/projen/CDK/AWS variables. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|npm_config_|CDK_|AWS_|TS_NODE_|JSII_|INIT_CWD$|PROJEN_)/i.test(k)) env[k] = v;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true', // no instance-metadata probing for credentials
    CDK_DISABLE_VERSION_CHECK: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

/** Runs a command to completion; on failure throws with the command and the end of its output. */
function run(what: string, command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 12 * MINUTES,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error || result.status !== 0) {
    throw new Error(
      `${what} failed (${result.error ? result.error.message : `exit code ${result.status}`}): ` +
      `${command} ${args.join(' ')} (in ${options.cwd})\n${output.slice(-6000)}`,
    );
  }
  return output;
}

/** Fails with what to install when a tool the test needs is missing (instead of skipping). */
function requireTool(what: string, command: string, args: string[], hint: string): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`the package test needs ${what} (\`${command} ${args.join(' ')}\` failed): ${hint}`);
  }
}

function onlyFile(dir: string, suffix: string): string {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(suffix)) : [];
  if (files.length !== 1) throw new Error(`expected one *${suffix} in ${dir}, found: ${JSON.stringify(files)}`);
  return path.join(dir, files[0]);
}

/** The README's TypeScript usage block inside a stack that defines its free variables. */
function typescriptApp(usage: string): string {
  const lines = usage.split('\n');
  let headerEnd = 0; // the leading import statements go to the top of the file, the rest into the constructor
  let openImport = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (openImport || line.startsWith('import ')) {
      openImport = !line.endsWith(';');
      headerEnd = i + 1;
    } else if (line !== '') {
      break;
    }
  }
  const body = lines.slice(headerEnd).map((l) => (l ? `    ${l}` : l)).join('\n');
  return `${lines.slice(0, headerEnd).join('\n')}
import * as fixture_cdk from 'aws-cdk-lib';
import { Construct as FixtureConstruct } from 'constructs';

class UsageStack extends fixture_cdk.Stack {
  constructor(scope: FixtureConstruct, id: string) {
    super(scope, id, { env: { account: '${ACCOUNT}', region: '${REGION}' } });
    const cluster = new fixture_cdk.aws_ecs.Cluster(this, 'Cluster', {
      vpc: new fixture_cdk.aws_ec2.Vpc(this, 'Vpc', { maxAzs: 2, natGateways: 1 }),
    });
    const repo = fixture_cdk.aws_ecr.Repository.fromRepositoryName(this, 'Repo', 'batch');
    const dbSecret = fixture_cdk.aws_secretsmanager.Secret.fromSecretNameV2(this, 'DbSecret', 'batch/db');
    const opsTopic = new fixture_cdk.aws_sns.Topic(this, 'OpsTopic');
    const successHookSecret = fixture_cdk.aws_secretsmanager.Secret.fromSecretNameV2(this, 'SuccessHook', 'batch/slack-success');
    const failureHookSecret = fixture_cdk.aws_secretsmanager.Secret.fromSecretNameV2(this, 'FailureHook', 'batch/slack-failure');

    // ---- README.md, "## Usage", the TypeScript block ----
${body}
  }
}

const app = new fixture_cdk.App();
new UsageStack(app, '${STACK_NAME}');
app.synth();
`;
}

/** The README's Python usage block inside the same stack (its imports stay in the method: legal Python). */
function pythonApp(usage: string): string {
  const body = usage.split('\n').map((l) => (l ? `        ${l}` : l)).join('\n');
  return `import aws_cdk as fixture_cdk
from constructs import Construct as FixtureConstruct


class UsageStack(fixture_cdk.Stack):
    def __init__(self, scope: FixtureConstruct, id: str) -> None:
        super().__init__(scope, id, env=fixture_cdk.Environment(account="${ACCOUNT}", region="${REGION}"))
        cluster = fixture_cdk.aws_ecs.Cluster(self, "Cluster",
            vpc=fixture_cdk.aws_ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1),
        )
        repo = fixture_cdk.aws_ecr.Repository.from_repository_name(self, "Repo", "batch")
        db_secret = fixture_cdk.aws_secretsmanager.Secret.from_secret_name_v2(self, "DbSecret", "batch/db")
        ops_topic = fixture_cdk.aws_sns.Topic(self, "OpsTopic")
        success_hook_secret = fixture_cdk.aws_secretsmanager.Secret.from_secret_name_v2(self, "SuccessHook", "batch/slack-success")
        failure_hook_secret = fixture_cdk.aws_secretsmanager.Secret.from_secret_name_v2(self, "FailureHook", "batch/slack-failure")

        # ---- README.md, "## Usage", the Python block ----
${body}


app = fixture_cdk.App()
UsageStack(app, "${STACK_NAME}")
app.synth()
`;
}

/** The README's Java usage block inside the same stack: its imports at the top, the rest in the constructor. */
function javaApp(usage: string): string {
  const lines = usage.split('\n');
  const imports = lines.filter((l) => /^\s*import\s/.test(l));
  const body = lines.filter((l) => !/^\s*import\s/.test(l)).map((l) => (l ? `        ${l}` : l)).join('\n');
  return `${imports.join('\n')}

public class UsageApp {
    static class UsageStack extends software.amazon.awscdk.Stack {
        UsageStack(software.constructs.Construct scope, String id) {
            super(scope, id, software.amazon.awscdk.StackProps.builder()
                .env(software.amazon.awscdk.Environment.builder().account("${ACCOUNT}").region("${REGION}").build())
                .build());
            software.amazon.awscdk.services.ecs.Cluster cluster = software.amazon.awscdk.services.ecs.Cluster.Builder.create(this, "Cluster")
                .vpc(software.amazon.awscdk.services.ec2.Vpc.Builder.create(this, "Vpc").maxAzs(2).natGateways(1).build())
                .build();
            software.amazon.awscdk.services.ecr.IRepository repo =
                software.amazon.awscdk.services.ecr.Repository.fromRepositoryName(this, "Repo", "batch");
            software.amazon.awscdk.services.secretsmanager.ISecret dbSecret =
                software.amazon.awscdk.services.secretsmanager.Secret.fromSecretNameV2(this, "DbSecret", "batch/db");
            software.amazon.awscdk.services.sns.Topic opsTopic = new software.amazon.awscdk.services.sns.Topic(this, "OpsTopic");
            software.amazon.awscdk.services.secretsmanager.ISecret successHookSecret =
                software.amazon.awscdk.services.secretsmanager.Secret.fromSecretNameV2(this, "SuccessHook", "batch/slack-success");
            software.amazon.awscdk.services.secretsmanager.ISecret failureHookSecret =
                software.amazon.awscdk.services.secretsmanager.Secret.fromSecretNameV2(this, "FailureHook", "batch/slack-failure");

            // ---- README.md, "## Usage", the Java block ----
${body.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n')}
        }
    }

    public static void main(final String[] args) {
        software.amazon.awscdk.App app = new software.amazon.awscdk.App();
        new UsageStack(app, "${STACK_NAME}");
        app.synth();
    }
}
`;
}

/** A Maven project for the Java app: aws-cdk-lib from Maven Central, the library from the local jsii Maven repo. */
function javaPom(localRepo: string, library: { groupId: string; artifactId: string; version: string }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>usage-app</artifactId>
  <version>0.1.0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <repositories>
    <repository>
      <id>cdk-fargate-monitor-local-build</id>
      <url>${new URL(`file://${localRepo}`).href}</url>
    </repository>
  </repositories>
  <dependencies>
    <dependency>
      <groupId>software.amazon.awscdk</groupId>
      <artifactId>aws-cdk-lib</artifactId>
      <version>${CDK_LIB_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>software.constructs</groupId>
      <artifactId>constructs</artifactId>
      <version>${CONSTRUCTS_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>${library.groupId}</groupId>
      <artifactId>${library.artifactId}</artifactId>
      <version>${library.version}</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.8.1</version>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

/** The one jsii-built Maven artifact under a local repository (groupId/artifactId/version/*.pom). */
function mavenArtifact(localRepo: string): { groupId: string; artifactId: string; version: string } {
  const poms: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith('.pom')) poms.push(path.relative(localRepo, path.join(dir, e.name)));
    }
  };
  walk(localRepo);
  if (poms.length !== 1) throw new Error(`expected one .pom under ${localRepo}, found ${JSON.stringify(poms)}`);
  const parts = poms[0].split(path.sep);
  return { groupId: parts.slice(0, -3).join('.'), artifactId: parts[parts.length - 3], version: parts[parts.length - 2] };
}

/** The staged asset directory holding the agent's Dockerfile, from a cloud assembly. */
function stagedAgentAsset(cdkOut: string): string[] {
  const dirs = fs.readdirSync(cdkOut).filter((d) => d.startsWith('asset.') &&
    fs.existsSync(path.join(cdkOut, d, 'Dockerfile')));
  if (dirs.length !== 1) throw new Error(`expected one staged Docker asset in ${cdkOut}, found ${JSON.stringify(dirs)}`);
  const files: string[] = [];
  const walk = (dir: string, prefix: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name), `${prefix}${e.name}/`);
      else files.push(`${prefix}${e.name}`);
    }
  };
  walk(path.join(cdkOut, dirs[0]), '');
  return files.sort();
}

function resourceTypeCounts(template: any): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of Object.values<any>(template.Resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
}

/**
 * The template with its `AWS::CDK::Metadata` Analytics decoded (`v2:deflate64:` + base64 gzip of the list of
 * construct types used) and the runtime entry (`node.js/v22.1.0!jsii-runtime.Runtime`, `Python/3.11.7!…`)
 * replaced by `<runtime>`: the one line a template may differ in between languages.
 * @returns the template and the runtimes found
 */
function withAnalyticsDecoded(template: any): { template: any; runtimes: string[] } {
  const copy = JSON.parse(JSON.stringify(template));
  const runtimes: string[] = [];
  for (const resource of Object.values<any>(copy.Resources)) {
    const analytics = resource.Type === 'AWS::CDK::Metadata' ? resource.Properties?.Analytics : undefined;
    if (typeof analytics !== 'string' || !analytics.startsWith('v2:deflate64:')) continue;
    const decoded = zlib.gunzipSync(Buffer.from(analytics.slice('v2:deflate64:'.length), 'base64')).toString('utf8');
    resource.Properties.Analytics = decoded.replace(/([^,{}!]+)!jsii-runtime\.Runtime/g, (_, runtime: string) => {
      runtimes.push(runtime);
      return '<runtime>!jsii-runtime.Runtime';
    });
  }
  return { template: copy, runtimes };
}

describe('the packed library, installed as users install it', () => {
  let work: string;
  let tarball: string;
  let wheel: string;
  let mavenRepo: string;
  let typescriptTemplate: any;
  let committedApiMd: string;

  beforeAll(() => {
    requireTool('python3 with venv', 'python3', ['-c', 'import venv, ensurepip'],
      'install Python 3 with its venv module (Debian: apt-get install python3-venv), as .ci/run does');
    requireTool('pip', 'python3', ['-m', 'pip', '--version'],
      'install pip (Debian: apt-get install python3-pip), as .ci/run does');
    requireTool('Java', 'java', ['-version'], 'install a JDK ≥ 17 (Debian: apt-get install default-jdk-headless), as .ci/run does');
    requireTool('Maven', MAVEN, ['-v'], 'install Maven (Debian: apt-get install maven), as .ci/run does');
    if (!fs.existsSync(path.join(ROOT, 'agent', 'dist', 'agent.js'))) {
      throw new Error('agent/dist/agent.js is missing: run `npx projen bundle` first (`npx projen test` does)');
    }
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-fargate-monitor-package-'));
    // jsii: lib/ → build/ and .jsii (and, in post-compile, API.md from it); then the npm tarball, the Python wheel and
    // the Maven artifact (a local Maven repository under dist/java), as `npx projen package-all` makes them.
    committedApiMd = fs.readFileSync(path.join(ROOT, 'API.md'), 'utf8');
    run('jsii compile', 'npx', ['projen', 'compile'], { cwd: ROOT });
    const dist = path.join(work, 'dist');
    run('jsii-pacmak', 'npx', ['jsii-pacmak', '--targets', 'js,python,java', '--outdir', dist], { cwd: ROOT });
    tarball = onlyFile(path.join(dist, 'js'), '.tgz');
    wheel = onlyFile(path.join(dist, 'python'), '.whl');
    mavenRepo = path.join(dist, 'java');
  }, 20 * MINUTES);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('API.md is what jsii-docgen makes of the current API (regenerated by the compile above: commit it)', () => {
    const generated = fs.readFileSync(path.join(ROOT, 'API.md'), 'utf8');
    expect(generated.length).toBeGreaterThan(10_000);
    expect(generated === committedApiMd ? 'API.md is current' : 'API.md is stale: `npx projen compile` regenerated it, commit it')
      .toBe('API.md is current');
  });

  test('the tarball carries the built library, its jsii assembly and the agent, and no sources or dev files', () => {
    const files = run('tar', 'tar', ['-tzf', tarball], { cwd: work })
      .split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    expect(files).toEqual(expect.arrayContaining([
      'package.json', 'README.md', 'LICENSE', '.jsii',
      'build/index.js', 'build/index.d.ts',
      'agent/Dockerfile', 'agent/dist/agent.js', 'agent/dist/cloudwatch-sdk.js',
    ]));
    const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(sources).toEqual([]);
    const devFiles = files.filter((f) => /^(lib|test|bench|agent\/src|\.ci|\.projen|projenrc|cdk\.out)\//.test(f) ||
      ['cdk.json', 'requirements-dev.txt', 'tsconfig.json', 'agent/tsconfig.json', '.eslintrc.json', '.projenrc.ts',
        'package-lock.json'].includes(f));
    expect(devFiles).toEqual([]);

    const manifest = JSON.parse(run('tar', 'tar', ['-xzOf', tarball, 'package/package.json'], { cwd: work }));
    expect(manifest.main).toBe('build/index.js');
    expect(manifest.types).toBe('build/index.d.ts');
    expect(files).toContain(manifest.main);
    expect(manifest.engines.node).toBe('>= 22.0.0');
    expect(Object.keys(manifest.jsii.targets).sort()).toEqual(['dotnet', 'go', 'java', 'python']);
  });

  test('the README\'s TypeScript usage synthesizes in a fresh CDK app with the tarball installed', () => {
    const appDir = path.join(work, 'ts-app');
    fs.mkdirSync(path.join(appDir, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(appDir, 'package.json'), JSON.stringify({ name: 'usage-app', version: '0.1.0', private: true }));
    const env = userEnv();
    run('npm install (fresh app)', 'npm', ['install', '--no-audit', '--no-fund', tarball,
      `aws-cdk-lib@${CDK_LIB_VERSION}`, `constructs@${CONSTRUCTS_VERSION}`, 'aws-cdk@^2', // CLI `latest` is a broken 3.0.0
      `typescript@${TYPESCRIPT_VERSION}`, 'ts-node@^10', '@types/node@^22'], { cwd: appDir, env });
    // `cdk init app --language typescript`'s compiler options (less jest's types): strict type checking of the example.
    fs.writeFileSync(path.join(appDir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['es2022'],
        declaration: true,
        strict: true,
        noImplicitAny: true,
        strictNullChecks: true,
        noImplicitThis: true,
        alwaysStrict: true,
        noImplicitReturns: true,
        experimentalDecorators: true,
        strictPropertyInitialization: false,
        skipLibCheck: true,
        typeRoots: ['./node_modules/@types'],
        noEmit: true,
        isolatedModules: true,
        types: ['node'],
      },
      exclude: ['node_modules', 'cdk.out'],
    }, null, 2));
    fs.writeFileSync(path.join(appDir, 'cdk.json'), JSON.stringify({ app: 'npx tsc && npx ts-node --transpile-only bin/app.ts' }));
    fs.writeFileSync(path.join(appDir, 'cdk.context.json'), JSON.stringify(CDK_CONTEXT));
    fs.writeFileSync(path.join(appDir, 'bin', 'app.ts'), typescriptApp(sectionCodeBlock('Usage', 'ts')));

    run('cdk synth (TypeScript app)', 'npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', 'cdk.out'], { cwd: appDir, env });

    const cdkOut = path.join(appDir, 'cdk.out');
    typescriptTemplate = JSON.parse(fs.readFileSync(path.join(cdkOut, `${STACK_NAME}.template.json`), 'utf8'));
    expect(resourceTypeCounts(typescriptTemplate)).toMatchObject({
      'AWS::ECS::TaskDefinition': 1,
      'AWS::Scheduler::Schedule': 1,
      // the task's 5, the 2 of the run-outcome handler it creates, and the executions-failed alarm of the reliable-run
      // state machine (the README example uses runRetry, runTimeout, concurrencyPolicy and oomRetry)
      'AWS::CloudWatch::Alarm': 8,
      'AWS::StepFunctions::StateMachine': 1,
      'AWS::CloudWatch::Dashboard': 1,
      'AWS::Events::Rule': 1,
      'AWS::Lambda::Function': 1,
      'AWS::DynamoDB::Table': 1,
    });
    // The agent image is built from the installed package's agent/ directory: Dockerfile and the pre-built bundle.
    expect(stagedAgentAsset(cdkOut)).toEqual(expect.arrayContaining(['Dockerfile', 'dist/agent.js', 'dist/cloudwatch-sdk.js']));
    // The run-outcome handler's code is the pre-bundled asset shipped in the package (no bundling on the user's side).
    const handlerAssets = fs.readdirSync(cdkOut).filter((d) => d.startsWith('asset.')
      && fs.existsSync(path.join(cdkOut, d, 'index.js')) && !fs.existsSync(path.join(cdkOut, d, 'Dockerfile')));
    expect(handlerAssets).toHaveLength(1);
    expect(fs.readFileSync(path.join(cdkOut, handlerAssets[0], 'index.js'), 'utf8')).toContain('ConditionalCheckFailed');
  }, 10 * MINUTES);

  test('the README\'s Python usage synthesizes the same template from the wheel in a fresh virtualenv', () => {
    if (!typescriptTemplate) throw new Error('the TypeScript app did not synthesize (see the test before): nothing to compare');
    const venv = path.join(work, 'venv');
    const appDir = path.join(work, 'py-app');
    fs.mkdirSync(appDir, { recursive: true });
    const env = userEnv();
    run('python3 -m venv', 'python3', ['-m', 'venv', venv], { cwd: work, env });
    const python = path.join(venv, 'bin', 'python');
    run('pip install (wheel, aws-cdk-lib)', python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
      wheel, `aws-cdk-lib==${CDK_LIB_VERSION}`, `constructs==${CONSTRUCTS_VERSION}`], { cwd: appDir, env });
    fs.writeFileSync(path.join(appDir, 'cdk.context.json'), JSON.stringify(CDK_CONTEXT));
    fs.writeFileSync(path.join(appDir, 'app.py'), pythonApp(sectionCodeBlock('Usage', 'python')));

    // The CDK CLI of the TypeScript app (the CLI is an npm package whatever the app's language).
    const cdk = path.join(work, 'ts-app', 'node_modules', '.bin', 'cdk');
    run('cdk synth (Python app)', cdk, ['synth', '--quiet', '--no-notices', '--app', `${python} app.py`, '-o', 'cdk.out'],
      { cwd: appDir, env });

    const cdkOut = path.join(appDir, 'cdk.out');
    const pythonTemplate = JSON.parse(fs.readFileSync(path.join(cdkOut, `${STACK_NAME}.template.json`), 'utf8'));
    expect(stagedAgentAsset(cdkOut)).toEqual(expect.arrayContaining(['Dockerfile', 'dist/agent.js', 'dist/cloudwatch-sdk.js']));
    const fromPython = withAnalyticsDecoded(pythonTemplate);
    const fromTypescript = withAnalyticsDecoded(typescriptTemplate);
    // Each ran in its own language (the jsii kernel under Python), and that is the only difference.
    expect(fromTypescript.runtimes).toEqual([expect.stringMatching(/^node\.js\//)]);
    expect(fromPython.runtimes).toEqual([expect.stringMatching(/^Python\//)]);
    expect(maskAssetHashes(fromPython.template)).toEqual(maskAssetHashes(fromTypescript.template));
  }, 10 * MINUTES);
  test('the README\'s Java usage synthesizes the same template from the Maven artifact in a fresh Maven project', () => {
    if (!typescriptTemplate) throw new Error('the TypeScript app did not synthesize (see the test before): nothing to compare');
    const library = mavenArtifact(mavenRepo);
    const maven = PACKAGE_JSON.jsii.targets.java.maven;
    expect(library).toMatchObject({ groupId: maven.groupId, artifactId: maven.artifactId });
    const appDir = path.join(work, 'java-app');
    const sources = path.join(appDir, 'src', 'main', 'java');
    fs.mkdirSync(sources, { recursive: true });
    fs.writeFileSync(path.join(appDir, 'pom.xml'), javaPom(mavenRepo, library));
    fs.writeFileSync(path.join(sources, 'UsageApp.java'), javaApp(sectionCodeBlock('Usage', 'java')));
    fs.writeFileSync(path.join(appDir, 'cdk.context.json'), JSON.stringify(CDK_CONTEXT));
    const env = userEnv();
    // Maven never downloads a release version again once it is in ~/.m2: a copy of this library's 0.0.0 left there by
    // an earlier run (before an API change) would be compiled against instead of this build. Remove it first, so the
    // artifact always comes from this build's repository (dist/java).
    fs.rmSync(path.join(os.homedir(), '.m2', 'repository', ...library.groupId.split('.'), library.artifactId, library.version),
      { recursive: true, force: true });
    // Batch mode, the user's ~/.m2 as the cache (aws-cdk-lib is downloaded once); the classpath written to a file so
    // the CDK CLI runs the app with plain `java` (no exec plugin, no Maven in the synth).
    run('mvn package (Java app)', MAVEN, ['-B', '-q', '-ntp', 'compile', 'dependency:build-classpath',
      '-Dmdep.outputFile=classpath.txt'], { cwd: appDir, env });
    const classpath = `target/classes${path.delimiter}${fs.readFileSync(path.join(appDir, 'classpath.txt'), 'utf8').trim()}`;
    const cdk = path.join(work, 'ts-app', 'node_modules', '.bin', 'cdk');
    run('cdk synth (Java app)', cdk, ['synth', '--quiet', '--no-notices', '--app', `java -cp ${classpath} UsageApp`,
      '-o', 'cdk.out'], { cwd: appDir, env });

    const cdkOut = path.join(appDir, 'cdk.out');
    const javaTemplate = JSON.parse(fs.readFileSync(path.join(cdkOut, `${STACK_NAME}.template.json`), 'utf8'));
    expect(stagedAgentAsset(cdkOut)).toEqual(expect.arrayContaining(['Dockerfile', 'dist/agent.js', 'dist/cloudwatch-sdk.js']));
    const fromJava = withAnalyticsDecoded(javaTemplate);
    const fromTypescript = withAnalyticsDecoded(typescriptTemplate);
    expect(fromJava.runtimes).toEqual([expect.stringMatching(/^Java\//)]);
    expect(maskAssetHashes(fromJava.template)).toEqual(maskAssetHashes(fromTypescript.template));
  }, 15 * MINUTES);
});
