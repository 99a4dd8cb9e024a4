#!/usr/bin/env node
// Entry for `npm start`, `npm test` and `npm run setup` on a fresh clone: installs the npm dependencies when they
// are missing or stale, then hands over to the TypeScript entry points. Plain JavaScript: it runs before tsx exists.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function needsInstall() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  const lock = path.join(root, 'package-lock.json');
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (needsInstall()) {
  console.log('[setup] installing npm dependencies (npm ci)');
  sh(npm, existsSync(path.join(root, 'package-lock.json')) ? ['ci', '--no-audit', '--no-fund'] : ['install']);
}

/** Runs a TypeScript entry with tsx's loader in this same Node, forwarding termination signals to it. */
function runTs(file, args = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, file), ...args], {
    cwd: root,
    stdio: 'inherit',
  });
  // The terminal delivers Ctrl-C to the whole process group; we wait for the child's orderly exit.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (signal !== 'SIGINT') child.kill(signal);
    });
  }
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

const command = process.argv[2];
switch (command) {
  case 'start':
    runTs('dev/start.ts', process.argv.slice(3));
    break;
  case 'setup':
    runTs('dev/setup.ts', process.argv.slice(3));
    break;
  case 'test':
    runTs('dev/test.ts', process.argv.slice(3));
    break;
  default:
    console.error(`usage: bootstrap.mjs start|setup|test (got ${command ?? 'nothing'})`);
    process.exit(2);
}
