/**
 * The launch gate of one runtime: every path that runs an execution (start,
 * resume, recovery, a timer wake, a promise settlement, a person's decision,
 * a cancel of one not running here) claims it synchronously first, so two
 * triggers in the same tick can never both launch it. A second claim gets
 * AlreadyRunningError and changes nothing.
 */
import { AlreadyRunningError } from '../model/errors';
import type { ExecutionId } from '../model/ids';

export class LaunchGate {
  private readonly claimed = new Set<ExecutionId>();
  /** Launches in flight (claimed, not yet running), for a cancel to wait on. */
  private readonly launches = new Map<ExecutionId, Promise<unknown>>();

  /** Claimed: launching, running, or being decided or cancelled here. */
  has(id: ExecutionId): boolean {
    return this.claimed.has(id);
  }

  /** Take the gate for `id` synchronously; AlreadyRunningError when it is taken. */
  claim(id: ExecutionId): void {
    if (this.claimed.has(id)) throw new AlreadyRunningError(id);
    this.claimed.add(id);
  }

  release(id: ExecutionId): void {
    this.claimed.delete(id);
  }

  /** Run the launch of a claimed execution; a launch that fails gives the claim back. */
  async launching<T>(id: ExecutionId, body: () => Promise<T>): Promise<T> {
    const launch = body();
    this.launches.set(id, launch);
    try {
      return await launch;
    } catch (error) {
      this.claimed.delete(id);
      throw error;
    } finally {
      this.launches.delete(id);
    }
  }

  /** Settles when a launch of `id` in flight has become a run or failed (at once when there is none). */
  async settled(id: ExecutionId): Promise<void> {
    await this.launches.get(id)?.catch(() => undefined);
  }
}
