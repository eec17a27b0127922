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
 * The journal's headers are scanned once, in segments, keeping only a few
 * numbers per step; the rows whose content decides are read after.
 */
import type { AmbiguityPolicy, IntentClass } from '../model/effect';
import { checkpointStepIds } from '../journal/checkpoint';
import { IntegrityError, isDurableError } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { AmbiguityDecision, ExecutionRecord, JournalRecord } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { JournalStore } from '../store/journalStore';
import { SegmentLimit } from '../store/segments';
import { decodeFinish, type FinishRecord } from '../execution/stepValue';
import { awaitsDecisionOn } from '../execution/stepContext';
import type { WorkflowRegistry } from '../execution/workflow';
import { verifyJournalMark, type RowHeader, type VerifiedJournals } from '../journal/journalMark';

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

/** A step the scan has seen no result for yet: its name and the seqs of its latest intent and audit. */
interface OpenStep {
  readonly name: string;
  intentSeq?: number;
  auditSeq?: number;
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
    // Plan only from a journal that is complete and authentic: the verification pass hands every
    // header it authenticated to the scan, so the journal is read once, headers only; the few rows
    // whose content decides (open intents, their audits, the outcome, checkpoints) are read after.
    const scan = new HeaderScan(execution.attempt);
    const visited = await verifyJournalMark(deps.backend, deps.codec, execution, deps.verified && { journals: deps.verified, mode: 'remember' }, scan.visit);
    if (!visited) await scan.readHeaders(deps.backend, execution.id, deps.segmentSize);
    return await decide(deps, execution, scan);
  } catch (error) {
    if (isDurableError(error)) return { execution, decision: { action: 'damaged', reason: error.message }, ambiguousWindows: none };
    throw error;
  }
}

/** Step ids below this are kept in the bitmap (8 MiB at most). */
const BITMAP_STEPS = 1 << 26;

/**
 * What the headers of one attempt say, step by step. Memory stays small for a
 * long journal: a bit per committed step, and a few numbers per step that has
 * no result yet.
 */
class HeaderScan {
  /** Steps with a result or a final failure (bit `stepId`). */
  private done = new Uint8Array(1024);
  /** Done steps past the bitmap's range (step ids are call order, so normally none). */
  private readonly doneBeyond = new Set<number>();
  readonly open = new Map<number, OpenStep>();
  readonly checkpointSeqs: number[] = [];
  finishedSeq: number | undefined;

  constructor(private readonly attempt: number) {}

  readonly visit = (row: RowHeader): void => {
    if (row.attempt !== this.attempt) return;
    if (row.kind === 'execution_finished') this.finishedSeq = row.seq;
    if (row.kind === 'checkpoint') {
      this.checkpointSeqs.push(row.seq);
      this.finishedSeq = undefined;
      return;
    }
    if (row.stepId === null) return;
    // A resumed execution writes steps after an older outcome: that outcome no longer stands.
    this.finishedSeq = undefined;
    if (row.kind === 'step_result' || row.kind === 'step_failed') {
      this.markDone(row.stepId);
      return;
    }
    if (this.isDone(row.stepId)) return;
    let step = this.open.get(row.stepId);
    if (!step) this.open.set(row.stepId, (step = { name: row.stepName ?? '' }));
    if (row.kind === 'step_intent') {
      step.intentSeq = row.seq;
      step.auditSeq = undefined;
    } else if (row.kind === 'ambiguity_resolved') step.auditSeq = row.seq;
  };

