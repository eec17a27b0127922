/**
 * The step context a workflow runs with.
 *
 * `ctx.step(descriptor, op)` is the only way a workflow touches the world.
 * Failure semantics, point by point:
 *
 * 1. Ids are call order. The Nth `step()` call gets step id N, assigned
 *    synchronously at the call, whatever order steps complete in. `parallel()`
 *    reserves a contiguous block before any child runs.
 *      `const [a, b] = await ctx.parallel([{ descriptor: A, op: fa }, { descriptor: B, op: fb }]);`
 * 2. Replay never calls `op` for a step with a recorded result: the recorded
 *    value is returned (opened lazily, only for that step). A recorded final
 *    failure is rethrown, rebuilt from its error code.
 * 3. Divergence: if the journal recorded a different idempotency key for this
 *    step id (another name, effect or fingerprint), the step throws
 *    DivergenceError; the runtime aborts the attempt and restarts it fresh.
 * 4. Guarded (`exactly_once`) steps: before `op` runs, a committed result with
 *    the same idempotency key in any attempt of the execution is reused (so a
 *    restart after a divergence never fires a committed effect again); then the
 *    intent is committed and acknowledged; after `op`, the result.
 *      `await ctx.step({ name: 'writeFile', effect: 'exactly_once', intent: 'destructive',
 *                        policy: 'verify', fingerprint: path, probe }, (h) => write(path, text, h.signal));`
 * 5. Ambiguous window (intent without result after a crash): the declared
 *    policy decides, and every decision leaves one `ambiguity_resolved` audit
 *    record: `fail` throws AmbiguousEffectError; `rerun` commits a fresh intent
 *    and runs `op` again with the same idempotency key (pass it to the remote
 *    side so it can deduplicate); `skip` returns a `Skipped` outcome the caller
 *    must handle; `verify` runs `probe` and records its value or reruns (a
 *    probe that cannot tell answers `unknown`: the declared `fallback`
 *    settles it, `ask` by default); `ask` suspends the execution until a
 *    person decides.
 *      `const r = await ctx.step(modelCall, op); if (isSkipped(r)) { ... }`
 * 6. Unguarded steps buffer their result (group commit). If the journal drops
 *    it under back-pressure the step simply re-runs on resume.
 * 7. A throwing `op` is retried when the step declares `retry`; the final
 *    failure is journaled (`step_failed`) and rethrown. Cancellation is not a
 *    failure: nothing is journaled and CancelledError propagates.
 * 8. If the journal cannot acknowledge a guarded write (intent, result, audit,
 *    timer or promise) within its timeout, the step fails closed: its op does
 *    not run, `journalFailure` is set, later steps of the attempt refuse to
 *    start, and the runtime suspends the execution ("journal unavailable").
 *    Unguarded results stay buffered and may be dropped (they re-run).
 * 9. A recorded entry that fails to authenticate or decode on replay sets
 *    `readFailure`: the runtime suspends the execution as damaged (never failed).
 */
import { checkSameStep } from './divergence';
import { intentMeta, WindowResolver } from './ambiguousWindow';
import { randomUUID, webcrypto } from 'node:crypto';
import type { DurableConfig } from '../model/config';
import { resolveEffect, type AmbiguityPolicy, type ResolvedEffect } from '../model/effect';
import {
  CancelledError,
  DeclarationError,
  JournalUnavailableError,
  InvalidStateError,
  StepLimitError,
  fromErrorData,
  isCancellation,
  isDurableError,
  type StorageError,
} from '../model/errors';
import { deriveIdempotencyKey, stepId as toStepId, type ExecutionId, type IdempotencyKey, type StepId } from '../model/ids';
import type { AmbiguityDecision, AuditMeta, EntryHeader, JournalAppender, JournalReader, JournalRecord, NewEntry } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { ReplayCursor } from './replayCursor';
import { decodeFailure, decodeResult, encodeFailure, encodeValue, type Skipped } from './stepValue';
import { abortableDelay } from '../model/abortable';
import { utf8 } from '../model/bytes';
import { awaitPromiseStep, promiseStep, sleepStep, type WaitHost, type WaitStore } from './waits';

export * from './stepTypes';
import {
  type DurableContext,
  type ParallelStep,
  type PromiseHandle,
  type StepDescriptor,
  type StepHandle,
  type StepReturn,
} from './stepTypes';

