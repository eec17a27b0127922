// The server goes away in the middle of a session (here: our own private
// PostgreSQL, stopped and started again on the same port). The guarded step
// whose intent cannot be committed never runs; nothing committed is lost; the
// message says the server cannot be reached; once it is back, a resume
// replays what was done and runs the rest exactly once.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { DurableEngine } from '../../../../src/durable/runtime/engine';
import { DurableRuntime } from '../../../../src/durable/runtime/runtime';
import { WorkflowRegistry, type WorkflowDefinition } from '../../../../src/durable/execution/workflow';
import { gate, repoRoot, TEST_MASTER_KEY } from '../../../helpers';
import { PG_MIGRATIONS_DIR, PG_MISSING } from '../../../pgTestStore';

/** `node scripts/postgres.mjs start` on a cluster of this test's own; resolves with its URL. */
function server(port?: number): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const args = [join(repoRoot(), 'scripts', 'postgres.mjs'), 'start', '--name', 'outage', ...(port ? ['--port', String(port)] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the test server did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /postgres:\/\/\S+/.exec(out)?.[0];
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url,
        port: Number(new URL(url).port),
        stop: () => new Promise<void>((done) => {
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
      });
    });
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`the test server exited with ${code}: ${out}`)));
  });
}

test('a server that goes away mid-session: the next guarded step never runs, nothing is lost, a resume after it is back finishes once', { skip: PG_MISSING, timeout: 120_000 }, async (t) => {
  let pg = await server();
  t.after(() => pg.stop());
  const effects = { first: 0, second: 0 };
  const between = gate();
  const goOn = gate();
  const workflow: WorkflowDefinition<null, string> = {
    kind: 'outage', version: 1,
    async run(ctx) {
      await ctx.step({ name: 'write file', effect: 'exactly_once', intent: 'destructive', policy: 'fail', fingerprint: 'f1' }, () => void effects.first++);
      await ctx.step({ name: 'wait', effect: 'idempotent' }, async () => {
        between.open();
        await goOn.promise;
      });
      await ctx.step({ name: 'run command', effect: 'exactly_once', intent: 'destructive', policy: 'fail', fingerprint: 'f2' }, () => void effects.second++);
      return 'done';
    },
  };
  const warnings: string[] = [];
  const schema = `outage_${Date.now().toString(36)}`;
  const open = async (url: string) => {
    const engine = await DurableEngine.open({
      file: '', migrationsDir: PG_MIGRATIONS_DIR, masterKey: TEST_MASTER_KEY,
      postgres: { connectionString: url, project: 'outage', schema },
      config: { ackTimeoutMs: 1_500, leaseMs: 2_000 },
      logger: { warn: (m) => warnings.push(m) },
    });
    const registry = new WorkflowRegistry();
    registry.register(workflow);
    const runtime = new DurableRuntime({ engine, registry, ownerId: 'window', logger: { info: () => undefined, warn: (m) => warnings.push(m) }, drainTimeoutMs: 1_000 });
    return { engine, runtime };
  };
  const first = await open(pg.url);
  t.after(async () => {
    await first.runtime.dispose();
    await first.engine.dispose();
  });
  const handle = await first.runtime.start('outage', null);
  await between.promise;
  await first.engine.writer.flush();
  await pg.stop();
  goOn.open();
  const outcome = await handle.done;
  assert.equal(effects.second, 0, 'the guarded step never ran without its committed intent');
  assert.equal(outcome.status, 'interrupted', JSON.stringify(outcome));
  assert.match(outcome.status === 'interrupted' ? outcome.reason : '', /did not answer|unavailable|cannot be reached/, 'never "another window took over": nobody did');
  assert.ok(warnings.some((w) => /cannot be reached or went away/.test(w)), `a clear message: ${warnings.join(' | ')}`);
  await first.runtime.dispose();
  await first.engine.dispose();

  pg = await server(pg.port);
  const second = await open(pg.url);
  t.after(async () => {
    await second.runtime.dispose();
    await second.engine.dispose();
  });
  const [item] = await second.runtime.plan();
  assert.equal(item.decision.action, 'resume', JSON.stringify(item.decision));
  const resumed = await (await second.runtime.resume(item.execution.id)).done;
  assert.deepEqual(resumed, { status: 'completed', output: 'done' });
  assert.deepEqual(effects, { first: 1, second: 1 }, 'each guarded effect happened once');
});
