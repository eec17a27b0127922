/**
 * The pooled connection the last statement (or transaction) ran on, kept
 * checked out while statements keep coming, so the next one (a guarded step's
 * result after its intent) skips the pool: its checkout, the release's idle timer and the
 * queue pulse cost about as much as a small INSERT's own JavaScript.
 *
 * - One statement (or transaction) at a time on it: a concurrent one takes a
 *   connection from the pool as before (pg would queue it behind the first).
 * - Never kept while someone waits for the pool: a statement that ends while
 *   another caller waits gives its connection back, so a kept connection never
 *   starves a full pool (a pool of one included).
 * - A connection checked out of the pool has no error listener of the pool's;
 *   one that fails while kept here (the server restarts) is destroyed, with a
 *   log line, instead of crashing the extension host with an unhandled
 *   'error' event (at once when idle, after its statement when busy).
 * - A statement that failed because the server went away destroys the
 *   connection it ran on; the next statement takes a fresh one.
 * - Idle for `idleMs` (5 s), it goes back to the pool, whose own idle timeout
 *   then closes it; `close` gives it back before the pool ends.
 */
import type { PoolClient } from 'pg';

const HOT_IDLE_MS = 5_000;

interface Held {
  readonly client: PoolClient;
  busy: boolean;
  /** It reported an error while a statement ran on it: destroyed when that statement ends. */
  failed: boolean;
  lastUsed: number;
  readonly onError: (error: Error) => void;
}

export class HotClient {
  private held: Held | undefined;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly where: string,
    private readonly warn?: (message: string) => void,
    /** Callers waiting for a pooled connection: while any waits, nothing is kept. */
    private readonly waiting: () => number = () => 0,
    private readonly idleMs = HOT_IDLE_MS,
  ) {}

  /** The kept connection when it is free, marked busy; undefined otherwise. */
  take(): PoolClient | undefined {
    const held = this.held;
    if (!held || held.busy) return undefined;
    held.busy = true;
    return held.client;
  }

  /**
   * After a statement: the kept connection is free again (or destroyed when
   * `broken`); a pooled one is kept when none is, else released.
   */
  giveBack(client: PoolClient, broken: boolean): void {
    const held = this.held;
    if (held && held.client === client) {
      held.busy = false;
      held.lastUsed = performance.now();
      if (broken || held.failed || this.closed || this.waiting() > 0) this.drop(broken || held.failed);
      return;
    }
    if (broken || held || this.closed || this.waiting() > 0) {
      client.release(broken ? true : undefined);
      return;
    }
    const kept: Held = {
      client,
      busy: false,
      failed: false,
      lastUsed: performance.now(),
      onError: (error) => {
        if (this.held !== kept) return;
        this.warn?.(`${this.where}: a kept connection failed: ${error.message}`);
        if (kept.busy) kept.failed = true;
        else this.drop(true);
      },
    };
    client.on('error', kept.onError);
    this.held = kept;
    this.sweeper ??= setInterval(() => this.sweep(), this.idleMs);
    this.sweeper.unref?.();
  }

  /** Give the kept connection back to the pool (before the pool ends). */
  close(): void {
    this.closed = true;
    if (this.held && !this.held.busy) this.drop(false);
    this.stopSweeper();
  }

  private sweep(): void {
    const held = this.held;
    if (held && !held.busy && performance.now() - held.lastUsed >= this.idleMs) this.drop(false);
    if (!this.held) this.stopSweeper();
  }

  /** Only while no statement runs on it: a client is released exactly once. */
  private drop(destroy: boolean): void {
    const held = this.held;
    if (!held || held.busy) return;
    this.held = undefined;
    held.client.removeListener('error', held.onError);
    held.client.release(destroy ? true : undefined);
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