export interface StepEvents {
  /** A guarded step's intent or result, or an audit record, was acknowledged by the journal. */
  onCommitted?(stepId: number, kind: 'step_intent' | 'step_result' | 'step_failed' | 'ambiguity_resolved', name: string): void;
  /** An ambiguous window was resolved (after its audit record was appended). */
  onAmbiguity?(stepId: number, name: string, policy: AmbiguityPolicy, decision: AmbiguityDecision): void;
  /** A journal write could not be confirmed; the step continued without durability. */
  onDegraded?(stepId: number, name: string, message: string): void;
}

export interface ContextDeps {
  readonly executionId: ExecutionId;
  readonly attempt: number;
  readonly journal: JournalAppender;
  readonly reader: JournalReader;
  readonly codec: JournalCodec;
  /** Undefined when replay is off (a fresh attempt after a divergence, or a new execution). */
  readonly cursor: ReplayCursor | undefined;
  readonly config: Pick<DurableConfig, 'maxStepsPerExecution'>;
  readonly signal: AbortSignal;
  readonly clock: () => number;
  readonly warn: (message: string) => void;
  readonly events?: StepEvents;
  /** Ownership check run right before every guarded operation (the runtime checks its lease). */
  readonly fence?: () => Promise<void>;
  /** Timer and promise rows; without it, sleep and promises are unavailable. */
  readonly waits?: WaitStore;
  readonly maxParkedPromises?: number;
  /** This machine's identity, recorded in intents (a shared journal: see StepHandle.startedHere). */
  readonly machine?: string;
}

/** The fingerprint of a step that declares none (shared: nothing writes into it). */
const NO_FINGERPRINT = new Uint8Array(0);

/** Longest step name, in UTF-16 units (export and import use the same bound). */
export const MAX_STEP_NAME = 1_000;

type Resolved = ResolvedEffect;
type Guarded = Extract<Resolved, { guarded: true }>;

export class StepContext implements DurableContext {
  private nextStepId = 0;
  private degradedWrites = 0;
  private journalError: Error | undefined;
  private readError: Error | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  /** Settles ambiguous windows (ambiguousWindow.ts), with this context's journal and execution. */
  private readonly windows: WindowResolver;

  constructor(private readonly deps: ContextDeps) {
    this.windows = new WindowResolver({
      executionId: deps.executionId,
      machine: deps.machine,
      signal: deps.signal,
      codec: deps.codec,
      audit: (header, resolved, decision, by) => this.audit(header, resolved, decision, by),
      append: (entry) => this.appendDurably(entry),
      execute: (header, descriptor, resolved, op) => this.execute(header, descriptor, resolved, op),
      skipped: (header, reason) => this.skipped(header, reason),
      describe: (header) => this.describe(header),
      handle: (header, tryNumber, timeoutMs) => this.handle(header, tryNumber, timeoutMs),
    });
  }

  get executionId(): ExecutionId {
    return this.deps.executionId;
  }
  get attempt(): number {
    return this.deps.attempt;
  }
  get signal(): AbortSignal {
    return this.deps.signal;
  }
  get isReplaying(): boolean {
    return this.deps.cursor?.replaying ?? false;
  }
  /** Journal writes that were not confirmed in time during this attempt. */
  get degraded(): number {
    return this.degradedWrites;
  }
  /** The journal could not confirm a guarded write: the attempt must stop (the runtime suspends it). */
  get journalFailure(): Error | undefined {
    return this.journalError;
  }
  /** A recorded entry failed to authenticate or decode on replay: the journal is damaged. */
  get readFailure(): Error | undefined {
    return this.readError;
  }
  /** Step ids handed out so far. */
  get stepsIssued(): number {
    return this.nextStepId;
  }

