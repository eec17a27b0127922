/**
 * The durable runtime: starts, resumes, cancels and recovers executions of
 * registered workflow kinds on one engine.
 *
 * - One launch gate per execution: every path that runs an execution (start,
 *   resume, recovery, a timer or promise wake, a person's decision) claims it
 *   synchronously first; a second claim while one is launching or running gets
 *   AlreadyRunningError and changes nothing.
 * - One owner per execution: each run takes a lease of its own (not the
 *   window's) before anything runs and keeps it by a heartbeat; a run whose
 *   lease is lost stops at once without writing.
 * - Fail closed: a journal that cannot confirm a guarded write, or a journal
 *   that fails to authenticate on replay, suspends the execution with a reason
 *   ("journal unavailable: …", "damaged: …"); it stays resumable and nothing
 *   guarded runs without its committed intent.
 * - A divergence aborts the attempt, waits for its in-flight steps, and starts a
 *   new attempt with replay off; committed guarded effects are found by key.
 * - Cancellation reaches every running op through its AbortSignal; a cancelled
 *   execution is terminal and never resumed.
 * - Shutting down (dispose) interrupts runs without finalizing them: they stay
 *   `running` and the recovery plan resumes them next time.
 */
import { driveAttempts, type DriveDeps } from './attempts';
import { RunOutcomes, detailOf } from './runOutcomes';
import { openWindow, promiseTokenOf, recordedInput, recordedOutcome } from './journalReads';
import { DECISIONS, type ActiveRun, type ExecutionHandle, type ExecutionOutcome, type HumanDecision, type RuntimeEvent, type RuntimeLogger, type RuntimeOptions } from './runtimeTypes';
import { WakeTimers } from './wakeTimers';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { utf8 } from '../model/bytes';
import type { DurableEngine } from './engine';
import {
  AlreadyCompletedError,
  AlreadyRunningError,
  CancelledError,
  InvalidStateError,
  LeaseHeldError,
  NotFoundError,
  ensureError,
  toErrorData,
} from '../model/errors';
import { newExecutionId, type ExecutionId } from '../model/ids';
import type { ExecutionRecord, JournalRecord, NewEntry } from '../model/journal';
import { LaunchGate } from './launchGate';
import { LeaseKeeper, type LeaseLoss } from './lease';
import { DAMAGED_DETAIL, describeDecision, planExecution, planRecovery, type PlanDeps, type RecoveryItem } from './recovery';
import { FIRST_LEASE_EPOCH, type ExecutionFilter } from '../store/journalStore';
import { encodeValue, type FinishRecord } from '../execution/stepValue';
import type { WorkflowDefinition } from '../execution/workflow';
import { PROMISE_VALUE_LABEL, tokenHash, type PromiseSettlement } from '../execution/waits';
import { cutTitle } from '../execution/workflow';
import { verifyJournalMark, type VerifiedJournals } from '../journal/journalMark';
import { UNTRUSTED_IMPORT_DETAIL } from '../journal/exportArtifact';

export type { ExecutionHandle, ExecutionOutcome, HumanDecision, RuntimeEvent, RuntimeLogger, RuntimeOptions };

export class DurableRuntime {
  private readonly active = new Map<ExecutionId, ActiveRun>();
  private readonly gate = new LaunchGate();
  private readonly verifiedJournals: VerifiedJournals = new Map();
  private readonly listeners = new Set<(event: RuntimeEvent) => void>();
  private readonly timers: WakeTimers;
  private readonly outcomes: RunOutcomes;
  private readonly clock: () => number;
  private readonly logger: RuntimeLogger;
  private readonly drainTimeoutMs: number;
  private disposed = false;

