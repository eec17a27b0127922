// The workflow the crash-torture test kills at random moments. Guarded effects
// append to an external ledger file (the "outside world"); the ledger must
// never hold the same idempotency key twice.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { StepHandle } from '../../../src/durable/execution/stepContext';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';

export interface TortureInput {
  readonly n: number;
}

function ledgerHas(ledger: string, key: string): string | undefined {
  if (!existsSync(ledger)) return undefined;
  const line = readFileSync(ledger, 'utf8').split('\n').find((l) => l.startsWith(`${key} `));
  return line?.split(' ')[2];
}

/** Let other work (and the killer's timer) interleave inside the window. */
const yieldTurn = () => new Promise((r) => setImmediate(r));

/** Hold every effect until `gate` exists (a test that needs the run still going at some moment). */
async function passGate(gate: string | undefined): Promise<void> {
  while (gate !== undefined && !existsSync(gate)) await new Promise((r) => setTimeout(r, 20));
}

export function tortureWorkflow(ledger: string, notify: string, slowMs = 0, gate?: string): WorkflowDefinition<TortureInput, unknown> {
  const effect = (value: string) => async (h: StepHandle) => {
    const key = Buffer.from(h.idempotencyKey).toString('hex');
    await yieldTurn();
    if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
    await passGate(gate);
    await h.ensureOwner();
    appendFileSync(ledger, `${key} ${h.stepId} ${value} ${process.pid} ${Date.now()}\n`);
    await yieldTurn();
    return value;
  };
  // `rerun` is safe only when the remote side deduplicates by idempotency key: this one does.
  const dedupedEffect = (value: string) => async (h: StepHandle) => {
    const key = Buffer.from(h.idempotencyKey).toString('hex');
    const existing = ledgerHas(ledger, key);
    if (existing !== undefined) return existing;
    return effect(value)(h);
  };
  const probe = async (h: StepHandle) => {
    const existing = ledgerHas(ledger, Buffer.from(h.idempotencyKey).toString('hex'));
    return existing === undefined ? ({ done: false } as const) : ({ done: true, value: existing } as const);
  };
  return {
    kind: 'torture',
    version: 1,
    async run(ctx, input) {
      await ctx.now();
      let sum = 0;
      const effects: string[] = [];
      for (let i = 0; i < input.n; i++) {
        sum += await ctx.step({ name: 'compute', effect: 'idempotent', fingerprint: String(i) }, () => i * i);
        if (i % 3 === 0) {
          await ctx.step({ name: 'notify', effect: 'at_least_once', fingerprint: String(i) }, () => appendFileSync(notify, `${i}\n`));
        }
        if (i % 2 === 0) {
          effects.push(
            (await ctx.step({ name: 'write', effect: 'exactly_once', intent: 'destructive', policy: 'verify', fingerprint: String(i), probe }, effect(`w${i}`))) as string,
          );
        } else {
          effects.push(
            (await ctx.step({ name: 'charge', effect: 'exactly_once', intent: 'money', policy: 'rerun', fingerprint: String(i) }, dedupedEffect(`c${i}`))) as string,
          );
        }
        if (i % 5 === 4) {
          const pair = await ctx.parallel(
            ['left', 'right'].map((side) => ({
              descriptor: { name: `edit-${side}`, effect: 'exactly_once' as const, intent: 'destructive' as const, policy: 'verify' as const, fingerprint: `${i}`, probe },
              op: effect(`${side}${i}`),
            })),
          );
          effects.push(...(pair as string[]));
        }
      }
      return { sum, effects };
    },
  };
}
