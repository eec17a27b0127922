/**
 * Reads one execution attempt's journal forward in segments and hands each
 * step its recorded entries when the step asks for them.
 *
 * Steps can commit out of call order (parallel steps), so entries for steps
 * that have not asked yet are held until they do, then released. Memory is
 * bounded by the segment size plus the steps in flight, never by the journal's
 * length. Payloads stay sealed here: a step opens only its own result.
 *
 * Checkpoints (hundreds of folded steps each) are opened one at a time, when
 * the first step they hold is asked for, and segments are sized by bytes as
 * well as rows (store/segments.ts), so a folded journal is not unfolded a
 * segment at a time and its large rows are dropped young.
 */
import type { ExecutionId } from '../model/ids';
import type { JournalReader, JournalRecord } from '../model/journal';
import type { EffectClass } from '../model/effect';
import { SegmentLimit } from '../store/segments';

/** A committed step folded into a checkpoint (journal/checkpoint.ts writes them; replay reads them). */
export interface FoldedStep {
  readonly stepId: number;
  readonly name: string;
  readonly effect: EffectClass;
  readonly key: Uint8Array;
  /** The result payload exactly as the step recorded it (the value envelope). */
  readonly payload: Uint8Array;
}

/** An opened checkpoint's steps, handed out one at a time, in the order it folded them. */
export interface FoldedSteps {
  next(): FoldedStep | undefined;
}

/** What the journal holds for one step of the attempt being replayed. */
export interface StepRecord {
  readonly stepId: number;
  /** The latest intent of the step (a rerun appends a fresh one). */
  latestIntent?: JournalRecord;
  /** Audit records written after the latest intent (at most one in a healthy journal). */
  auditsAfterIntent: JournalRecord[];
  result?: JournalRecord;
  /** The failure that ended the step after its retries (only final failures are journaled). */
  finalFailure?: JournalRecord;
  /** Promise and timer entries of the step, in order. */
  others: JournalRecord[];
  /** The step's result, folded into a checkpoint (see checkpoint.ts). */
  folded?: FoldedStep;
}

function isComplete(record: StepRecord): boolean {
  // A fired timer ends a sleep step (it has no result entry).
  return record.result !== undefined || record.folded !== undefined || record.finalFailure !== undefined || record.others.some((r) => r.kind === 'timer_fired');
}

export class ReplayCursor {
  private readonly held = new Map<number, StepRecord>();
  /** Checkpoint rows read but not opened yet, in journal order. */
  private readonly folds: JournalRecord[] = [];
  /** The opened checkpoint whose steps are not all handed out yet. */
  private opened: FoldedSteps | undefined;
  private afterSeq = 0;
  private readonly limit: SegmentLimit;
  private exhausted = false;
  private reading: Promise<void> = Promise.resolve();
  private executionRows: JournalRecord[] = [];
  private maxHeld = 0;

  constructor(
    private readonly reader: JournalReader,
    readonly executionId: ExecutionId,
    readonly attempt: number,
    segmentSize: number,
    /** Opens a checkpoint entry into the steps it folded. */
    private readonly unfold?: (row: JournalRecord) => FoldedSteps,
  ) {
    this.limit = new SegmentLimit(segmentSize);
  }

  /** True until the whole journal was read and every recorded step was handed out. */
  get replaying(): boolean {
    return !this.exhausted || this.held.size > 0 || this.hasFolds;
  }

  private get hasFolds(): boolean {
    return this.opened !== undefined || this.folds.length > 0;
  }

  /** Most step records held at once (for tests and benchmarks of bounded memory). */
  get peakHeld(): number {
    return this.maxHeld;
  }

