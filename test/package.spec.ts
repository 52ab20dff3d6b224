/**
 * What `npm pack` puts in the tarball, checked on a fresh build: the two builds, the
 * LICENSE the `license` field promises, the CHANGELOG, the README, and nothing else;
 * every `exports` target present; no static import of an optional peer; `engines`
 * matching the Node the tests run on and the README's Node line.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  version: string;
  license: string;
  engines: { node: string };
  exports: Record<string, unknown>;
  main: string;
  types: string;
  typesVersions: Record<string, Record<string, string[]>>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const npm = (args: string[]) => execFileSync('npm', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let files: string[] = [];
beforeAll(() => {
  npm(['run', 'build']);
  const [packed] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'])) as Array<{ files: Array<{ path: string }> }>;
  files = packed!.files.map((f) => f.path).sort();
}, 240_000);

/** Every string leaf of the `exports` map (conditions nest). */
function targets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return value && typeof value === 'object' ? Object.values(value).flatMap(targets) : [];
}

describe('the packed tarball', () => {
  it('holds the builds, package.json, README.md, CHANGELOG.md and LICENSE, and nothing else', () => {
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json']);
    expect(files.filter((f) => f.startsWith('dist/') && !/^dist\/(cjs\/)?.+\.(js|d\.ts)$/.test(f) && f !== 'dist/cjs/package.json')).toEqual([]);
    // Both builds of every source file.
    const esm = files.filter((f) => /^dist\/(?!cjs\/).+\.js$/.test(f));
    expect(esm.length).toBeGreaterThan(30);
    expect(files.filter((f) => f.startsWith('dist/cjs/') && f.endsWith('.js')).sort()).toEqual(esm.map((f) => f.replace(/^dist\//, 'dist/cjs/')).sort());
  });

  it('has every file that exports, main, types and typesVersions point at', () => {
    const pointed = [...targets(pkg.exports), pkg.main, pkg.types, ...Object.values(pkg.typesVersions['*']!).flat()]
      .filter((t) => t !== './package.json')
      .map((t) => t.replace(/^\.\//, ''));
    expect(pointed.filter((t) => !files.includes(t))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['dist/health/quit-grpc-health.service.js', 'dist/report/report.message.js']));
  });

  it('ships an MIT LICENSE, as package.json says, and a CHANGELOG with the version', () => {
    expect(pkg.license).toBe('MIT');
    const license = readFileSync(path.join(root, 'LICENSE'), 'utf8');
    expect(license.split('\n')[0]).toBe('MIT License');
    expect(license).toContain('Permission is hereby granted, free of charge');
    const changelog = readFileSync(path.join(root, 'CHANGELOG.md'), 'utf8');
    expect(changelog).toContain(`\n## ${pkg.version}\n`);
  });

  it('imports no optional peer statically: the entries load without @nestjs/terminus or grpc-health-check', () => {
    const optional = Object.keys(pkg.peerDependenciesMeta).filter((name) => pkg.peerDependenciesMeta[name]!.optional);
    const peers = [...optional, 'grpc-health-check', '@nestjs/terminus'];
    const offenders: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(path.join(root, file), 'utf8');
      for (const peer of peers) {
        const quoted = `['"]${peer.replace(/[/.]/g, '\\$&')}['"]`;
        if (new RegExp(`^import [^(]*from ${quoted}|^import ${quoted}|require\\(${quoted}\\)`, 'm').test(code)) offenders.push(`${file}: ${peer}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('engines', () => {
  const floor = pkg.engines.node.match(/^>=(\d+)\.(\d+)$/);

  it('is a plain floor that the Node running these tests meets', () => {
    expect(floor).not.toBeNull();
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    const [, fMajor, fMinor] = floor!.map(Number) as [number, number, number];
    expect(major > fMajor || (major === fMajor && minor >= fMinor)).toBe(true);
  });

  it("is the README's Node line", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const lines = readme.split('\n').filter((l) => /Node ≥ \d/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map((l) => l.match(/Node ≥ ([\d.]+)/)![1])).toEqual(lines.map(() => `${floor![1]}.${floor![2]}`));
  });
});
