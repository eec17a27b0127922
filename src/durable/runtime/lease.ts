/**
 * One owner per execution: a lease row taken atomically,
 * renewed by a heartbeat at a third of its length. If a renewal finds the lease
 * gone (another process took it over after it expired), or renewals keep failing
 * until it would have expired, `onLost` fires and the owner must stop at once.
 */
import { CancelledError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { JournalStore, LeaseFence } from '../store/journalStore';

const LOCAL_TRUST_MARGIN_MS = 500;

/** 'taken': another owner holds it now. 'unrenewable': the database did not answer renewals for a whole lease. */
export type LeaseLoss = 'taken' | 'unrenewable';

export class LeaseKeeper {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastRenewed: number;
  private released = false;

  private constructor(
    private readonly backend: JournalStore,
    readonly executionId: ExecutionId,
    readonly owner: string,
    private readonly leaseMs: number,
    private readonly clock: () => number,
    private readonly onLost: (why: LeaseLoss) => void,
    renewedAt: number,
    /** The epoch this run was granted: every write of the run carries it (see LeaseFence). */
    readonly epoch: number,
  ) {
    this.lastRenewed = renewedAt;
  }

  get fence(): LeaseFence {
    return { owner: this.owner, epoch: this.epoch };
  }

  /** Take the lease, or undefined if a live owner holds it. */
  static async acquire(
    backend: JournalStore,
    executionId: ExecutionId,
    owner: string,
    leaseMs: number,
    clock: () => number,
    onLost: (why: LeaseLoss) => void,
  ): Promise<LeaseKeeper | undefined> {
    // Times are taken before the database call: the stored expiry is at least this plus leaseMs.
    const askedAt = clock();
    const epoch = await backend.acquireLease(executionId, owner, leaseMs);
    if (epoch === undefined) return undefined;
    return LeaseKeeper.adopt(backend, executionId, owner, leaseMs, clock, onLost, askedAt, epoch);
  }

  /**
   * Keep a lease taken some other way (an execution created with its lease,
   * see NewExecution.lease). `askedAt` is the time read before that write.
   */
  static adopt(
    backend: JournalStore,
    executionId: ExecutionId,
    owner: string,
    leaseMs: number,
    clock: () => number,
    onLost: (why: LeaseLoss) => void,
    askedAt: number,
    epoch: number,
  ): LeaseKeeper {
    const keeper = new LeaseKeeper(backend, executionId, owner, leaseMs, clock, onLost, askedAt, epoch);
    // Not unref'd: while an execution runs, its heartbeat is live work of this process.
    keeper.timer = setInterval(() => void keeper.renew(), Math.max(100, Math.floor(leaseMs / 3)));
    return keeper;
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    const askedAt = this.clock();
    try {
      if (await this.backend.renewLease(this.executionId, this.owner, this.leaseMs)) {
        this.lastRenewed = askedAt;
        return;
      }
      this.lose('taken');
    } catch {
      // A locked or unreachable database delays a renewal; only a lease that would have expired is lost.
      if (this.clock() - this.lastRenewed >= this.leaseMs) this.lose('unrenewable');
    }
  }

  private lose(why: LeaseLoss): void {
    if (this.released) return;
    this.stop();
    this.onLost(why);
  }

  private stop(): void {
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Fencing check before an effect: still ours and not expired by our own
   * clock? A process that was frozen past its lease (SIGSTOP, a sleeping
   * laptop) learns here, before acting, that another owner may have taken over.
   * Throws CancelledError (after `onLost`) when the lease is gone.
   */
  async check(): Promise<void> {
    if (this.released) throw new CancelledError('the lease was released');
    // Our last successful renewal set the expiry: nobody can take over before it. Keep a
    // safety margin for clock skew between processes; past it, ask the database.
    if (this.clock() < this.lastRenewed + this.leaseMs - LOCAL_TRUST_MARGIN_MS) return;
    const row = await this.backend.getExecution(this.executionId);
    if (!row || row.leaseOwner !== this.owner || row.leaseEpoch !== this.epoch || (row.leaseExpiresAt ?? 0) <= this.clock()) {
      this.lose('taken');
      throw new CancelledError(`execution ${this.executionId}: the lease was lost to another owner`);
    }
  }

  /**
   * The lease was cleared by a write fenced with it (finalizing clears it):
   * stop the heartbeat, which would otherwise find the lease gone and report
   * it lost, and skip the release.
   */
  cleared(): void {
    this.stop();
  }

  /** Stop the heartbeat and give the lease up. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.stop();
    await this.backend.releaseLease(this.executionId, this.owner).catch(() => undefined);
  }
}
