// Helpers shared by the start and test entry points. Node built-ins only: these
// run on a fresh clone before `npm ci` has installed anything.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

export function log(message) {
  console.log(`[durable-sessions] ${message}`);
}

/** Run a command to completion, inheriting output; throw with its exit code on failure. */
export function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

/** Run a command, resolve with its exit code (never throws for a non-zero exit). */
export function runAsync(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...options });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** `npm ci` when node_modules is missing or older than the lockfile. */
export function ensureDependencies() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing npm dependencies (npm ci; builds the SQLite native module, 2–4 minutes on a fresh machine)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

export function packageJson() {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
}

export const npx = (bin) => join(root, 'node_modules', '.bin', bin);
