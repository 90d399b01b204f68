import { awscdk, javascript } from 'projen';

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
  minNodeVersion: '20.0.0',
  srcdir: 'lib',
  libdir: 'build',
  testdir: 'test',
  keywords: ['cdk', 'ecs', 'fargate', 'cloudwatch', 'monitoring', 'eventbridge-scheduler'],
  github: false,
  release: false,
  docgen: false,
  // Constructs validate their own props; the sample app in test/example is what `npx cdk synth` runs.
  devDeps: [
    'aws-cdk@^2',
    'cdk-nag@^3',
    '@cdklabs/cdk-validator-cfnguard',
    '@aws-sdk/client-cloudwatch',
    '@aws-sdk/client-eventbridge',
    'aws-embedded-metrics',
    'esbuild',
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
});

// The agent is plain TypeScript bundled by esbuild into one file the Dockerfile copies (no build in Docker).
const bundleAgent = project.addTask('bundle:agent', {
  description: 'Bundle the sidecar agent into agent/dist/agent.js',
  exec:
    'esbuild agent/src/main.ts --bundle --platform=node --target=node22 --format=cjs ' +
    '--minify-syntax --minify-whitespace --legal-comments=none --outfile=agent/dist/agent.js',
});
const bundle = project.addTask('bundle', { description: 'Bundle every runtime asset (agent, handlers)' });
bundle.spawn(bundleAgent);
project.preCompileTask.spawn(bundle);
project.testTask.prependSpawn(bundle);

// The npm package must carry the pre-bundled agent (projen's unanchored `dist` line would drop it).
for (const p of ['/cdk.out/', '/agent/src/', '/bench/', '/.ci/', '/test/']) project.addPackageIgnore(p);
project.addPackageIgnore('!/agent/dist/');

project.synth();
