#!/usr/bin/env node
// The README's test command: installs what is missing, type-checks, lints, and
// runs every suite. Prints one `N passed, N failed` line per suite and exits
// non-zero if anything failed.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDependencies, log, npx, root, run, runAsync } from './lib.mjs';
import { startPostgres } from './postgres.mjs';

const started = Date.now();
ensureDependencies();

// A private PostgreSQL server for the suites that run on the shared store (stopped at the end).
let postgres;
try {
  postgres = await startPostgres({ name: 'test' });
  log(`PostgreSQL ${postgres.major} on ${postgres.url}${postgres.created ? ' (new cluster)' : ''}`);
} catch (error) {
  log(`PostgreSQL could not be started: ${error.message}`);
}
const pgEnv = postgres ? { DURABLE_TEST_PG_URL: postgres.url } : {};

const results = [];

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const { rename, ...outcome } = await fn();
    results.push({ name: rename ?? name, ...outcome, seconds: (Date.now() - t0) / 1000 });
  } catch (error) {
    log(`${name}: ${error.message}`);
    results.push({ name, check: true, passed: 0, failed: 1, names: [error.message], seconds: (Date.now() - t0) / 1000 });
  }
}

// Checks are not tests: they print ok/FAILED and count only when they fail.
await step('typecheck', async () => {
  run(npx('tsc'), ['-p', '.']);
  return { check: true, passed: 0, failed: 0 };
});

await step('lint', async () => {
  run(npx('eslint'), ['.']);
  return { check: true, passed: 0, failed: 0 };
});

// A test that hangs fails by name after five minutes (its own timeout option wins) instead of
// holding CI. (--test-force-exit is not used: it ends the runner before its TAP file is written.)
const HANG_GUARD = ['--test-timeout=300000'];

await step('unit', async () => {
  run(process.execPath, [join(root, 'scripts/build.mjs'), '--tests']);
  mkdirSync(join(root, 'test-results'), { recursive: true });
  const tap = join(root, 'test-results', 'unit.tap');
  const code = await runAsync(process.execPath, [
    '--test', '--test-concurrency=2', ...HANG_GUARD,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...testFiles(join(root, 'out', 'test')),
  ], { env: { ...process.env, ...pgEnv } });
  if (!postgres) throw new Error('no PostgreSQL server: the PostgreSQL suites could not run');
  return tapCounts(tap, code);
});

// The core's suites again, on PostgreSQL: steps, replay, divergence, ambiguity, waits,
// retention, export/import, session events, and a shortened crash torture.
await step('unit (postgres)', async () => {
  if (!postgres) throw new Error('no PostgreSQL server');
  const tap = join(root, 'test-results', 'unit-postgres.tap');
  const core = ['execution', 'journal', 'runtime', 'sessions', 'inspection', 'torture'].map((d) => join(root, 'out', 'test', 'durable', d));
  const code = await runAsync(process.execPath, [
    '--test', '--test-concurrency=2', ...HANG_GUARD,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...core.flatMap(testFiles),
  ], { env: { ...process.env, ...pgEnv, DURABLE_TEST_STORE: 'postgres', TORTURE_KILLS: process.env.TORTURE_KILLS ?? '40' } });
  return tapCounts(tap, code);
});

/** Pass/fail counts from a TAP file; a non-zero exit with no failure counted is one failure. */
function tapCounts(tap, code) {
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (label) => Number((text.match(new RegExp(`^# ${label} (\\d+)$`, 'm')) ?? [])[1] ?? 0);
  const failed = count('fail') + count('cancelled');
  // Top-level `not ok` lines name the failing tests (subtests are indented).
  const names = [...text.matchAll(/^not ok \d+ - (.*)$/gm)].map((m) => m[1]);
  if (code !== 0 && failed === 0) names.push(`the runner exited with ${code}`);
  return { passed: count('pass'), failed: failed + (code !== 0 && failed === 0 ? 1 : 0), names };
}

// The real VS Code: integration tests inside the extension host, then the UI in Chromium.
await step('vscode', async () => {
  const { runVsCodeSuites } = await import('./vscode-test.mjs');
  const r = await runVsCodeSuites({ postgresUrl: postgres?.url });
  results.push({ name: 'integration', ...r.integration, seconds: 0 });
  return { ...r.ui, rename: 'ui' };
});

// Faults of the harness itself (needs the tools the previous step installed).
await step('harness', async () => {
  const tap = join(root, 'test-results', 'harness.tap');
  const code = await runAsync(process.execPath, [
    '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`,
    ...readdirSync(join(root, 'test', 'scripts')).filter((f) => f.endsWith('.test.mjs')).map((f) => join(root, 'test', 'scripts', f)),
  ]);
  return tapCounts(tap, code);
});

/** Every bundled `*.test.js` (helpers and child processes are not test files). */
function testFiles(dir) {
  return readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.test.js')).map((f) => join(dir, f));
}

await postgres?.stop().catch((error) => log(`stopping PostgreSQL: ${error.message}`));

console.log('');
for (const r of results) {
  const seconds = `(${r.seconds.toFixed(1)} s)`;
  if (r.check) console.log(`${r.name} ${r.failed ? 'FAILED' : 'ok'} ${seconds}`);
  else console.log(`${r.name}: ${r.passed} passed, ${r.failed} failed ${seconds}`);
}
const failed = results.reduce((n, r) => n + r.failed, 0);
const passed = results.reduce((n, r) => n + r.passed, 0);
console.log(`${passed} passed, ${failed} failed`);
// Repeated last so the tail of a long CI log names what failed (details are above, by name).
for (const r of results) for (const n of r.failed ? (r.names ?? []) : []) console.log(`✖ ${r.name}: ${n}`);
log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(failed > 0 ? 1 : 0);