  markDone(stepId: number): void {
    this.open.delete(stepId);
    if (stepId >= BITMAP_STEPS) {
      this.doneBeyond.add(stepId);
      return;
    }
    const byte = stepId >>> 3;
    if (byte >= this.done.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.done.length * 2));
      grown.set(this.done);
      this.done = grown;
    }
    this.done[byte] |= 1 << (stepId & 7);
  }

  isDone(stepId: number): boolean {
    if (stepId >= BITMAP_STEPS) return this.doneBeyond.has(stepId);
    const byte = stepId >>> 3;
    return byte < this.done.length && (this.done[byte] & (1 << (stepId & 7))) !== 0;
  }

  /** How many steps are done, and the highest done step (-1 without any). */
  committed(): { count: number; last: number } {
    let count = 0;
    let last = -1;
    for (let byte = 0; byte < this.done.length; byte++) {
      const bits = this.done[byte];
      if (bits === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        if (bits & (1 << bit)) {
          count++;
          last = byte * 8 + bit;
        }
      }
    }
    for (const stepId of this.doneBeyond) last = Math.max(last, stepId);
    return { count: count + this.doneBeyond.size, last };
  }

  /** Without a verification pass (no execution row to verify against): the headers alone. */
  async readHeaders(backend: JournalStore, id: ExecutionId, segmentSize: number): Promise<void> {
    for (let after = 0; ; ) {
      const rows = await backend.readMarkRows(id, after, segmentSize);
      rows.forEach(this.visit);
      if (rows.length < segmentSize) return;
      after = rows[rows.length - 1].seq;
    }
  }
}

/**
 * Hand `use` the rows at `seqs` (ascending) of one execution, in order, read in
 * short runs and not kept: a plan reads only these in full.
 */
async function forRowsAt(backend: JournalStore, id: ExecutionId, seqs: readonly number[], use: (row: JournalRecord) => void): Promise<void> {
  // Runs of up to 32 rows, fewer when they are large (checkpoints): see SegmentLimit.
  const limit = new SegmentLimit(32);
  let index = 0;
  while (index < seqs.length) {
    const run = await backend.readExecutionSegment(id, seqs[index] - 1, limit.rows);
    limit.observeRows(run);
    const before = index;
    for (const row of run) {
      if (index < seqs.length && row.seq === seqs[index]) {
        use(row);
        index++;
      }
    }
    // Authenticated a moment ago and gone now: the journal changed under the plan.
    if (index === before) throw new IntegrityError(`execution ${id}`, `journal incomplete: the entry at seq ${seqs[index]} vanished while the recovery plan read it`);
  }
}

async function decide(deps: PlanDeps, execution: ExecutionRecord, scan: HeaderScan): Promise<RecoveryItem> {
  const { checkpointSeqs, finishedSeq } = scan;
  // A recorded outcome decides alone; otherwise checkpoints and open windows do.
  const needed = finishedSeq !== undefined ? [finishedSeq] : [...checkpointSeqs];
  if (finishedSeq === undefined) for (const step of scan.open.values()) {
    if (step.intentSeq === undefined) continue;
    needed.push(step.intentSeq);
    if (step.auditSeq !== undefined) needed.push(step.auditSeq);
  }
  needed.sort((a, b) => a - b);
  // Checkpoints are opened as they are read and not kept (a long folded journal has thousands);
  // the few other rows are kept for the decision.
  const rows = new Map<number, JournalRecord>();
  await forRowsAt(deps.backend, execution.id, needed, (r) => {
    // Folded steps are committed results (only unguarded results fold, so none of them has an intent).
    if (r.kind === 'checkpoint') for (const stepId of checkpointStepIds(deps.codec.openPayload(r))) scan.markDone(stepId);
    else rows.set(r.seq, r);
  });
  const row = (seq: number): JournalRecord => rows.get(seq) as JournalRecord;

  if (finishedSeq !== undefined) {
    const outcome = decodeFinish(deps.codec.openPayload(row(finishedSeq)), `execution ${execution.id}`);
    return { execution, decision: { action: outcome.status === 'completed' ? 'reuse' : 'preserve', outcome }, ambiguousWindows: [] };
  }

  const windows: AmbiguousWindow[] = [];
  const committed = scan.committed();
  for (const [stepId, step] of scan.open) {
    if (step.intentSeq === undefined) continue;
    const meta = deps.codec.readMeta(row(step.intentSeq) as JournalRecord & { kind: 'step_intent' });
    const decision = step.auditSeq !== undefined
      ? deps.codec.readMeta(row(step.auditSeq) as JournalRecord & { kind: 'ambiguity_resolved' }).decision
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
  if (committed.count === 0 && windows.length === 0) return { execution, decision: { action: 're_execute' }, ambiguousWindows: windows };
  return { execution, decision: { action: 'resume', committedSteps: committed.count, lastCommittedStep: committed.last }, ambiguousWindows: windows };
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
