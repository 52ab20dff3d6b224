#!/usr/bin/env node
/**
 * Builds the package, packs it, and installs the tarball into each consumer app, as a
 * user of the published package would get it. Run by test/consumers.e2e-spec.ts; by
 * hand: `node test/consumers/prepare.mjs` (prints where the apps are).
 *
 * Each consumer (a folder here with a package.json) is staged outside the repository,
 * under the OS temp dir: Node and TypeScript look for packages in every parent folder's
 * node_modules, and the repository's own (Nest 12, every optional peer) would hide a
 * dependency a consumer lacks. There it gets:
 *   1. `npm ci` from its own package-lock.json (skipped while the lock is unchanged),
 *   2. `npm install --no-save <tarball>` (skipped while the tarball is unchanged),
 *   3. ../app/* copied into src/, and `tsc` with its strict tsconfig.json (plus
 *      tsconfig.node10.json, type-check only, where present) — skipped while nothing
 *      it reads changed.
 * npm shares the one user cache; installs prefer it over the registry.
 *
 * Output: one JSON line, `{ "tarball", "consumers": [{ name, dir, main, nest, steps }] }`.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const stage = process.env.QUIT_CONSUMERS_DIR ?? path.join(os.tmpdir(), 'nestjs-quit-consumers');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const npmLock = path.join(os.tmpdir(), 'npm.lock');
const STEP_TIMEOUT_MS = 240_000;

/** Runs a command; rejects with its output when it fails. */
function run(file, args, cwd) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: STEP_TIMEOUT_MS, maxBuffer: 32 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${[file, ...args].join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** npm, serialized with other npm runs on this machine that share the cache. */
const npm = (args, cwd) => (hasFlock ? run('flock', [npmLock, 'npm', ...args], cwd) : run('npm', args, cwd));
const hasFlock = process.env.PATH?.split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, 'flock')));

const sha = (...parts) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};
const read = (file) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
/** The names and contents of the files under `dir`, as one string. */
const filesHash = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath ?? e.path, e.name))
    .sort()
    .map((f) => `${path.relative(dir, f)}\n${readFileSync(f, 'utf8')}`)
    .join('\n');

/**
 * Rewrites nothing that is unchanged: another `npm test` on this machine may be running
 * the staged apps (the lock covers only the preparation).
 */
function copyIfChanged(from, to) {
  if (read(from) !== read(to)) cpSync(from, to);
}

/** A step skipped while its stamp (a hash of what it depends on) is unchanged. */
async function stamped(stampFile, hash, step) {
  if (read(stampFile) === hash) return false;
  rmSync(stampFile, { force: true });
  await step();
  writeFileSync(stampFile, hash);
  return true;
}

function assertNoNodeModulesAbove(dir) {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'node_modules'))) throw new Error(`${d}/node_modules would leak into the consumers staged in ${dir}`);
    if (path.dirname(d) === d) return;
  }
}

async function pack() {
  // What `npm publish` would take: `npm pack` runs the `prepack` script (a clean build of
  // lib/ into dist/), then takes the `files` only.
  const packDir = path.join(stage, 'pack');
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir, { recursive: true });
  const [{ filename }] = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', packDir], root));
  const tarball = path.join(stage, 'nestjs-quit.tgz');
  if (sha(readFileSync(path.join(packDir, filename))) !== sha(existsSync(tarball) ? readFileSync(tarball) : '')) cpSync(path.join(packDir, filename), tarball);
  return tarball;
}

async function prepare(name, tarball, tarballHash) {
  const source = path.join(here, name);
  const dir = path.join(stage, name);
  const steps = [];
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(source)) copyIfChanged(path.join(source, file), path.join(dir, file));
  const src = path.join(dir, 'src');
  if (!existsSync(src) || filesHash(src) !== filesHash(path.join(here, 'app'))) {
    rmSync(src, { recursive: true, force: true });
    cpSync(path.join(here, 'app'), src, { recursive: true });
  }

  const modules = path.join(dir, 'node_modules');
  const lockHash = sha(read(path.join(source, 'package.json')), read(path.join(source, 'package-lock.json')));
  if (read(path.join(dir, '.installed')) !== lockHash) {
    rmSync(path.join(dir, '.installed'), { force: true });
    await npm(['ci', '--no-audit', '--no-fund', '--prefer-offline'], dir);
    writeFileSync(path.join(dir, '.installed'), lockHash);
    steps.push('npm ci');
  }
  if (await stamped(path.join(modules, '.nestjs-quit.sha256'), tarballHash, () =>
    npm(['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline', tarball], dir))) {
    steps.push('npm install tarball');
  }

  const configs = ['tsconfig.json', 'tsconfig.node10.json'].filter((f) => existsSync(path.join(dir, f)));
  const compileHash = sha(tarballHash, lockHash, filesHash(path.join(here, 'app')), read(path.join(here, 'tsconfig.base.json')), filesHash(source));
  if (await stamped(path.join(dir, '.compiled'), compileHash, async () => {
    rmSync(path.join(dir, 'dist'), { recursive: true, force: true });
    for (const config of configs) await run(process.execPath, [tsc, '-p', config], dir);
  })) {
    steps.push(...configs.map((c) => `tsc -p ${c}`));
  }

  const nest = JSON.parse(read(path.join(modules, '@nestjs', 'core', 'package.json'))).version;
  const quit = JSON.parse(read(path.join(modules, 'nestjs-quit', 'package.json'))).version;
  return { name, dir, main: path.join(dir, 'dist', 'src', 'main.js'), nest, quit, steps };
}

async function main() {
  mkdirSync(stage, { recursive: true });
  assertNoNodeModulesAbove(stage);
  copyIfChanged(path.join(here, 'tsconfig.base.json'), path.join(stage, 'tsconfig.base.json'));
  const tarball = await pack();
  const tarballHash = sha(readFileSync(tarball));
  const names = readdirSync(here, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(path.join(here, e.name, 'package.json')))
    .map((e) => e.name)
    .sort();
  // One at a time: compiling several at once on a small machine starves the timing
  // (deadline, hook timeout) tests that Jest runs beside this one.
  const consumers = [];
  for (const name of names) consumers.push(await prepare(name, tarball, tarballHash));
  process.stdout.write(`${JSON.stringify({ tarball, consumers })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
