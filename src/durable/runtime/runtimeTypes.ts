/**
 * The runtime's public types (options, handles, outcomes, events) and the
 * small records it keeps per run.
 */
import type { AmbiguityDecision, ExecutionStatus } from '../model/journal';
import type { AmbiguityPolicy } from '../model/effect';
import type { DurableError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { WorkflowRegistry } from '../execution/workflow';
import type { DurableEngine } from './engine';

export interface RuntimeLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface RuntimeOptions {
  readonly engine: DurableEngine;
  readonly registry: WorkflowRegistry;
  /** Identity of this process (window) in leases. */
  readonly ownerId: string;
  readonly clock?: () => number;
  readonly logger?: RuntimeLogger;
  /** How long shutdown and restarts wait for in-flight steps, ms. */
  readonly drainTimeoutMs?: number;
  /**
   * Where this runtime's local side records live (a host and its storage
   * folder), written into every intent: on a shared journal, a probe on another
   * machine learns that what the interrupted run left locally is out of its reach.
   */
  readonly machine?: string;
}

export type ExecutionOutcome =
  | { readonly status: 'completed'; readonly output: unknown }
  | { readonly status: 'failed'; readonly error: DurableError | Error }
  | { readonly status: 'cancelled' }
  | { readonly status: 'suspended'; readonly reason: string }
  /** Stopped without an outcome (shutdown, lost lease, journal gone): recovery resumes it. */
  | { readonly status: 'interrupted'; readonly reason: string };

export interface ExecutionHandle {
  readonly id: ExecutionId;
  readonly done: Promise<ExecutionOutcome>;
}

export type RuntimeEvent =
  | { readonly type: 'execution'; readonly executionId: ExecutionId; readonly status: ExecutionStatus | 'interrupted' }
  | { readonly type: 'step'; readonly executionId: ExecutionId; readonly stepId: number; readonly kind: string; readonly name: string }
  | {
      readonly type: 'ambiguity';
      readonly executionId: ExecutionId;
      readonly stepId: number;
      readonly name: string;
      readonly policy: AmbiguityPolicy;
      readonly decision: AmbiguityDecision;
    }
  | { readonly type: 'degraded'; readonly executionId: ExecutionId; readonly stepId: number; readonly message: string }
  | { readonly type: 'divergence'; readonly executionId: ExecutionId; readonly attempt: number; readonly message: string }
  | { readonly type: 'promise'; readonly executionId: ExecutionId; readonly promiseId: string; readonly status: 'resolved' | 'rejected' };

export type StopReason = 'cancel' | 'shutdown' | 'lease_lost';

export interface ActiveRun {
  readonly controller: AbortController;
  stopReason?: StopReason;
  /** With 'lease_lost': what the person is told (taken over, or could not be renewed). */
  stopDetail?: string;
  done: Promise<ExecutionOutcome>;
}

export type HumanDecision = 'rerun' | 'skip' | 'fail';
export const DECISIONS: Record<HumanDecision, AmbiguityDecision> = { rerun: 'decided_rerun', skip: 'decided_skip', fail: 'decided_fail' };


