// The published types, checked where the package is installed: tsc
// (STRATUS_TSC, else the TypeScript this folder's devDependencies bring)
// compiles types.mts, which imports `@stratus/client` and
// `@stratus/client/webhooks` by name, strict and without skipLibCheck, so
// the package's own .d.ts files are checked too. Nothing runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const tsc = process.env.STRATUS_TSC || createRequire(`${process.cwd()}/`).resolve('typescript/bin/tsc');

test('the types: results by response_format, stream events, jobs, pages, raw answers, webhooks', () => {
  const checked = spawnSync(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--target', 'es2022',
      '--module', 'nodenext',
      '--moduleResolution', 'nodenext',
      '--lib', 'es2022,dom,dom.iterable,dom.asynciterable',
      fileURLToPath(new URL('./types.mts', import.meta.url)),
    ],
    { encoding: 'utf8' },
  );
  assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
});
