/**
 * Runs the contract of nestjs-quit's internal reaches (lib/internals/contract.ts) from the
 * installed package, on this app's own Nest and peers, and prints it as one JSON line.
 * Run by test/consumers.e2e-spec.ts: `node src/contract.mjs` in the app's folder.
 *
 * The contract is not in the package's `exports` (it is not public API), so it is loaded
 * by its path in the installed package, found through the one file `exports` does list
 * (`nestjs-quit/package.json`): the CommonJS build with require() in a CommonJS app, the
 * ESM build with import() in an ESM app, as the app itself loads the package.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const app = process.cwd();
const require = createRequire(path.join(app, 'package.json'));
const root = path.dirname(require.resolve('nestjs-quit/package.json'));
const commonjs = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8')).type !== 'module';
const file = path.join(root, 'dist', ...(commonjs ? ['cjs'] : []), 'internals', 'contract.js');
const { checkInternals } = commonjs ? require(file) : await import(file);

/** The version of a package in the app's node_modules (Nest 12's `exports` hide package.json), or null. */
function version(name) {
  try {
    return JSON.parse(readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

const { libraries } = await checkInternals();
const versions = Object.fromEntries(libraries.map((l) => [l.library, version(l.library)]));
process.stdout.write(`${JSON.stringify({ build: commonjs ? 'cjs' : 'esm', file: path.relative(app, file), versions, libraries })}\n`);
