#!/usr/bin/env node
// Entry shim: Gatehouse runs TypeScript directly on Node >= 22.18 (type stripping). When started by an older
// system Node, re-run the same command with the Node 24 that `npm install` put in node_modules.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  const local = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(local)) {
    console.error(
      `gatehouse: Node ${process.versions.node} is too old (need >= 22.18) and ${local} is missing; run "npm install" first.`,
    );
    process.exit(1);
  }
  const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  // Pass stop signals on to the real process and leave with its exit code.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
} else {
  await import(join(root, 'apps', 'cli', 'main.ts'));
}
