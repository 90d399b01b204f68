/**
 * The agent image must build for arm64 as well as x86_64 (the construct builds it for the task's CPU architecture,
 * without Docker here: these checks read the Dockerfile and the bundle it copies). Architecture-neutral means: a
 * multi-architecture base image, no platform pinning, no build step that runs or downloads architecture-specific
 * code, and a bundle of plain JavaScript (no native addons).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureBundle, REPO } from './support/agent-process';

const DOCKERFILE = fs.readFileSync(path.join(REPO, 'agent', 'Dockerfile'), 'utf8');
const instructions = DOCKERFILE.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

test('Dockerfile: one multi-arch official node base, no --platform, no RUN/ADD, only COPY of dist/', () => {
  const from = instructions.filter((l) => /^FROM\s/i.test(l));
  expect(from).toEqual(['FROM public.ecr.aws/docker/library/node:22-alpine']); // the Docker official image: amd64 and arm64v8 among others
  expect(instructions.join('\n')).not.toMatch(/--platform|amd64|x86_64|x64|arm64|aarch64|TARGETARCH|BUILDPLATFORM/i);
  expect(instructions.filter((l) => /^(RUN|ADD)\s/i.test(l))).toEqual([]);
  expect(instructions.filter((l) => /^COPY\s/i.test(l))).toEqual(['COPY --chown=root:root dist/ ./']);
});

test('the bundle the image copies is plain JavaScript: no native addon, no architecture-specific file', () => {
  ensureBundle();
  const dist = path.join(REPO, 'agent', 'dist');
  const files = fs.readdirSync(dist);
  expect(files.sort()).toEqual(['agent.js', 'cloudwatch-sdk.js']);
  for (const f of files) {
    const text = fs.readFileSync(path.join(dist, f), 'utf8');
    expect(text).not.toMatch(/\.node['"]\)/); // require('….node')
    expect(text).not.toMatch(/process\.dlopen/);
  }
});
