/**
 * The runtime's timer service: one timer for the whole runtime, set to the
 * earliest due time (no polling), that wakes executions whose timers came due.
 * Storage errors while reading due times re-arm with backoff instead of
 * leaving timers unserviced; every timer it holds is cleared on dispose.
 *
 * A due timer can outlive a wake that declines it (a damaged execution, one
 * running in another window, a version this build does not have): then the
 * earliest due time stays in the past, and re-arming at it would spin the
 * extension host. After such a pass the service looks again with backoff, until
 * something new (a timer armed, a run ended) asks it to schedule.
 */
import { ensureError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { JournalStore } from '../store/journalStore';

const RETRY_MS = [250, 1_000, 5_000, 30_000];
/** Delays before looking again at due timers that a wake pass left due. */
const STALLED_MS = [250, 1_000, 5_000, 30_000];

export interface WakeTimerDeps {
  readonly store: () => JournalStore;
  readonly clock: () => number;
  readonly warn: (message: string) => void;
  /** Resume a parked execution whose wait may be over; never throws. */
  readonly wake: (id: ExecutionId) => Promise<void>;
}

export class WakeTimers {
  private failures = 0;
  /** Wake passes in a row that left a timer due (reset when anything else asks to schedule). */
  private stalled = 0;
  /** The stall was logged; reset once nothing due is left waiting. */
  private warnedStall = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private scheduling: Promise<void> = Promise.resolve();
  private readonly retries = new Set<ReturnType<typeof setTimeout>>();
  private disposed = false;

  constructor(private readonly deps: WakeTimerDeps) {}

  /** Arm the timer for the earliest due time (again): after a timer was armed, a run ended, or a start. */
  schedule(): void {
    this.stalled = 0;
    this.arm(false);
  }

  private arm(afterPass: boolean): void {
    this.scheduling = this.scheduling.then(async () => {
      if (this.disposed) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      let next: number | undefined;
      let later: number | undefined;
      const now = this.deps.clock();
      try {
        next = await this.deps.store().nextTimerDue();
        // Declined timers stay due: the next one due after them must not wait for their backoff.
        if (afterPass && next !== undefined && next <= now) later = await this.deps.store().nextTimerDue(now);
      } catch (error) {
        this.deps.warn(`timer service: could not read the next due timer (${ensureError(error).message}); retrying`);
        this.retryLater(() => this.schedule());
        return;
      }
      if (this.disposed) return;
      if (next === undefined) {
        this.warnedStall = false;
        return;
      }
      let delay = Math.min(Math.max(0, next - now), 2 ** 31 - 1);
      if (afterPass && delay === 0) {
        // The pass just woke everything due and something is still due: it was declined.
        delay = STALLED_MS[Math.min(this.stalled, STALLED_MS.length - 1)];
        if (later !== undefined) delay = Math.min(delay, Math.max(0, later - now));
        // Once per episode, from the second such pass on: on the first, a run just woken may not have fired its timer yet.
        if (this.stalled >= 1 && !this.warnedStall) {
          this.warnedStall = true;
          this.deps.warn(`timer service: a due timer was not taken (its execution is damaged, running elsewhere or of another version); looking again in ${delay} ms, then less often`);
        }
        this.stalled++;
      } else if (delay > 0) {
        this.stalled = 0;
        this.warnedStall = false;
      }
      this.timer = setTimeout(() => void this.wakeDue(), delay);
    });
  }

  /** Run `fn` after `delayMs`, unless disposed first (a lease that will expire, say). */
  after(delayMs: number, fn: () => Promise<void>): void {
    if (this.disposed) return;
    const timer = setTimeout(() => {
      this.retries.delete(timer);
      if (!this.disposed) fn().catch((e) => this.deps.warn(ensureError(e).message));
    }, Math.max(0, delayMs));
    timer.unref?.();
    this.retries.add(timer);
  }

  /** Run `fn` again after a growing delay (storage errors are usually brief: a lock, a full disk freed). */
  retryLater(fn: () => unknown): void {
    const delay = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
    this.failures++;
    this.after(delay, async () => {
      await fn();
    });
  }

  dispose(): void {
    this.disposed = true;
    for (const timer of this.retries) clearTimeout(timer);
    this.retries.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async wakeDue(): Promise<void> {
    this.timer = undefined;
    let due: ExecutionId[];
    try {
      due = await this.deps.store().executionsWithDueTimers(this.deps.clock());
      this.failures = 0;
    } catch (error) {
      this.deps.warn(`timer service: could not read due timers (${ensureError(error).message}); retrying`);
      this.retryLater(() => this.wakeDue());
      return;
    }
    for (const id of due) await this.deps.wake(id);
    this.arm(true);
  }
}
