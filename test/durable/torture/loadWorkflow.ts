// The workflow of the two-process load test: a first step the seeding process
// is stopped in, then two guarded effects that append to a shared ledger file
// (the outside world) with the idempotency key and the pid that ran them.
import { appendFileSync } from 'node:fs';
import type { WorkflowDefinition } from '../../../src/durable/execution/workflow';

export function loadWorkflow(ledger: string, hold?: { reached(): void }): WorkflowDefinition<{ i: number }, string> {
  return {
    kind: 'load', version: 1,
    async run(ctx, input) {
      await ctx.step({ name: 'prepare', effect: 'idempotent' }, async (h) => {
        if (!hold) return;
        hold.reached();
        await new Promise((_, reject) => h.signal.addEventListener('abort', () => reject(h.signal.reason), { once: true }));
      });
      for (const name of ['charge', 'notify']) {
        await ctx.step({ name, effect: 'exactly_once', intent: 'money', policy: 'fail', fingerprint: `${input.i}` }, async (h) => {
          await h.ensureOwner();
          appendFileSync(ledger, `${Buffer.from(h.idempotencyKey).toString('hex')} ${input.i} ${name} ${process.pid}\n`);
        });
      }
      return `done ${input.i}`;
    },
  };
}
