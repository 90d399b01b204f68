import { awscdk, javascript } from 'projen';

/** GitHub Actions steps that give the test suite its non-npm tools (as .ci/run does on a bare machine). */
function testToolchainSteps() {
  return [
    { uses: 'actions/setup-python@v5', with: { 'python-version': '3.x' } },
    { uses: 'actions/setup-java@v4', with: { 'distribution': 'temurin', 'java-version': '17', 'cache': 'maven' } },
    { name: 'Python test dependencies', run: 'python3 -m pip install -r requirements-dev.txt' },
  ];
}

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-fargate-monitor',
  description:
    'CDK constructs for AWS Fargate: a sidecar agent with true CPU/memory metrics at 1-second resolution, ' +
    'monitored scheduled tasks and fast-scaling services.',
  author: 'cdk-fargate-monitor maintainers',
  authorAddress: 'maintainers@example.com',
  repositoryUrl: 'https://github.com/cdk-fargate-monitor/cdk-fargate-monitor.git',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  cdkVersion: '2.258.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~5.9.0',
  typescriptVersion: '~5.9.0',
  // Node 20 is end of life (2026-10-30); @types/node follows this major (^22).
  minNodeVersion: '22.0.0',
  srcdir: 'lib',
  libdir: 'build',
  // jsii compiles lib/ into build/: without this projen writes `"main": "lib/index.js"`, which is not in the package.
  entrypoint: 'build/index.js',
  // The jsii targets (`npx projen package-all` builds each where its toolchain exists).
  publishToPypi: { distName: 'cdk-fargate-monitor', module: 'cdk_fargate_monitor' },
  publishToMaven: {
    javaPackage: 'io.github.cdkfargatemonitor',
    mavenGroupId: 'io.github.cdkfargatemonitor',
    mavenArtifactId: 'cdk-fargate-monitor',
  },
  publishToNuget: { dotNetNamespace: 'CdkFargateMonitor', packageId: 'CdkFargateMonitor' },
  publishToGo: { moduleName: 'github.com/cdk-fargate-monitor/cdk-fargate-monitor-go' },
  testdir: 'test',
  keywords: ['cdk', 'ecs', 'fargate', 'cloudwatch', 'monitoring', 'eventbridge-scheduler'],
  // Releases as Construct Hub libraries make them: projen's release workflow (.github/workflows/release.yml) bumps the
  // version from conventional commits (feat: minor, fix: patch, `!`/BREAKING CHANGE: major), writes the changelog
  // into the GitHub release, and publishes to npm, PyPI, Maven Central, NuGet and the Go module repository (the
  // publishTo* options above; secrets NPM_TOKEN, TWINE_*, MAVEN_*, NUGET_API_KEY, GO_GITHUB_TOKEN). Generated here,
  // never run from this machine: CI is .ci/run.
  github: true,
  release: true,
  releaseToNpm: true,
  npmAccess: javascript.NpmAccess.PUBLIC,
  workflowNodeVersion: '22.x',
  // The build and release workflows run `npx projen build` (tests included): they need cfn-lint and moto (pip) and
  // Java/Maven (event-ruler, the package test's Java app); the publish jobs only pack, and need none of it.
  buildWorkflowOptions: { preBuildSteps: testToolchainSteps() },
  releaseWorkflowSetupSteps: testToolchainSteps(),
  docgen: true,
  // Constructs validate their own props; the sample app in test/example is what `npx cdk synth` runs.
  devDeps: [
    'aws-cdk@^2',
    'cdk-nag@^3',
    '@cdklabs/cdk-validator-cfnguard',
    '@aws-sdk/client-cloudwatch',
    '@aws-sdk/client-cloudwatch-logs',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/client-ecs',
    '@aws-sdk/client-secrets-manager',
    '@types/aws-lambda',
    'aws-embedded-metrics',
    'esbuild',
    // Run a Job state machines executed in tests with a real ASL interpreter, and every definition validated.
    'aws-local-stepfunctions',
    'asl-validator',
    // test/integ: the live checks (deployed with `cdk deploy`, never by the suite). 2.245.0-alpha.0 synthesizes with
    // aws-cdk-lib 2.258.0; @aws-cdk/integ-runner is deliberately absent (it refuses 2.258's cloud assembly).
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
  ],
  jestOptions: {
    // Snapshots must be able to fail: never rewrite them during a test run (`npx jest -u` does, by hand).
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    jestConfig: {
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      testTimeout: 120_000,
      // Synthesizing with cdk-nag and spawning real processes is heavy: keep within 2 cores.
      maxWorkers: 2,
    },
  },
  tsconfigDev: {
    include: ['../agent/**/*.ts', '../bench/**/*.ts'],
    compilerOptions: {},
  },
  eslintOptions: {
    dirs: ['lib'],
    devdirs: ['test', 'agent', 'bench', '.projenrc.ts'],
  },
  gitignore: ['/cdk.out/', '/agent/dist/'],
  // Run-outcome handler (lib/notifier/*.lambda.ts): Node 24 (latest: cdk-nag L1), the AWS SDK bundled (a tested, pinned version rather
  // than whatever the runtime carries). The generated construct is given ARM64 by lib/notifier.
  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: { externals: [], sourcemap: false },
  },
});

