// Cleanup at the end of a test in two phases: every disposer (runtimes, engines,
// stores) runs before any PostgreSQL schema drop, whatever order they were
// registered in, so DROP SCHEMA never races a store that is still open. (node:test
// runs plain after hooks in registration order, and one that throws skips the rest.)
export type After = { after(fn: () => void | Promise<void>): void };

const endings = new WeakMap<After, { disposers: Array<() => Promise<void>>; drops: Array<() => Promise<void>> }>();

export function atTestEnd(t: After, phase: 'dispose' | 'drop', fn: () => Promise<void>): void {
  let ending = endings.get(t);
  if (!ending) {
    const created = { disposers: [] as Array<() => Promise<void>>, drops: [] as Array<() => Promise<void>> };
    endings.set(t, created);
    t.after(async () => {
      const errors: unknown[] = [];
      // Every step runs even when one fails; the first failure is reported after all of them.
      for (const step of [...created.disposers, ...created.drops]) await step().catch((error: unknown) => errors.push(error));
      if (errors.length > 0) throw errors[0];
    });
    ending = created;
  }
  (phase === 'dispose' ? ending.disposers : ending.drops).push(fn);
}
