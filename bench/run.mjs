#!/usr/bin/env node
// Runs every bench/*.bench.mjs (or those named on the command line), one after the
// other, and writes docs/BENCHMARKS.md from the sections they produce. Each benchmark
// is a module exporting `title` and `run()`, which resolves with its Markdown section.
import { readdir, writeFile, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.mjs')).sort();
const chosen = only.length ? files.filter((f) => only.some((o) => f.startsWith(o))) : files;

const sectionsDir = path.join(root, 'docs', 'bench');
await mkdir(sectionsDir, { recursive: true });
for (const file of chosen) {
  const mod = await import(pathToFileURL(path.join(here, file)).href);
  process.stderr.write(`\n== ${mod.title} (${file})\n`);
  const started = Date.now();
  const section = await mod.run();
  const note = `\n_Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${((Date.now() - started) / 1000).toFixed(0)} s._\n`;
  await writeFile(path.join(sectionsDir, file.replace('.bench.mjs', '.md')), `## ${mod.title}\n\n${section.trim()}\n${note}`);
}

// The whole page: every section there is, so running one benchmark keeps the others' last results.
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
const nestVersion = JSON.parse(await readFile(path.join(root, 'node_modules/@nestjs/core/package.json'), 'utf8')).version;
const sections = [];
for (const file of files) {
  try {
    sections.push(await readFile(path.join(sectionsDir, file.replace('.bench.mjs', '.md')), 'utf8'));
  } catch {
    /* not run yet */
  }
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const page = `# Benchmarks

Produced by \`npm run bench\` (all) or \`npm run bench -- <name>\` (one, e.g. \`npm run bench -- idle\`);
each section below says when it was last run. Every figure comes from real processes on
loopback sockets, never from a timed test.

Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version},
NestJS ${nestVersion}, ${pkg.name} ${pkg.version}.

${sections.join('\n')}`;
await writeFile(path.join(root, 'docs', 'BENCHMARKS.md'), page);
process.stderr.write(`\nwrote docs/BENCHMARKS.md\n`);