  step<T, const D extends StepDescriptor<T>>(descriptor: D, op: (handle: StepHandle) => Promise<T> | T): Promise<StepReturn<T, D>> {
    let resolved: Resolved;
    let id: number;
    try {
      resolved = this.declare(descriptor);
      id = this.reserve(1);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.track(this.run(id, descriptor, resolved, op)) as Promise<StepReturn<T, D>>;
  }

  parallel<T>(steps: ReadonlyArray<ParallelStep<T>>): Promise<Array<T | Skipped>> {
    let resolved: Resolved[];
    let base: number;
    try {
      // Validate every declaration, then reserve the whole block, before any child runs.
      resolved = steps.map((s) => this.declare(s.descriptor));
      base = this.reserve(steps.length);
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.all(steps.map((s, i) => this.track(this.run(base + i, s.descriptor, resolved[i], s.op))));
  }

  /**
   * Wait until every step this context started has settled, at most `timeoutMs`.
   * The runtime calls it after aborting an attempt, so that an effect an aborted
   * step completed is committed (and found by key) before another attempt runs.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const settled = Promise.allSettled([...this.inFlight]).then(() => true as const);
    try {
      return await Promise.race([settled, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const forget = (): void => {
      this.inFlight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }

  now(): Promise<number> {
    return this.step({ name: 'ctx.now', effect: 'idempotent' }, () => this.deps.clock());
  }

  random(): Promise<number> {
    return this.step({ name: 'ctx.random', effect: 'idempotent' }, () => webcrypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32);
  }

  uuid(): Promise<string> {
    return this.step({ name: 'ctx.uuid', effect: 'idempotent' }, () => randomUUID());
  }

  sleep(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) return Promise.reject(new DeclarationError(`ctx.sleep needs a non-negative number of ms, got ${ms}`));
    return this.waitStep((host, id) => sleepStep(host, id, this.deps.clock() + ms));
  }

  sleepUntil(when: Date | number): Promise<void> {
    const dueAt = typeof when === 'number' ? when : when.getTime();
    if (!Number.isFinite(dueAt)) return Promise.reject(new DeclarationError('ctx.sleepUntil needs a valid date'));
    return this.waitStep((host, id) => sleepStep(host, id, dueAt));
  }

  promise(name: string): Promise<PromiseHandle> {
    return this.waitStep((host, id) => promiseStep(host, id, name));
  }

  awaitPromise<T = unknown>(handle: PromiseHandle, options: { timeoutMs?: number } = {}): Promise<T> {
    return this.waitStep((host, id) => awaitPromiseStep<T>(host, id, handle, options.timeoutMs));
  }

  private waitStep<T>(body: (host: WaitHost, id: number) => Promise<T>): Promise<T> {
    const waits = this.deps.waits;
    if (!waits) return Promise.reject(new InvalidStateError('durable timers and promises need the runtime (no wait store was given)'));
    let id: number;
    try {
      id = this.reserve(1);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.deps.signal.aborted) return Promise.reject(new CancelledError(`execution ${this.deps.executionId} was cancelled`));
    const host: WaitHost = {
      executionId: this.deps.executionId,
      attempt: this.deps.attempt,
      codec: this.deps.codec,
      store: waits,
      clock: this.deps.clock,
      signal: this.deps.signal,
      maxParkedPromises: this.deps.maxParkedPromises ?? 1_000,
      recorded: async (stepId, header, key) => {
        const record = this.deps.cursor ? await this.reading(() => this.deps.cursor!.take(stepId)) : undefined;
        if (record) checkSameStep(this.deps.executionId, record, header, key);
        return record;
      },
      appendDurably: (entry) => this.appendDurably(entry),
    };
    return this.track(body(host, id));
  }

  private declare(descriptor: StepDescriptor<unknown>): Resolved {
    if (typeof descriptor?.name !== 'string' || descriptor.name.length === 0) throw new DeclarationError('a step needs a non-empty name');
    // The same bound export and import use: what can be written can be carried to another journal.
    if (descriptor.name.length > MAX_STEP_NAME) throw new DeclarationError(`step names are at most ${MAX_STEP_NAME} characters (got ${descriptor.name.length})`);
    // Refused on every store alike: PostgreSQL text cannot hold a NUL, and a name is part of the idempotency key.
    if (descriptor.name.includes('\u0000')) throw new DeclarationError('step names cannot contain NUL (U+0000)');
    const resolved = resolveEffect(descriptor.name, descriptor);
    if (resolved.guarded && resolved.policy === 'verify' && typeof descriptor.probe !== 'function') {
      throw new DeclarationError(`step "${descriptor.name}": the verify policy needs a probe that tells whether the effect happened`);
    }
    const retry = descriptor.retry;
    if (retry && (!Number.isInteger(retry.attempts) || retry.attempts < 1 || retry.attempts > 100)) {
      throw new DeclarationError(`step "${descriptor.name}": retry.attempts must be an integer from 1 to 100`);
    }
    return resolved;
  }

  private reserve(count: number): number {
    const base = this.nextStepId;
    if (base + count > this.deps.config.maxStepsPerExecution) throw new StepLimitError(this.deps.executionId, this.deps.config.maxStepsPerExecution);
    this.nextStepId += count;
    return base;
  }

  private async run<T>(id: number, descriptor: StepDescriptor<T>, resolved: Resolved, op: (h: StepHandle) => Promise<T> | T): Promise<T | Skipped> {
    if (this.deps.signal.aborted) throw new CancelledError(`execution ${this.deps.executionId} was cancelled`);
    const stopped = this.readError ?? this.journalError;
    if (stopped) throw stopped;
    const step = toStepId(id);
    const fingerprint = typeof descriptor.fingerprint === 'string' ? utf8(descriptor.fingerprint) : (descriptor.fingerprint ?? NO_FINGERPRINT);
    const key = deriveIdempotencyKey({ executionId: this.deps.executionId, stepId: step, stepName: descriptor.name, effect: descriptor.effect, fingerprint });
    const header: EntryHeader = {
      executionId: this.deps.executionId,
      attempt: this.deps.attempt,
      stepId: step,
      stepName: descriptor.name,
      effect: descriptor.effect,
      idempotencyKey: key,
    };

    const cursor = this.deps.cursor;
    const record = cursor ? (cursor.takeReady(id) ?? (await this.reading(() => cursor.take(id)))) : undefined;
    if (record) {
      checkSameStep(this.deps.executionId, record, header, key);
      // The journal holds what this step's op returned when it ran: the same T.
      if (record.result) return this.reading(() => this.replayResult(record.result!, header) as T | Skipped);
      if (record.folded) {
        const folded = record.folded;
        const decoded = this.reading(() => decodeResult(folded.payload, () => this.describe(header)));
        return (decoded.kind === 'skipped' ? this.skipped(header, decoded.reason) : decoded.value) as T | Skipped;
      }
      if (record.finalFailure) throw this.reading(() => this.replayFailure(record.finalFailure!));
      if (record.latestIntent && resolved.guarded) return this.windows.resolve(record, header, descriptor, resolved, op);
    }

    if (resolved.guarded) {
      // Only an earlier attempt (before a divergence restart) can hold a result the cursor did not see.
      const committed = this.deps.attempt > 1 ? await this.deps.reader.findResultByKey(this.deps.executionId, key) : undefined;
      if (committed) return (await this.adoptCommitted(committed, header)) as T | Skipped;
      await this.appendDurably({ ...header, kind: 'step_intent', meta: intentMeta(resolved, this.deps.machine) });
    }
    return this.execute(header, descriptor, resolved, op);
  }

  /**
   * Read from the journal during replay: an entry that fails to authenticate or
   * to decode is damage, remembered so the runtime suspends instead of failing.
   */
  private reading<R>(read: () => R): R {
    const damaged = (error: unknown): never => {
      if (isDurableError(error, 'integrity') || isDurableError(error, 'payload_too_large') || isDurableError(error, 'invalid_state')) {
        this.readError ??= error;
      }
      throw error;
    };
    try {
      const value = read();
      return (value instanceof Promise ? (value.catch(damaged) as R) : value);
    } catch (error) {
      return damaged(error);
    }
  }

  private replayResult(row: JournalRecord, header: EntryHeader): unknown {
    const decoded = decodeResult(this.deps.codec.openPayload(row), () => this.describe(header));
    return decoded.kind === 'skipped' ? this.skipped(header, decoded.reason) : decoded.value;
  }

  private replayFailure(row: JournalRecord): Error {
    return fromErrorData(decodeFailure(this.deps.codec.openPayload(row), `step ${row.stepId}`).error);
  }

  /** A result committed under the same key by an earlier attempt: copy it into this attempt, never re-run. */
  private async adoptCommitted(row: JournalRecord, header: EntryHeader): Promise<unknown> {
    const payload = this.deps.codec.openPayload(row);
    await this.appendDurably({ ...header, kind: 'step_result', payload });
    const decoded = decodeResult(payload, () => this.describe(header));
    return decoded.kind === 'skipped' ? this.skipped(header, decoded.reason) : decoded.value;
  }

  private async execute<T>(header: EntryHeader, descriptor: StepDescriptor<T>, resolved: Resolved, op: (h: StepHandle) => Promise<T> | T): Promise<T> {
    const attempts = descriptor.retry?.attempts ?? 1;
    let delayMs = descriptor.retry?.initialDelayMs ?? 100;
    const maxDelayMs = descriptor.retry?.maxDelayMs ?? 10_000;
    for (let tryNumber = 1; ; tryNumber++) {
      let value: T;
      if (resolved.guarded) await this.deps.fence?.();
      try {
        value = await op(this.handle(header, tryNumber, descriptor.timeoutMs));
      } catch (error) {
        if (this.deps.signal.aborted) throw new CancelledError(`execution ${this.deps.executionId} was cancelled`);
        if (isCancellation(error)) throw error;
        if (tryNumber < attempts) {
          await abortableDelay(delayMs, this.deps.signal);
          delayMs = Math.min(maxDelayMs, delayMs * 2);
          continue;
        }
        const failure: NewEntry = { ...header, kind: 'step_failed', payload: encodeFailure(error, tryNumber) };
        if (resolved.guarded) await this.appendDurably(failure);
        else this.deps.journal.appendBuffered(failure);
        throw error;
      }
      const result: NewEntry = { ...header, kind: 'step_result', payload: encodeValue(value, () => this.describe(header)) };
      if (resolved.guarded) await this.appendDurably(result);
      else this.deps.journal.appendBuffered(result);
      return value;
    }
  }

  private handle(header: EntryHeader, tryNumber: number, timeoutMs: number | undefined): StepHandle {
    const signal = timeoutMs === undefined ? this.deps.signal : AbortSignal.any([this.deps.signal, AbortSignal.timeout(timeoutMs)]);
    const fence = this.deps.fence;
    return {
      stepId: header.stepId as StepId,
      idempotencyKey: header.idempotencyKey as IdempotencyKey,
      signal,
      tryNumber,
      ensureOwner: fence ? () => fence() : () => Promise.resolve(),
    };
  }

  private async audit(header: EntryHeader, resolved: Guarded, decision: AmbiguityDecision, decidedBy: string): Promise<void> {
    const meta: AuditMeta = { intent: resolved.intent, policy: resolved.policy, decision, decidedBy, decidedAt: this.deps.clock() };
    await this.appendDurably({ ...header, kind: 'ambiguity_resolved', meta });
    this.deps.events?.onAmbiguity?.(header.stepId as number, header.stepName ?? '', resolved.policy, decision);
  }

  /**
   * Acknowledged append of a guarded entry. When the journal cannot confirm it,
   * fail closed: nothing after it runs in this attempt (an unconfirmed intent
   * never lets its op run), and the runtime suspends the execution.
   */
  private async appendDurably(entry: NewEntry): Promise<void> {
    try {
      await this.deps.journal.appendAcked(entry, this.deps.signal);
      this.deps.events?.onCommitted?.(entry.stepId as number, entry.kind as 'step_intent', entry.stepName ?? '');
    } catch (error) {
      if (!(error instanceof JournalUnavailableError)) throw error;
      if (isDurableError(error.cause, 'storage') && (error.cause as StorageError).reason === 'conflict') {
        // Someone else recorded this step: most likely a new owner after our lease expired.
        await this.deps.fence?.();
        throw new InvalidStateError(`${this.describe(entry)}: another owner already recorded this step; stopping this run`);
      }
      this.degradedWrites++;
      this.journalError ??= error;
      const what = entry.kind === 'step_intent' ? 'its operation was not run' : 'the execution stops here';
      const message = `${this.describe(entry)}: ${entry.kind} not confirmed by the journal; ${what} and the execution is suspended (journal unavailable)`;
      this.deps.warn(message);
      this.deps.events?.onDegraded?.(entry.stepId as number, entry.stepName ?? '', message);
      throw error;
    }
  }

  private skipped(header: EntryHeader, reason: string): Skipped {
    return { skipped: true, stepId: header.stepId as number, stepName: header.stepName ?? '', reason };
  }

  private describe(header: EntryHeader): string {
    return `execution ${this.deps.executionId} step ${header.stepId} (${header.stepName})`;
  }
}

