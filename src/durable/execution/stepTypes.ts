/**
 * The types a workflow and the step context share: the context's surface
 * (`DurableContext`, step descriptors and handles), probe outcomes, and the
 * suspension a parked execution throws. Apart from stepContext.ts so the wait
 * helpers (waits.ts) can use them without importing the context itself.
 */
import type { AmbiguityPolicy, EffectClass, IntentClass } from '../model/effect';
import type { ExecutionId, IdempotencyKey, StepId } from '../model/ids';
import type { Skipped } from './stepValue';

export interface StepHandle {
  readonly stepId: StepId;
  /** Pass it to remote systems that deduplicate (a rerun uses the same key). */
  readonly idempotencyKey: IdempotencyKey;
  /** Aborted on cancellation or when the step's timeout expires. */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry, … */
  readonly tryNumber: number;
  /**
   * Re-check that this process still owns the execution; throws CancelledError
   * if another owner took over. Call it right before the irreversible part of a
   * long operation (the lease is already checked before the operation starts).
   */
  ensureOwner(): Promise<void>;
  /**
   * In a probe: whether the interrupted attempt ran on this machine. False when
   * its intent names another machine (what it left on that machine's disk is out
   * of reach here), undefined when the journal does not say.
   */
  readonly startedHere?: boolean;
  /**
   * True when the operation runs again because an earlier attempt was
   * interrupted after its intent was committed (a rerun, by policy, by a person
   * or after a probe): the earlier attempt may have taken effect (or been paid
   * for) even though its result was never journaled. An audit record says so.
   */
  readonly afterInterruption?: boolean;
}

export interface RetryOptions {
  /** Total tries, including the first. */
  readonly attempts: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * What a probe learned: the effect happened (with its value), it did not, or
 * it cannot be told (`unknown`, with why): then the step's `fallback` decides.
 */
export type ProbeOutcome<T> =
  | { readonly done: true; readonly value: T }
  | { readonly done: false }
  | { readonly done: 'unknown'; readonly detail: string };

/** The policy a `verify` step falls back to when its probe cannot tell. */
export type ProbeFallback = Exclude<AmbiguityPolicy, 'verify'>;

/**
 * The status detail of an execution suspended until a person decides a window.
 * Recovery reads it back (`awaitsDecisionOn`) to keep a `verify` window whose
 * probe could not tell waiting for that person instead of probing in a loop.
 */
export function decisionNeededDetail(stepId: number, stepName: string | null, why: string): string {
  return `step ${stepId} (${stepName ?? ''}) ${why}; a decision is needed`;
}

export function awaitsDecisionOn(statusDetail: string | null | undefined, stepId: number): boolean {
  return !!statusDetail && statusDetail.startsWith(`step ${stepId} (`) && statusDetail.endsWith('; a decision is needed');
}

export interface StepDescriptor<T = unknown> {
  readonly name: string;
  readonly effect: EffectClass;
  readonly intent?: IntentClass;
  readonly policy?: AmbiguityPolicy;
  /** Digest of the inputs that matter (or the text of them); part of the idempotency key. */
  readonly fingerprint?: Uint8Array | string;
  /** Required by the `verify` policy: did the effect of this key happen? */
  readonly probe?: (handle: StepHandle) => Promise<ProbeOutcome<T>>;
  /** When the probe answers `unknown` (default `ask`: a person decides). */
  readonly fallback?: ProbeFallback;
  readonly retry?: RetryOptions;
  /** Aborts the operation's signal after this long. */
  readonly timeoutMs?: number;
}

type PolicyOf<D> = D extends { readonly policy: infer P } ? (undefined extends P ? P | 'skip' : P) : 'skip';
/** A guarded step whose policy can skip (skip, ask, or the cost-bearing default) may return Skipped. */
export type StepReturn<T, D> = D extends { readonly effect: 'exactly_once' }
  ? [Extract<PolicyOf<D>, 'skip' | 'ask'>] extends [never]
    ? T
    : T | Skipped
  : T;

export interface ParallelStep<T = unknown> {
  readonly descriptor: StepDescriptor<T>;
  readonly op: (handle: StepHandle) => Promise<T> | T;
}

export interface DurableContext {
  readonly executionId: ExecutionId;
  readonly attempt: number;
  /** Aborted when the execution is cancelled or this attempt stops. */
  readonly signal: AbortSignal;
  /** True while steps are still being answered from the journal. */
  readonly isReplaying: boolean;
  step<T, const D extends StepDescriptor<T>>(descriptor: D, op: (handle: StepHandle) => Promise<T> | T): Promise<StepReturn<T, D>>;
  parallel<T>(steps: ReadonlyArray<ParallelStep<T>>): Promise<Array<T | Skipped>>;
  /** Journaled clock, random number in [0, 1), and UUID: replay sees the recorded values. */
  now(): Promise<number>;
  random(): Promise<number>;
  uuid(): Promise<string>;
  /**
   * Durable sleep. Short waits (up to a few seconds) wait in process; longer ones
   * suspend the execution, which the timer service resumes when due, also after
   * a restart (a timer that came due while VS Code was closed fires on start).
   * A replayed sleep that already fired returns at once.
   */
  sleep(ms: number): Promise<void>;
  sleepUntil(when: Date | number): Promise<void>;
  /**
   * Create a durable promise (e.g. a person's approval). The resolver token is
   * returned only when the promise is first created; it is kept sealed in the
   * journal for the extension's own UI (see promises.ts).
   */
  promise(name: string): Promise<PromiseHandle>;
  /** Wait for a promise: suspends durably until it settles (or the timeout passes: TimeoutError). */
  awaitPromise<T = unknown>(handle: PromiseHandle, options?: { timeoutMs?: number }): Promise<T>;
}

export interface PromiseHandle {
  readonly id: string;
  readonly name: string;
  /** 32 bytes; present only in the run that created the promise. */
  readonly token?: Uint8Array;
}

/** What a suspended execution waits for. */
export type WakeCondition =
  | { readonly kind: 'decision' }
  | { readonly kind: 'timer'; readonly dueAt: number }
  | { readonly kind: 'promise'; readonly promiseId: string; readonly deadline?: number };

/**
 * Thrown inside a workflow to park the execution durably: a person's decision
 * (the `ask` policy), a timer that is not due yet, or a promise not settled yet.
 * A parked execution holds no lease and no busy loop.
 */
export class SuspendExecution extends Error {
  constructor(
    readonly stepId: number,
    readonly reason: string,
    readonly wake: WakeCondition = { kind: 'decision' },
  ) {
    super(reason);
    this.name = 'SuspendExecution';
  }
}

