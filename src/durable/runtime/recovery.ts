/**
 * Recovery planning: for every execution that is not
 * terminal, decide what to do before anything runs, and say why.
 *
 * - a finished outcome is recorded           → reuse it (completed) / preserve it (failed, cancelled)
 * - steps were committed                     → resume from the last committed step (replay, then live)
 * - nothing was committed                    → re-execute from scratch
 * - an ambiguous window waits for a person   → await a decision
 * - a live owner holds the lease             → leave it to that owner
 * - the workflow kind or version is unknown  → leave it untouched
 * - rows are missing, altered or fail to authenticate, or an earlier run
 *   suspended it as damaged                  → damaged: needs a person (nothing runs)
 *
 * Ambiguous windows (intent without result) are listed with their policy.
 * The journal is scanned in segments keeping only a few numbers per step.
 */
import type { AmbiguityPolicy, IntentClass } from '../model/effect';
import { decodeCheckpoint } from '../journal/checkpoint';
import { isDurableError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { AmbiguityDecision, ExecutionRecord, JournalRecord } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { JournalStore } from '../store/journalStore';
import { decodeFinish, type FinishRecord } from '../execution/stepValue';
import { awaitsDecisionOn } from '../execution/stepContext';
import type { WorkflowRegistry } from '../execution/workflow';
import { verifyJournalMark, type VerifiedJournals } from '../journal/journalMark';

/** Status detail prefix of an execution suspended as damaged (the runtime writes it). */
export const DAMAGED_DETAIL = 'damaged: ';
/** Status detail prefix of an execution suspended because the journal could not confirm a write. */
export const UNAVAILABLE_DETAIL = 'journal unavailable: ';

export interface AmbiguousWindow {
  readonly stepId: number;
  readonly stepName: string;
  readonly intent: IntentClass;
  readonly policy: AmbiguityPolicy;
  /** A decision already recorded for this window (a person's, or one made before a crash). */
  readonly decision?: AmbiguityDecision;
}

export type RecoveryDecision =
  | { readonly action: 'reuse'; readonly outcome: FinishRecord }
  | { readonly action: 'preserve'; readonly outcome: FinishRecord }
  | { readonly action: 'resume'; readonly committedSteps: number; readonly lastCommittedStep: number }
  | { readonly action: 're_execute' }
  | { readonly action: 'await_decision'; readonly stepId: number }
  /** Parked on a timer not yet due or a promise not yet settled: the timer service or the settlement wakes it. */
  | { readonly action: 'await_event'; readonly reason: string }
  | { readonly action: 'owned_elsewhere'; readonly owner: string; readonly until: number }
  /** The journal is incomplete or fails to authenticate: a person must look (nothing runs by itself). */
  | { readonly action: 'damaged'; readonly reason: string }
  | { readonly action: 'unknown_workflow'; readonly reason: string };

export interface RecoveryItem {
  readonly execution: ExecutionRecord;
  readonly decision: RecoveryDecision;
  readonly ambiguousWindows: readonly AmbiguousWindow[];
}

interface StepSummary {
  name: string;
  intent?: JournalRecord;
  auditAfterIntent?: JournalRecord;
  done: boolean;
}

export interface PlanDeps {
  readonly backend: JournalStore;
  readonly codec: JournalCodec;
  readonly registry: WorkflowRegistry;
  readonly ownerId: string;
  readonly clock: () => number;
  readonly segmentSize: number;
  /** Journals already verified by this runtime in their current state (see journalMark.ts). */
  readonly verified?: VerifiedJournals;
}

/** Plan one execution. Never throws for a damaged journal: it says `damaged`. */
export async function planExecution(deps: PlanDeps, execution: ExecutionRecord): Promise<RecoveryItem> {
  const none: readonly AmbiguousWindow[] = [];
  const incompatible = deps.registry.incompatibility(execution.kind, execution.version);
  if (incompatible) return { execution, decision: { action: 'unknown_workflow', reason: incompatible }, ambiguousWindows: none };
  if (execution.leaseOwner && execution.leaseOwner !== deps.ownerId && (execution.leaseExpiresAt ?? 0) > deps.clock()) {
    return { execution, decision: { action: 'owned_elsewhere', owner: execution.leaseOwner, until: execution.leaseExpiresAt ?? 0 }, ambiguousWindows: none };
  }
  if (execution.status === 'suspended' && execution.statusDetail?.startsWith(DAMAGED_DETAIL)) {
    return { execution, decision: { action: 'damaged', reason: execution.statusDetail.slice(DAMAGED_DETAIL.length) }, ambiguousWindows: none };
  }
  try {
    // Plan only from a journal that is complete and authentic: every header the scan trusts is
    // covered by the completeness mark or was verified row by row.
    await verifyJournalMark(deps.backend, deps.codec, execution, deps.verified && { journals: deps.verified, mode: 'remember' });
    return await scan(deps, execution);
  } catch (error) {
    if (isDurableError(error)) return { execution, decision: { action: 'damaged', reason: error.message }, ambiguousWindows: none };
    throw error;
  }
}

async function scan(deps: PlanDeps, execution: ExecutionRecord): Promise<RecoveryItem> {
  const steps = new Map<number, StepSummary>();
  let finished: JournalRecord | undefined;
  for await (const row of deps.backend.journalRows(execution.id, { attempt: execution.attempt, segmentSize: deps.segmentSize })) {
    if (row.kind === 'execution_finished') finished = row;
    if (row.kind === 'checkpoint') {
      for (const step of decodeCheckpoint(deps.codec.openPayload(row))) steps.set(step.stepId, { name: step.name, done: true });
      finished = undefined;
      continue;
    }
    if (row.stepId === null) continue;
    // A resumed execution writes steps after an older outcome: that outcome no longer stands.
    finished = undefined;
    let step = steps.get(row.stepId);
    if (!step) steps.set(row.stepId, (step = { name: row.stepName ?? '', done: false }));
    if (row.kind === 'step_intent') {
      step.intent = row;
      step.auditAfterIntent = undefined;
    } else if (row.kind === 'ambiguity_resolved') step.auditAfterIntent = row;
    else if (row.kind === 'step_result' || row.kind === 'step_failed') step.done = true;
  }

  if (finished) {
    const outcome = decodeFinish(deps.codec.openPayload(finished), `execution ${execution.id}`);
    return { execution, decision: { action: outcome.status === 'completed' ? 'reuse' : 'preserve', outcome }, ambiguousWindows: [] };
  }

  const windows: AmbiguousWindow[] = [];
  let committed = 0;
  let lastCommitted = -1;
  for (const [stepId, step] of steps) {
    if (step.done) {
      committed++;
      lastCommitted = Math.max(lastCommitted, stepId);
      continue;
    }
    if (!step.intent) continue;
    const meta = deps.codec.readMeta(step.intent as JournalRecord & { kind: 'step_intent' });
    const decision = step.auditAfterIntent
      ? deps.codec.readMeta(step.auditAfterIntent as JournalRecord & { kind: 'ambiguity_resolved' }).decision
      : undefined;
    windows.push({ stepId, stepName: step.name, intent: meta.intent, policy: meta.policy, decision });
  }
  windows.sort((a, b) => a.stepId - b.stepId);

  // An `ask` window waits for a person; so does a `verify` window whose probe could not tell (its suspension says so).
  const waiting = windows.find(
    (w) => w.decision === undefined && (w.policy === 'ask' || (w.policy === 'verify' && execution.status === 'suspended' && awaitsDecisionOn(execution.statusDetail, w.stepId))),
  );
  if (waiting) return { execution, decision: { action: 'await_decision', stepId: waiting.stepId }, ambiguousWindows: windows };
  const parked = await parkedReason(deps, execution);
  if (parked) return { execution, decision: { action: 'await_event', reason: parked }, ambiguousWindows: windows };
  if (committed === 0 && windows.length === 0) return { execution, decision: { action: 're_execute' }, ambiguousWindows: windows };
  return { execution, decision: { action: 'resume', committedSteps: committed, lastCommittedStep: lastCommitted }, ambiguousWindows: windows };
}

/** Why a suspended execution should stay parked, or undefined when its wait may be over. */
async function parkedReason(deps: PlanDeps, execution: ExecutionRecord): Promise<string | undefined> {
  if (execution.status !== 'suspended' || !execution.statusDetail) return undefined;
  const due = (await deps.backend.executionsWithDueTimers(deps.clock())).includes(execution.id);
  if (due) return undefined;
  if (execution.statusDetail.startsWith('sleeping until')) return execution.statusDetail;
  if (execution.statusDetail.startsWith('waiting for')) {
    const pending = await deps.backend.listPromises({ executionId: execution.id, status: 'pending' });
    if (pending.length > 0) return execution.statusDetail;
  }
  return undefined;
}

/** Plan every running or suspended execution. */
export async function planRecovery(deps: PlanDeps, ids?: readonly ExecutionId[]): Promise<RecoveryItem[]> {
  const candidates = ids
    ? (await Promise.all(ids.map((id) => deps.backend.getExecution(id)))).filter((e): e is ExecutionRecord => e !== undefined)
    : await deps.backend.listExecutions({ statuses: ['running', 'suspended'] });
  const items: RecoveryItem[] = [];
  for (const execution of candidates) {
    if (execution.status !== 'running' && execution.status !== 'suspended') continue;
    items.push(await planExecution(deps, execution));
  }
  return items;
}

/** One line per item, for logs and notifications. */
export function describeDecision(item: RecoveryItem): string {
  const d = item.decision;
  const windows = item.ambiguousWindows.length
    ? `; ambiguous: ${item.ambiguousWindows.map((w) => `step ${w.stepId} ${w.stepName} (${w.policy}${w.decision ? ` → ${w.decision}` : ''})`).join(', ')}`
    : '';
  const head = `${item.execution.kind} ${item.execution.id}`;
  switch (d.action) {
    case 'reuse':
      return `${head}: reuse the recorded result (nothing re-runs)${windows}`;
    case 'preserve':
      return `${head}: preserve the recorded ${d.outcome.status} outcome${windows}`;
    case 'resume':
      return `${head}: resume after ${d.committedSteps} committed steps (last step ${d.lastCommittedStep})${windows}`;
    case 're_execute':
      return `${head}: nothing was committed; run again from the start${windows}`;
    case 'await_decision':
      return `${head}: waiting for a decision on step ${d.stepId}${windows}`;
    case 'await_event':
      return `${head}: parked (${d.reason})`;
    case 'owned_elsewhere':
      return `${head}: owned by ${d.owner} until ${new Date(d.until).toISOString()}; left alone`;
    case 'damaged':
      return `${head}: damaged: needs a person (${d.reason}); nothing runs`;
    case 'unknown_workflow':
      return `${head}: left untouched: ${d.reason}`;
  }
}
