/**
 * Build the console (apps/web → apps/web/dist) when its sources changed since the last build. Used by `npm start`
 * and `npm test`, so nobody has to remember a separate build step. `--force` always builds.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const WEB = join('apps', 'web');
const STAMP = join(WEB, 'dist', '.source-hash');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'dist' || f === 'node_modules') return [];
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of [...files(WEB), 'package-lock.json'].sort()) h.update(f).update(readFileSync(f));
  return h.digest('hex');
}

const hash = sourceHash();
const force = process.argv.includes('--force');
if (!force && existsSync(STAMP) && readFileSync(STAMP, 'utf8').trim() === hash) process.exit(0);
process.stdout.write('Building the console (apps/web)…\n');
// With this script's Node (24), whatever `node` is first on PATH.
const r = spawnSync(
  process.execPath,
  [
    join('node_modules', '.bin', 'vite'),
    'build',
    '--config',
    join(WEB, 'vite.config.ts'),
    '--logLevel',
    'warn',
  ],
  {
    stdio: 'inherit',
  },
);
if (r.status !== 0) {
  process.stderr.write('Building the console failed (see above).\n');
  process.exit(r.status ?? 1);
}
writeFileSync(STAMP, hash + '\n');
