import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TlsFiles {
  key: string;
  cert: string;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A self-signed key and certificate for 127.0.0.1: made fresh with `openssl` when it is
 * installed, else the copy kept in `test/fixtures/tls` (nothing is downloaded).
 */
export function tlsFiles(): TlsFiles {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nestjs-quit-tls-'));
  const files = { key: path.join(dir, 'key.pem'), cert: path.join(dir, 'cert.pem') };
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', files.key, '-out', files.cert,
        '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
      { stdio: 'ignore' },
    );
    return files;
  } catch {
    // The path is the same from test/src and build/test/src: both sit two levels under the root.
    const shipped = [root, path.resolve(root, '..')].map((r) => path.join(r, 'test', 'fixtures', 'tls')).find((d) => {
      try {
        readFileSync(path.join(d, 'cert.pem'));
        return true;
      } catch {
        return false;
      }
    });
    if (!shipped) throw new Error('no openssl and no test/fixtures/tls');
    return { key: path.join(shipped, 'key.pem'), cert: path.join(shipped, 'cert.pem') };
  }
}