  /**
   * The step's record when it is already read and complete, without waiting:
   * a replayed step then costs no promise and no turn of the microtask queue.
   * Undefined means "ask `take`", never "nothing recorded".
   */
  takeReady(stepId: number): StepRecord | undefined {
    for (;;) {
      const record = this.held.get(stepId);
      if (record && isComplete(record)) {
        this.held.delete(stepId);
        return record;
      }
      // The oldest unopened checkpoint comes before anything read after it: its steps first,
      // one at a time (a step replay asks for in order is made, handed out, and dropped).
      const folded = this.nextFolded();
      if (!folded) return undefined;
      // The step asked for, with nothing else read for it: handed out without passing through
      // `held`. A Map in the old generation allocates its shrunk table there too, so a set and a
      // delete per folded step filled the old space at replay speed (most of a folded replay's RSS).
      if (folded.stepId === stepId && !this.held.has(stepId)) return { stepId, auditsAfterIntent: [], others: [], folded };
      this.place(folded);
    }
  }

  /**
   * The recorded entries of `stepId`, read as far as needed: until the step's
   * result or final failure, or the end of the journal. Undefined when the
   * journal holds nothing for it (the step runs live).
   */
  async take(stepId: number): Promise<StepRecord | undefined> {
    for (;;) {
      const ready = this.takeReady(stepId);
      if (ready) return ready;
      if (this.exhausted) {
        const record = this.held.get(stepId);
        this.held.delete(stepId);
        return record;
      }
      await this.readMore();
    }
  }

  /** Execution-level entries (started, finished) seen so far, reading the first segment if needed. */
  async executionEntries(): Promise<readonly JournalRecord[]> {
    if (this.afterSeq === 0 && !this.exhausted) await this.readMore();
    return this.executionRows;
  }

  /** Read to the end (recovery planning needs the whole picture). */
  async drain(): Promise<void> {
    while (!this.exhausted) await this.readMore();
    for (let folded = this.nextFolded(); folded; folded = this.nextFolded()) this.place(folded);
  }

  /** Records still held after draining: steps the journal has but code has not asked for. */
  heldRecords(): StepRecord[] {
    return [...this.held.values()];
  }

  private readMore(): Promise<void> {
    // One reader at a time: concurrent steps share the same forward scan.
    const next = this.reading.then(async () => {
      if (this.exhausted) return;
      const limit = this.limit.rows;
      const segment = await this.reader.readSegment(this.executionId, this.attempt, this.afterSeq, limit);
      // Large rows (checkpoints) make the next segment shorter; small ones let it grow back.
      this.limit.observeRows(segment);
      for (const row of segment) this.hold(row);
      if (segment.length > 0) this.afterSeq = segment[segment.length - 1].seq;
      if (segment.length < limit) this.exhausted = true;
      this.maxHeld = Math.max(this.maxHeld, this.held.size);
    });
    this.reading = next.catch(() => undefined);
    return next;
  }

  /** The next step of the checkpoints read so far, opening the oldest when the current one is spent. */
  private nextFolded(): FoldedStep | undefined {
    for (;;) {
      const step = this.opened?.next();
      if (step) return step;
      this.opened = undefined;
      const row = this.folds.shift();
      if (!row) return undefined;
      this.opened = (this.unfold as (row: JournalRecord) => FoldedSteps)(row);
    }
  }

  private place(step: FoldedStep): void {
    // Rows of the step read after its checkpoint (a promise's settlement) stay with it.
    const record = this.held.get(step.stepId);
    if (record) record.folded = step;
    else this.held.set(step.stepId, { stepId: step.stepId, auditsAfterIntent: [], others: [], folded: step });
    this.maxHeld = Math.max(this.maxHeld, this.held.size);
  }

  private hold(row: JournalRecord): void {
    if (row.kind === 'checkpoint' && this.unfold) {
      this.folds.push(row);
      return;
    }
    if (row.stepId === null) {
      this.executionRows.push(row);
      return;
    }
    let record = this.held.get(row.stepId);
    if (!record) {
      record = { stepId: row.stepId, auditsAfterIntent: [], others: [] };
      this.held.set(row.stepId, record);
    }
    switch (row.kind) {
      case 'step_intent':
        record.latestIntent = row;
        record.auditsAfterIntent = [];
        break;
      case 'ambiguity_resolved':
        record.auditsAfterIntent.push(row);
        break;
      case 'step_result':
        record.result = row;
        break;
      case 'step_failed':
        record.finalFailure = row;
        break;
      default:
        record.others.push(row);
    }
  }
}