  constructor(private readonly options: RuntimeOptions) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? { info: () => undefined, warn: () => undefined };
    this.drainTimeoutMs = options.drainTimeoutMs ?? 5_000;
    this.outcomes = new RunOutcomes({ engine: () => this.engine, clock: this.clock, warn: (m) => this.logger.warn(m) });
    this.timers = new WakeTimers({ store: () => this.engine.backend, clock: this.clock, warn: (m) => this.logger.warn(m), wake: (id) => this.wake(id) });
  }

  private get engine(): DurableEngine {
    return this.options.engine;
  }

  /** Subscribe to runtime events; returns the unsubscribe function. */
  onEvent(listener: (event: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Launching or running in this runtime (Resume buttons are disabled meanwhile). */
  isActive(id: ExecutionId): boolean {
    return this.gate.has(id);
  }

  get(id: ExecutionId): Promise<ExecutionRecord | undefined> {
    return this.engine.backend.getExecution(id);
  }

  list(filter?: ExecutionFilter): Promise<ExecutionRecord[]> {
    return this.engine.backend.listExecutions(filter);
  }

  /** Start a new execution of a registered kind; its input is journaled with its creation. */
  async start<I>(kind: string, input: I, options: { title?: string } = {}): Promise<ExecutionHandle> {
    this.assertLive();
    const definition = this.options.registry.get(kind) as WorkflowDefinition<I> | undefined;
    if (!definition) throw new NotFoundError(`no workflow of kind "${kind}" is registered`);
    const id = newExecutionId();
    const title = cutTitle(options.title ?? definition.title?.(input) ?? kind);
    this.gate.claim(id);
    return this.gate.launching(id, async () => {
      const started = this.engine.codec.encode({
        executionId: id, attempt: 1, stepId: null, stepName: null, effect: null, idempotencyKey: null,
        kind: 'execution_started', payload: encodeValue(input, `execution ${id} input`),
      });
      // Created with the run's lease: no window can claim it before this run starts.
      const owner = this.runOwner();
      const askedAt = this.clock();
      const leaseMs = this.engine.config.leaseMs;
      await this.engine.backend.createExecution({ id, kind, version: definition.version, title, lease: { owner, leaseMs } }, [started]);
      return this.launch(id, definition as WorkflowDefinition, input, 1, false, { owner, askedAt });
    });
  }

  /**
   * Resume a non-cancelled, unfinished execution from its journal (replay, then
   * live). Claims the execution in the same tick as the call: a second resume
   * (or wake, or decision) before this one ends gets AlreadyRunningError.
   */
  async resume(id: ExecutionId): Promise<ExecutionHandle> {
    this.assertLive();
    this.gate.claim(id);
    return this.gate.launching(id, () => this.resumeClaimed(id));
  }

  /** Cancel: running ops are aborted; the execution becomes terminal. Returns false if it was already terminal. */
  async cancel(id: ExecutionId): Promise<boolean> {
    // A launch in flight either becomes a run (cancelled below) or fails (nothing to cancel there).
    await this.gate.settled(id);
    const running = this.active.get(id);
    if (running) {
      running.stopReason = 'cancel';
      running.controller.abort(new CancelledError(`execution ${id} was cancelled`));
      return (await running.done).status === 'cancelled';
    }
    // Not running here: hold the gate (nothing launches here meanwhile) and the lease (nor elsewhere).
    this.gate.claim(id);
    const owner = `${this.options.ownerId}#cancel-${randomUUID().slice(0, 8)}`;
    let leased = false;
    try {
      const execution = await this.engine.backend.getExecution(id);
      if (!execution) throw new NotFoundError(`execution ${id} does not exist`);
      if (execution.status !== 'running' && execution.status !== 'suspended') return false;
      const epoch = await this.engine.backend.acquireLease(id, owner, this.engine.config.leaseMs);
      leased = epoch !== undefined;
      if (epoch === undefined) {
        const held = await this.engine.backend.getExecution(id);
        throw new LeaseHeldError(id, held?.leaseOwner ?? 'another window', held?.leaseExpiresAt ?? 0);
      }
      // Read again under the lease: a run elsewhere may have finished between the first read and now.
      const current = await this.engine.backend.getExecution(id);
      if (!current || (current.status !== 'running' && current.status !== 'suspended')) return false;
      await this.outcomes.finish(current.id, current.attempt, { status: 'cancelled', error: toErrorData(new CancelledError('cancelled by the user')) }, { owner, epoch });
      leased = false; // finalizing cleared the lease
      this.emit({ type: 'execution', executionId: id, status: 'cancelled' });
      return true;
    } finally {
      if (leased) await this.engine.backend.releaseLease(id, owner).catch((e) => this.logger.warn(`execution ${id}: ${ensureError(e).message}`));
      this.gate.release(id);
    }
  }

  /** The recovery plan for every running or suspended execution (nothing is changed). */
  plan(ids?: readonly ExecutionId[]): Promise<RecoveryItem[]> {
    return planRecovery(this.planDeps(), ids);
  }

  /**
   * Act on a plan: finalize what has a recorded outcome, resume what
   * `shouldResume` accepts (the caller says whose consent that is: no default), retry executions
   * owned elsewhere once their lease expires.
   */
  async applyPlan(items: readonly RecoveryItem[], shouldResume: (item: RecoveryItem) => boolean): Promise<ExecutionHandle[]> {
    const handles: ExecutionHandle[] = [];
    // Timers that came due while nothing ran fire now; later ones at their time.
    this.timers.schedule();
    for (const item of items) {
      const { decision, execution } = item;
      this.logger.info(`recovery: ${describeDecision(item)}`);
      try {
        switch (decision.action) {
          case 'reuse':
          case 'preserve': {
            const status = decision.outcome.status;
            await this.engine.backend.finalize(execution.id, status, status === 'completed' ? null : detailOf(decision.outcome));
            this.emit({ type: 'execution', executionId: execution.id, status });
            break;
          }
          case 'resume':
          case 're_execute':
            if (this.gate.has(execution.id)) this.logger.info(`recovery: ${execution.id} is already running here`);
            else if (shouldResume(item)) handles.push(await this.resume(execution.id));
            break;
          case 'owned_elsewhere':
            this.retryAfter(execution.id, decision.until - this.clock() + 250, shouldResume);
            break;
          case 'damaged':
            // Record it, so the tree's Needs attention shows it and nothing wakes it.
            if (!this.gate.has(execution.id) && !execution.statusDetail?.startsWith(DAMAGED_DETAIL)) {
              await this.engine.backend.markDamaged(execution.id, `${DAMAGED_DETAIL}${decision.reason}`.slice(0, 500));
              this.emit({ type: 'execution', executionId: execution.id, status: 'suspended' });
            }
            break;
          default:
            break;
        }
      } catch (error) {
        if (error instanceof AlreadyRunningError) this.logger.info(`recovery: ${execution.id} is already running here`);
        else this.logger.warn(`recovery of ${execution.id} failed: ${ensureError(error).message}`);
      }
    }
    return handles;
  }

  /** Record a person's decision on an ambiguous window, then resume the execution. */
  async resolveAmbiguity(id: ExecutionId, stepId: number, decision: HumanDecision, decidedBy: string): Promise<ExecutionHandle | undefined> {
    this.assertLive();
    if (!(decision in DECISIONS)) throw new InvalidStateError(`unknown decision ${JSON.stringify(decision)}`);
    // Claimed before anything is read: a decision and a resume of the same execution never interleave.
    this.gate.claim(id);
    let resuming = false;
    try {
      const execution = await this.engine.backend.getExecution(id);
      if (!execution) throw new NotFoundError(`execution ${id} does not exist`);
      await this.recordDecision(execution, stepId, decision, decidedBy);
      if (execution.status === 'cancelled' || this.options.registry.incompatibility(execution.kind, execution.version)) return undefined;
      resuming = true;
      return await this.gate.launching(id, () => this.resumeClaimed(id));
    } finally {
      if (!resuming) this.gate.release(id);
    }
  }

  /** Write the audit record of a person's decision on an open window (refused when there is none, or it was decided). */
  private async recordDecision(execution: ExecutionRecord, stepId: number, decision: HumanDecision, decidedBy: string): Promise<void> {
    const id = execution.id;
    const window = await openWindow(this.engine, execution, stepId);
    if (!window) throw new InvalidStateError(`execution ${id} has no open ambiguous window at step ${stepId}`);
    if (window.audit) throw new InvalidStateError(`step ${stepId} of execution ${id} was already decided`);
    const intentMeta = this.engine.codec.readMeta(window.intent as JournalRecord & { kind: 'step_intent' });
    const header = window.intent;
    const entry: NewEntry = {
      executionId: id, attempt: header.attempt, stepId: header.stepId as never, stepName: header.stepName, effect: header.effect,
      idempotencyKey: header.idempotencyKey as never, kind: 'ambiguity_resolved',
      meta: { intent: intentMeta.intent, policy: intentMeta.policy, decision: DECISIONS[decision], decidedBy: `user:${decidedBy}`, decidedAt: this.clock() },
    };
    await this.engine.writer.appendAcked(entry);
    this.emit({ type: 'ambiguity', executionId: id, stepId, name: header.stepName ?? '', policy: intentMeta.policy, decision: DECISIONS[decision] });
  }

  /**
   * Settle a durable promise from outside (a person's approval, a command). The
   * token's hash is compared in constant time before anything else is looked at;
   * a wrong token changes nothing. A promise settles once: later calls report
   * `already_settled`. The waiting execution wakes at once.
   */
  async resolvePromise(promiseId: string, token: Uint8Array, settlement: PromiseSettlement): Promise<'settled' | 'already_settled'> {
    this.assertLive();
    const row = await this.engine.backend.getPromise(promiseId);
    const presented = tokenHash(token instanceof Uint8Array ? token : new Uint8Array(0));
    // Compare against a dummy hash when the promise does not exist, so timing reveals nothing.
    const expected = row?.tokenHash ?? new Uint8Array(32);
    if (!(token instanceof Uint8Array) || token.length !== 32 || !timingSafeEqual(presented, expected) || !row) {
      throw new InvalidStateError(`promise ${String(promiseId).slice(0, 40)}: the resolver token is not valid for it`);
    }
    if (row.status !== 'pending') return 'already_settled';
    const sealed = this.engine.codec.sealDetached(PROMISE_VALUE_LABEL, row.id, utf8(JSON.stringify(settlement)));
    if (!(await this.engine.backend.settlePromise(row.id, settlement.status, sealed))) return 'already_settled';
    this.emit({ type: 'promise', executionId: row.executionId, promiseId: row.id, status: settlement.status });
    // The settlement is committed: that is the answer, whatever happens to the wake (it retries itself).
    await this.wake(row.executionId);
    return 'settled';
  }

  /**
   * The resolver token of a pending promise, read from its sealed creation step:
   * for the extension's own approval UI after a reload. Never hand it to a model.
   */
  async promiseToken(promiseId: string): Promise<Uint8Array> {
    return promiseTokenOf(this.engine, promiseId);
  }

  /**
   * The recorded outcome of an execution (its last `execution_finished` entry,
   * authenticated), without replaying anything; undefined while it has none.
   */
  async outcome(id: ExecutionId): Promise<FinishRecord | undefined> {
    return recordedOutcome(this.engine, id);
  }

  /** Start waking executions whose timers come due (call once the runtime is set up). */
  startTimers(): void {
    this.timers.schedule();
  }

  /**
   * Resume a parked execution now (its wait may be over), unless it runs here
   * already. Never throws: a storage error is logged and the wake retried.
   */
  private async wake(id: ExecutionId): Promise<void> {
    if (this.disposed || this.gate.has(id)) return;
    try {
      const execution = await this.engine.backend.getExecution(id);
      if (!execution || execution.status !== 'suspended' || execution.statusDetail?.startsWith(DAMAGED_DETAIL)) return;
      if (this.options.registry.incompatibility(execution.kind, execution.version)) return;
      await this.resume(id);
    } catch (error) {
      if (error instanceof AlreadyRunningError || this.disposed) return;
      this.logger.warn(`could not wake execution ${id}: ${ensureError(error).message}; retrying`);
      this.timers.retryLater(() => this.wake(id));
    }
  }

  /** Interrupt every run (they stay resumable), stop retries. Does not close the engine. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.timers.dispose();
    const runs = [...this.active.values()];
    for (const run of runs) {
      run.stopReason ??= 'shutdown';
      run.controller.abort(new CancelledError('shutting down', { stopping: true }));
    }
    await Promise.race([Promise.allSettled(runs.map((r) => r.done)), new Promise((r) => setTimeout(r, this.drainTimeoutMs).unref?.())]);
    this.listeners.clear();
  }

  // ---- internals ---------------------------------------------------------------------------

  private driveDeps(): DriveDeps {
    return {
      engine: this.engine,
      clock: this.clock,
      logger: this.logger,
      drainTimeoutMs: this.drainTimeoutMs,
      outcomes: this.outcomes,
      machine: this.options.machine,
      emit: (event) => this.emit(event),
      scheduleWake: () => this.timers.schedule(),
    };
  }

  private planDeps(): PlanDeps {
    return {
      backend: this.engine.backend,
      codec: this.engine.codec,
      registry: this.options.registry,
      ownerId: this.options.ownerId,
      clock: this.clock,
      segmentSize: this.engine.config.replaySegmentSize,
      verified: this.verifiedJournals,
    };
  }

  private assertLive(): void {
    if (this.disposed) throw new InvalidStateError('the durable runtime is shutting down');
  }

  private emit(event: RuntimeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn(`runtime event listener failed: ${ensureError(error).message}`);
      }
    }
  }

  private retryAfter(id: ExecutionId, delayMs: number, shouldResume: (item: RecoveryItem) => boolean): void {
    this.timers.after(delayMs, async () => {
      if (this.gate.has(id)) return;
      try {
        const execution = await this.engine.backend.getExecution(id);
        if (execution) await this.applyPlan([await planExecution(this.planDeps(), execution)], shouldResume);
      } catch (error) {
        this.logger.warn(`recovery of ${id} after its lease expired failed: ${ensureError(error).message}`);
      }
    });
  }

  private async resumeClaimed(id: ExecutionId): Promise<ExecutionHandle> {
    this.assertLive();
    const execution = await this.engine.backend.getExecution(id);
    if (!execution) throw new NotFoundError(`execution ${id} does not exist`);
    if (execution.status === 'cancelled') throw new InvalidStateError(`execution ${id} was cancelled; cancelled executions are never resumed`);
    if (execution.status === 'completed') throw new AlreadyCompletedError(id);
    if (execution.statusDetail === UNTRUSTED_IMPORT_DETAIL) throw new InvalidStateError(`execution ${id} was imported as untrusted read-only history; it never resumes`);
    const reason = this.options.registry.incompatibility(execution.kind, execution.version);
    if (reason) throw new InvalidStateError(`execution ${id} cannot be resumed: ${reason}`);
    const definition = this.options.registry.get(execution.kind) as WorkflowDefinition;
    await this.checkJournal(execution);
    const input = await recordedInput(this.engine, execution);
    return this.launch(id, definition, input, execution.attempt, true);
  }

  /** Authenticate the journal's completeness before replaying it (see journalMark.ts). */
  private async checkJournal(execution: ExecutionRecord): Promise<void> {
    await verifyJournalMark(this.engine.backend, this.engine.codec, execution, { journals: this.verifiedJournals, mode: 'take' });
  }

  /** The lease belongs to a run, not to the window: a second run of the same window is a stranger to it. */
  private runOwner(): string {
    return `${this.options.ownerId}#${randomUUID().slice(0, 8)}`;
  }

  /**
   * Run an execution under a lease: the one it was created with (`created`: it is running and
   * nobody else has held it), or one claimed here, after which its status is checked and reopened.
   */
  private async launch(
    id: ExecutionId,
    definition: WorkflowDefinition,
    input: unknown,
    attempt: number,
    replay: boolean,
    created?: { owner: string; askedAt: number },
  ): Promise<ExecutionHandle> {
    const controller = new AbortController();
    const run: ActiveRun = { controller, done: Promise.resolve({ status: 'interrupted', reason: 'not started' }) };
    const onLost = (why: LeaseLoss): void => {
      run.stopReason = 'lease_lost';
      run.stopDetail = why === 'taken' ? 'another window took over' : 'the journal\'s database did not answer for longer than the lease; stopped without writing, resumable';
      controller.abort(new CancelledError('the lease was lost', { stopping: true }));
      this.logger.warn(`execution ${id}: ${why === 'taken' ? 'lease lost to another owner' : 'the lease could not be renewed (database unreachable)'}; stopped without writing`);
    };
    const leaseMs = this.engine.config.leaseMs;
    let lease: LeaseKeeper | undefined;
    if (created) {
      lease = LeaseKeeper.adopt(this.engine.backend, id, created.owner, leaseMs, this.clock, onLost, created.askedAt, FIRST_LEASE_EPOCH);
    } else {
      lease = await LeaseKeeper.acquire(this.engine.backend, id, this.runOwner(), leaseMs, this.clock, onLost);
      if (!lease) {
        const execution = await this.engine.backend.getExecution(id);
        throw new LeaseHeldError(id, execution?.leaseOwner ?? 'another window', execution?.leaseExpiresAt ?? 0);
      }
      try {
        // Under the lease: an execution cancelled or finished since it was read (another window) stays so.
        if (!(await this.engine.backend.reopen(id))) {
          const now = await this.engine.backend.getExecution(id);
          throw now?.status === 'completed' ? new AlreadyCompletedError(id) : new InvalidStateError(`execution ${id} is ${now?.status ?? 'gone'}; it was not resumed`);
        }
      } catch (error) {
        await lease.release();
        throw error;
      }
    }
    this.active.set(id, run);
    this.emit({ type: 'execution', executionId: id, status: 'running' });
    run.done = driveAttempts(this.driveDeps(), id, definition, input, attempt, replay, run, lease)
      .catch((error): ExecutionOutcome => ({ status: 'interrupted', reason: ensureError(error).message }))
      .then(async (outcome) => {
        if (run.stopReason !== 'lease_lost') {
          // Still the owner: seal what this run wrote into the completeness mark, unless the
          // journal failed to authenticate (a mark must never bless damage).
          if (!(outcome.status === 'suspended' && outcome.reason.startsWith(DAMAGED_DETAIL))) await this.outcomes.mark(id);
          await lease.release();
        }
        this.active.delete(id);
        this.gate.release(id);
        this.emit({ type: 'execution', executionId: id, status: outcome.status });
        return outcome;
      });
    return { id, done: run.done };
  }

}

