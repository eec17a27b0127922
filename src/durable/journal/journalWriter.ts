/**
 * The journal writer: one per database, decoupled from
 * callers.
 *
 * - Buffered appends join a FIFO queue and are group-committed in one
 *   transaction every flush interval, or as soon as a batch is full. They never
 *   block: past `maxQueuedAppends` they are dropped with a warning (an unjournaled
 *   idempotent or at-least-once result simply re-runs on resume).
 * - Acknowledged appends join the same queue, so committing one commits every
 *   causally earlier buffered entry first; the promise resolves with its seq once
 *   the transaction committed, or rejects with JournalUnavailableError after the
 *   ack timeout: never a hang.
 * - A locked database is retried with backoff; any other failure is isolated row
 *   by row so one bad row cannot take a batch of good ones down with it.
 * - Sequence numbers come from the database, so a restarted writer resumes after
 *   the highest committed seq with no gap handling and no duplicates.
 */
import type { DurableConfig } from '../model/config';
import { CancelledError, JournalUnavailableError, isDurableError, isPassingStorageFailure, type StorageError, ensureError } from '../model/errors';
import type { JournalSeq } from '../model/ids';
import type { JournalAppender, NewEntry, StoredRow } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import { describeRow } from '../crypto/journalCodec';

export interface RowSink {
  appendRows(rows: readonly StoredRow[]): Promise<JournalSeq[]>;
}

export interface WriterLogger {
  warn(message: string): void;
}

export interface WriterStats {
  /** Entries waiting to be committed. */
  readonly queueDepth: number;
  readonly committed: number;
  readonly flushes: number;
  /** Buffered appends dropped under back-pressure or after a permanent failure. */
  readonly droppedBuffered: number;
  /** Acknowledged appends that timed out (the caller degraded to non-durable). */
  readonly ackTimeouts: number;
  readonly flushFailures: number;
}

interface Ack {
  resolve(seq: JournalSeq): void;
  reject(error: Error): void;
  /** performance.now() past which the caller stops waiting. */
  readonly deadline: number;
  readonly signal?: AbortSignal;
  settled: boolean;
}

interface Pending {
  readonly row: StoredRow;
  readonly ack?: Ack;
}

const MAX_BACKOFF_MS = 1_000;
/** Most batches one transaction takes when the queue is deep (a burst): each commit is an fsync and, past 1,000 WAL pages, a checkpoint. */
const TRANSACTION_BATCHES = 64;

export class JournalWriter implements JournalAppender {
  private queue: Pending[] = [];
  private acksQueued = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private soonQueued = false;
  /** Acknowledged entries the last commit carried: more than one means callers run concurrently. */
  private lastAcksPerCommit = 0;
  /** Entries at the head of the queue whose flush interval has elapsed. */
  private dueCount = 0;
  private flushing: Promise<void> | undefined;
  private backoffMs = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private stats = { committed: 0, flushes: 0, droppedBuffered: 0, ackTimeouts: 0, flushFailures: 0 };
  private warnedBackPressure = false;
  private readonly commitListeners = new Set<(executionIds: ReadonlySet<string>) => void>();
  /**
   * Acknowledged appends not yet settled, oldest first (from `waitingHead` on). Their deadlines
   * grow in this order, so one timer, armed for the oldest, serves them all: a timer and an abort
   * listener per append cost more than the rest of its queueing (profiles of 64 concurrent steps).
   */
  private waiting: Pending[] = [];
  private waitingHead = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** The unsettled appends of each caller's signal, behind one abort listener per signal. */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Pending>>();

  constructor(
    private readonly sink: RowSink,
    private readonly codec: JournalCodec,
    private readonly config: Pick<DurableConfig, 'flushIntervalMs' | 'batchSize' | 'ackTimeoutMs' | 'maxQueuedAppends'>,
    private readonly logger: WriterLogger = { warn: () => undefined },
  ) {}

  get statistics(): WriterStats {
    return { queueDepth: this.queue.length, ...this.stats };
  }

