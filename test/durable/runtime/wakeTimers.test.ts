// The timer service never spins on a due timer that nobody takes (a damaged
// execution, one running in another window): it looks again with backoff and
// says so once, and comes back at once when something new asks it to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecutionId } from '../../../src/durable/model/ids';
import type { JournalStore } from '../../../src/durable/store/journalStore';
import { WakeTimers } from '../../../src/durable/runtime/wakeTimers';

const ID = 'exec-damaged' as ExecutionId;

function fakeStore(state: { due: number | undefined; reads: number }): JournalStore {
  const store: Pick<JournalStore, 'nextTimerDue' | 'executionsWithDueTimers'> = {
    nextTimerDue: async (after?: number) => (state.due !== undefined && (after === undefined || state.due > after) ? state.due : undefined),
    executionsWithDueTimers: async (now: number) => {
      state.reads++;
      return state.due !== undefined && state.due <= now ? [ID] : [];
    },
  };
  return store as JournalStore;
}

test('a due timer whose wake is declined is looked at again with backoff, not in a loop, and the log says why once', async (t) => {
  const now = 1_800_000_000_000;
  const state = { due: now - 1 as number | undefined, reads: 0 };
  const warnings: string[] = [];
  const woken: ExecutionId[] = [];
  const timers = new WakeTimers({ store: () => fakeStore(state), clock: () => now, warn: (m) => warnings.push(m), wake: async (id) => void woken.push(id) });
  t.after(() => timers.dispose());
  timers.schedule();
  await new Promise((r) => setTimeout(r, 600));
  // Passes at 0 ms and 250 ms, the next only after a further second: thousands without the backoff.
  assert.ok(state.reads >= 2 && state.reads <= 3, `due timers read ${state.reads} times in 600 ms`);
  assert.deepEqual(woken.slice(0, 2), [ID, ID]);
  assert.deepEqual(warnings, ['timer service: a due timer was not taken (its execution is damaged, running elsewhere or of another version); looking again in 1000 ms, then less often']);

  // A newly armed timer (schedule from outside) is serviced at once, not after the backoff.
  const before = state.reads;
  timers.schedule();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(state.reads, before + 1, 'an outside schedule looks at once');
});

test('a wake that takes its timer leaves nothing due: the service goes quiet without a warning', async (t) => {
  const now = 1_800_000_000_000;
  const state = { due: now - 1 as number | undefined, reads: 0 };
  const warnings: string[] = [];
  const timers = new WakeTimers({
    store: () => fakeStore(state),
    clock: () => now,
    warn: (m) => warnings.push(m),
    wake: async () => {
      state.due = undefined; // the resumed run fired it
    },
  });
  t.after(() => timers.dispose());
  timers.schedule();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(state.reads, 1);
  assert.deepEqual(warnings, []);
});

test('a declined due timer does not hold back another execution\'s timer that comes due meanwhile, and the stall is logged once', async (t) => {
  const start = Date.now();
  const DECLINED = 'exec-declined' as ExecutionId;
  const SLEEPER = 'exec-sleeping' as ExecutionId;
  const armed = new Map<ExecutionId, number>([[DECLINED, start - 1], [SLEEPER, start + 300]]);
  const store: Pick<JournalStore, 'nextTimerDue' | 'executionsWithDueTimers'> = {
    nextTimerDue: async (after?: number) => {
      const due = [...armed.values()].filter((d) => after === undefined || d > after);
      return due.length > 0 ? Math.min(...due) : undefined;
    },
    executionsWithDueTimers: async (now: number) => [...armed].filter(([, d]) => d <= now).map(([id]) => id),
  };
  const warnings: string[] = [];
  let sleeperWokeAfter: number | undefined;
  const timers = new WakeTimers({
    store: () => store as JournalStore,
    clock: () => Date.now(),
    warn: (m) => warnings.push(m),
    wake: async (id) => {
      if (id !== SLEEPER) return; // the damaged one is declined every time
      armed.delete(SLEEPER);
      sleeperWokeAfter = Date.now() - start;
    },
  });
  t.after(() => timers.dispose());
  timers.schedule();
  await new Promise((r) => setTimeout(r, 900));
  assert.ok(sleeperWokeAfter !== undefined && sleeperWokeAfter >= 295 && sleeperWokeAfter < 700, `the sleeper woke after ${sleeperWokeAfter} ms (due at 300, the backoff would have said 1,250)`);
  // Something new asks to schedule (a run ended): the declined timer is looked at again, the log is not repeated.
  timers.schedule();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(warnings.length, 1, warnings.join('\n'));
});