// The agent is plain TypeScript bundled by esbuild into files the Dockerfile copies (no build in Docker).
// Two bundles: agent.js, and cloudwatch-sdk.js (the CloudWatch client), which agent.js `require`s only when the
// PutMetricData publisher starts. The SDK is bundled from its ES module builds (`--main-fields=module,main`) so
// esbuild can drop what the agent never calls (the client's other commands and schemas); dynamic `import()`s are
// turned into lazy `require`s, because a native `import("node:http")` loads node's ESM facade of `http`, which
// drags in undici (and its WebAssembly, off under --lite-mode) just to list the module's exports.
const esbuild =
  'esbuild --bundle --platform=node --target=node22 --format=cjs --main-fields=module,main ' +
  '--supported:dynamic-import=false --minify-syntax --minify-whitespace --legal-comments=none';
const bundleAgent = project.addTask('bundle:agent', {
  description: 'Bundle the sidecar agent into agent/dist/ (agent.js and the lazily loaded cloudwatch-sdk.js)',
});
bundleAgent.exec(`${esbuild} agent/src/main.ts --external:./cloudwatch-sdk --outfile=agent/dist/agent.js`);
bundleAgent.exec(`${esbuild} agent/src/cloudwatch-sdk.ts --outfile=agent/dist/cloudwatch-sdk.js`);
// The run-outcome handler's bundle, as the agent's: the SDK from its ES modules so esbuild drops what the handler
// never calls (1.7 MB → well under 1 MB), minified. projen generates the task; we only add flags to it.
const outcomeBundle = project.tasks.tryFind('bundle:lib/notifier/run-outcome.lambda');
if (!outcomeBundle) throw new Error('.projenrc.ts: projen did not discover lib/notifier/run-outcome.lambda.ts');
outcomeBundle.reset('esbuild --bundle lib/notifier/run-outcome.lambda.ts --target=node24 --platform=node --format=cjs ' +
  '--main-fields=module,main --minify --legal-comments=none --tsconfig=test/tsconfig.json ' +
  '--outfile=assets/lib/notifier/run-outcome.lambda/index.js');

// projen's Bundler owns the `bundle` task once a *.lambda.ts exists (it also spawns it in pre-compile).
const bundle = project.bundler.bundleTask;
bundle.spawn(bundleAgent);
project.testTask.prependSpawn(bundle);

// `npx projen package:<lang>` (and package-all) right after `npm install`: jsii-pacmak packs build/ and .jsii, which
// only a compile makes, and the tarball must carry agent/dist/, which only the bundle makes. Each package task first
// bundles (esbuild, seconds) and compiles when .jsii is missing or older than a source in lib/ (so `npx projen build`,
// which has just compiled, does not compile twice). Tasks run from the project root.
const packagePrepare = project.addTask('package:prepare', {
  description: 'Bundle the agent and handler, and compile with jsii when .jsii is missing or older than lib/',
});
packagePrepare.spawn(bundle);
// (A node one-liner, as projen's own conditions: the condition is not run by a POSIX shell everywhere.)
const jsiiStale = "const fs = require('fs'), path = require('path');" +
  "const built = fs.existsSync('.jsii') ? fs.statSync('.jsii').mtimeMs : 0;" +
  'const newer = (d) => fs.readdirSync(d, { withFileTypes: true }).some((e) => e.isDirectory() ? ' +
  'newer(path.join(d, e.name)) : fs.statSync(path.join(d, e.name)).mtimeMs > built);' +
  "process.exit(!built || newer('lib') ? 0 : 1)";
packagePrepare.spawn(project.compileTask, { condition: `node -e "${jsiiStale}"` });
for (const lang of ['js', 'java', 'python', 'dotnet', 'go']) {
  const task = project.tasks.tryFind(`package:${lang}`);
  if (!task) throw new Error(`.projenrc.ts: projen has no package:${lang} task`);
  task.prependSpawn(packagePrepare);
}

// The npm package must carry the pre-bundled agent (projen's unanchored `dist` line would drop it).
for (const p of ['/cdk.out/', '/agent/src/', '/bench/', '/.ci/', '/test/']) project.addPackageIgnore(p);
project.addPackageIgnore('!/agent/dist/');
// What users need is build/, .jsii and agent/{Dockerfile,dist}: not the dev app's cdk.json, nor dev tooling files.
for (const p of ['/cdk.json', '/requirements-dev.txt', '/agent/tsconfig.json']) {
  project.addPackageIgnore(p);
}

project.synth();