  /** Seals synchronously (so a too-large payload throws here), then queues. */
  /**
   * Be told which executions just got entries committed (views refresh from
   * this instead of polling). Listeners run after the commit; their errors are
   * ignored. Returns an unsubscribe function.
   */
  onCommit(listener: (executionIds: ReadonlySet<string>) => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  appendBuffered(entry: NewEntry): void {
    this.assertOpen();
    const row = this.codec.encode(entry);
    if (this.queue.length - this.acksQueued >= this.config.maxQueuedAppends) {
      this.stats.droppedBuffered++;
      if (!this.warnedBackPressure) {
        this.warnedBackPressure = true;
        this.logger.warn(
          `journal writer: ${this.queue.length} entries queued; buffered appends are being dropped (they re-run on resume). ` +
            'The database is slower than the workload or unavailable.',
        );
      }
      return;
    }
    this.queue.push({ row });
    this.schedule();
  }

  appendAcked(entry: NewEntry, signal?: AbortSignal): Promise<JournalSeq> {
    try {
      this.assertOpen();
      if (signal?.aborted) throw new CancelledError('append cancelled before it was queued');
      const row = this.codec.encode(entry);
      return new Promise<JournalSeq>((resolve, reject) => {
        const pending: Pending = { row, ack: { resolve, reject, deadline: performance.now() + this.config.ackTimeoutMs, signal, settled: false } };
        this.queue.push(pending);
        this.acksQueued++;
        this.wait(pending);
        this.kickSoon();
      });
    } catch (error) {
      return Promise.reject(ensureError(error));
    }
  }

  /** Start the ack timeout of `pending`, and its abort if it has a signal. */
  private wait(pending: Pending): void {
    this.waiting.push(pending);
    if (!this.ackTimer) this.armAckTimer();
    const signal = pending.ack?.signal;
    if (!signal) return;
    let waiters = this.bySignal.get(signal);
    if (!waiters) {
      const mine = new Set<Pending>();
      waiters = mine;
      this.bySignal.set(signal, mine);
      // Abort stops the waiting, not the write: the entry may still commit, which replay handles.
      // The listener stays for the signal's life (one per signal, not per append): the signal
      // belongs to a run, and goes with it.
      signal.addEventListener('abort', () => {
        for (const p of [...mine]) this.settleAck(p, () => p.ack?.reject(new CancelledError('stopped waiting for the journal')));
      }, { once: true });
    }
    waiters.add(pending);
  }

  /** Forget settled appends at the head of `waiting`; the timer stops when none is left. */
  private dropSettled(): void {
    while (this.waitingHead < this.waiting.length && this.waiting[this.waitingHead].ack?.settled) this.waitingHead++;
    if (this.waitingHead === this.waiting.length) {
      this.waiting = [];
      this.waitingHead = 0;
      if (this.ackTimer) clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
    } else if (this.waitingHead > 1_024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  /** Arm the one ack timer for the oldest unsettled append, if any. */
  private armAckTimer(): void {
    this.dropSettled();
    const oldest = this.waiting[this.waitingHead]?.ack;
    if (!oldest) return;
    this.ackTimer = setTimeout(() => this.onAckTimer(), Math.max(0, oldest.deadline - performance.now()));
  }

  private onAckTimer(): void {
    this.ackTimer = undefined;
    const now = performance.now();
    for (; this.waitingHead < this.waiting.length; this.waitingHead++) {
      const pending = this.waiting[this.waitingHead];
      const ack = pending.ack;
      if (!ack || ack.settled) continue;
      if (ack.deadline > now) break;
      this.stats.ackTimeouts++;
      // Still queued means no transaction has it: withdraw it, so it can never commit after the
      // caller was told it did not (an intent that commits late would look like a crash window).
      const withdrawn = this.withdraw(pending);
      const error = new JournalUnavailableError(
        `${describeRow(pending.row)}: the journal did not confirm the write within ${this.config.ackTimeoutMs} ms ` +
          `(database busy or unavailable); ${withdrawn ? 'it was not written' : 'it may still be written'}`,
      );
      this.settleAck(pending, () => ack.reject(error), !withdrawn);
    }
    this.armAckTimer();
  }

  /** Resolves when everything queued before the call is committed (or failed). */
  flush(): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  /**
   * Commit what is queued (waiting at most the ack timeout), then refuse further
   * appends. What could not be committed in time is dropped with a warning: it is
   * re-run on resume. Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) {
      await this.flushing;
      return;
    }
    this.backoffMs = 0;
    let timeout: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timeout = setTimeout(resolve, this.config.ackTimeoutMs)))]);
    clearTimeout(timeout);
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    // A commit still in flight (a stuck database) is not awaited: it settles its own entries if it ever returns.
    const left = this.queue;
    this.queue = [];
    for (const pending of left) {
      if (pending.ack) this.settleAck(pending, () => pending.ack?.reject(new JournalUnavailableError('the journal writer closed before this entry was committed')));
      else this.stats.droppedBuffered++;
    }
    if (left.length > 0) this.logger.warn(`journal writer: closed with ${left.length} uncommitted entries (they re-run on resume)`);
    // The ack timer stays only for a commit still in flight, whose waits can still time out.
    this.dropSettled();
    this.idleWaiters.splice(0).forEach((w) => w());
  }

  /** Take an acknowledged entry out of the queue if no flush has taken it yet. */
  private withdraw(pending: Pending): boolean {
    const index = this.queue.indexOf(pending);
    if (index < 0) return false;
    this.queue.splice(index, 1);
    this.acksQueued--;
    return true;
  }

  private assertOpen(): void {
    if (this.closed) throw new JournalUnavailableError('the journal writer is closed (the extension is shutting down)');
  }

  private schedule(): void {
    if (this.queue.length >= this.config.batchSize) this.kick();
    else if (!this.timer && !this.flushing) this.timer = setTimeout(() => this.onInterval(), this.config.flushIntervalMs);
  }

  private onInterval(): void {
    this.timer = undefined;
    this.dueCount = this.queue.length;
    this.kick();
  }

  /**
   * Flush soon, not at once: concurrent callers (a parallel batch of guarded
   * steps) append within the same turn and share one transaction. A lone
   * caller (the last commit carried one acknowledged entry) waits only for the
   * microtasks already queued; once callers were seen committing together, the
   * flush waits for the end of this event-loop turn, so the whole batch joins.
   */
  private kickSoon(): void {
    if (this.soonQueued || this.flushing) return;
    this.soonQueued = true;
    const go = (): void => {
      this.soonQueued = false;
      if (!this.closed) this.kick();
    };
    if (this.lastAcksPerCommit > 1) setImmediate(go);
    else queueMicrotask(go);
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.flushing) return; // the running loop picks up what was queued meanwhile
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) {
        if (this.backoffMs > 0) this.timer = setTimeout(() => this.onInterval(), this.backoffMs);
        else this.schedule();
      } else {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        waiters.forEach((w) => w());
      }
    });
  }

  private async flushLoop(): Promise<void> {
    // Keep committing while entries are due, a batch is full, or an ack or flush() waiter waits;
    // otherwise let the interval gather more into the next transaction.
    while (
      this.queue.length > 0 &&
      (this.dueCount > 0 || this.queue.length >= this.config.batchSize || this.acksQueued > 0 || this.idleWaiters.length > 0)
    ) {
      // A deep queue (a burst) commits in fewer, larger transactions: each commit is an fsync.
      const batch = this.queue.splice(0, this.config.batchSize * TRANSACTION_BATCHES);
      this.dueCount = Math.max(0, this.dueCount - batch.length);
      const ok = await this.commit(batch);
      if (!ok) return; // transient failure: batch was put back, retry after backoff
    }
    this.dueCount = 0;
  }

  /** Commit one batch. Returns false when it was requeued for a retry. */
  private async commit(batch: Pending[]): Promise<boolean> {
    try {
      const seqs = await this.sink.appendRows(batch.map((p) => p.row));
      this.stats.flushes++;
      this.stats.committed += batch.length;
      this.backoffMs = 0;
      this.warnedBackPressure = false;
      let acks = 0;
      batch.forEach((p, i) => {
        if (p.ack) acks++;
        this.settleAck(p, () => p.ack?.resolve(seqs[i]));
      });
      this.lastAcksPerCommit = acks;
      if (acks > 0) this.dropSettled();
      if (this.commitListeners.size > 0) {
        const ids = new Set(batch.map((p) => p.row.executionId));
        for (const listener of this.commitListeners) {
          try {
            listener(ids);
          } catch {
            // A view's listener must not break the journal.
          }
        }
      }
      return true;
    } catch (raw) {
      this.stats.flushFailures++;
      const error = ensureError(raw);
      if (isPassingStorageFailure(error) && !this.closed) {
        this.queue = batch.concat(this.queue);
        this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(this.config.flushIntervalMs, this.backoffMs * 2 || 25));
        const what = (error as StorageError).reason === 'locked' ? 'database locked' : 'database unreachable';
        // The first retry of a streak says why in full (the advice); later ones only that it goes on.
        const why = this.backoffMs <= Math.max(this.config.flushIntervalMs, 25) ? ` (${error.message})` : '';
        this.logger.warn(`journal writer: ${what}, retrying ${batch.length} entries in ${this.backoffMs} ms${why}`);
        return false;
      }
      if (batch.length > 1) {
        // Isolate the offending row(s): commit the rest one by one.
        for (const pending of batch) await this.commit([pending]);
        return true;
      }
      const [only] = batch;
      const wrapped = isDurableError(error)
        ? new JournalUnavailableError(`${describeRow(only.row)}: ${error.message}`, { cause: error })
        : new JournalUnavailableError(`${describeRow(only.row)}: the journal rejected the entry: ${error.message}`, { cause: error });
      if (only.ack) this.settleAck(only, () => only.ack?.reject(wrapped));
      else {
        this.stats.droppedBuffered++;
        this.logger.warn(`journal writer: dropped a buffered entry: ${wrapped.message}`);
      }
      return true;
    }
  }

  /**
   * Settle an acknowledged append once: later settlements (a commit after its
   * timeout, an abort after its commit) do nothing. `queued` says whether it
   * still counts among the queued acks (a withdrawn one no longer does).
   */
  private settleAck(pending: Pending, fn: () => void, queued = true): void {
    const ack = pending.ack;
    if (!ack || ack.settled) return;
    ack.settled = true;
    if (queued) this.acksQueued--;
    if (ack.signal) this.bySignal.get(ack.signal)?.delete(pending);
    fn();
  }
}
