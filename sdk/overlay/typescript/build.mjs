// Builds dist/ (JavaScript and .d.ts) with the pinned TypeScript. It is the
// package's `prepare` script, so npm runs it wherever it turns this folder
// into an installed package: `npm install` here, `npm pack`, and
// `npm install <this folder>` from another project (npm 11 runs a linked
// directory's `prepare`, with the folder as working directory).
//
// In that last case, for a folder outside the installing project, npm
// installs neither this package's devDependencies (TypeScript) nor its
// dependencies, which Node then cannot find from the linked folder (inside
// the project it installs both, hoisted). So whatever cannot be resolved
// from here is first installed into this folder's node_modules (scripts
// off, no lockfile), then tsc runs.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = createRequire(import.meta.url)('./package.json');
const wanted = { ...pkg.dependencies, ...pkg.devDependencies };

/** Names not resolvable from this folder, or (the exactly pinned ones) at another version. */
function missing() {
  const require = createRequire(join(here, 'package.json'));
  return Object.entries(wanted)
    .filter(([name, range]) => {
      try {
        const { version } = require(`${name}/package.json`);
        return /^\d/.test(range) && version !== range;
      } catch {
        return true;
      }
    })
    .map(([name]) => name);
}

const absent = missing();
if (absent.length > 0) {
  console.error(`@stratus/client: installing ${absent.join(', ')} into ${here} to build it`);
  // The npm running this script (npm_execpath) when there is one. The
  // outer install's settings that would send this one elsewhere or leave
  // out what the build needs are dropped.
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_config_(global|prefix|location|omit|include|only|production|install_links|save.*|package_lock.*|dry_run|workspaces?|include_workspace_root|ignore_scripts)$/i.test(key)) {
      delete env[key];
    }
  }
  const cli = process.env.npm_execpath;
  const [command, prefix] = cli && /\.[cm]?js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
  const args = [...prefix, 'install', '--ignore-scripts', '--no-package-lock', '--no-save', '--include=dev', '--install-links=false', '--no-audit', '--no-fund'];
  const installed = spawnSync(command, args, { cwd: here, env, stdio: 'inherit', shell: command === 'npm' && process.platform === 'win32' });
  if (installed.status !== 0 || missing().length > 0) {
    console.error(`@stratus/client: could not install ${missing().join(', ')}; run \`npm install\` in ${here}`);
    process.exit(installed.status || 1);
  }
}

rmSync(join(here, 'dist'), { recursive: true, force: true });
const tsc = createRequire(join(here, 'package.json')).resolve('typescript/bin/tsc');
const built = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
process.exit(built.status ?? 1);
