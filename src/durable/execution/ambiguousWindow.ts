/**
 * Ambiguous windows: a guarded step whose intent is in the journal but whose
 * result is not (a crash in between). The step's policy settles the window,
 * always with one `ambiguity_resolved` audit record: `fail` throws, `skip`
 * records a Skipped result, `rerun` opens a fresh intent and runs the op
 * again, `verify` asks the probe (and its `fallback` when the probe cannot
 * tell), `ask` suspends for a person. A window that already has its audit
 * record carries that decision out without writing a second one.
 */
import type { JournalCodec } from '../crypto/journalCodec';
import type { ResolvedEffect } from '../model/effect';
import { AmbiguousEffectError, CancelledError, DeclarationError, isCancellation } from '../model/errors';
import type { ExecutionId } from '../model/ids';
import type { AmbiguityDecision, EntryHeader, JournalRecord, NewEntry } from '../model/journal';
import type { StepRecord } from './replayCursor';
import { encodeSkipped, encodeValue, type Skipped } from './stepValue';
import { decisionNeededDetail, SuspendExecution, type ProbeOutcome, type StepDescriptor, type StepHandle } from './stepTypes';

/** A guarded step's effect, with where its interrupted attempt ran when the journal says (for the probe). */
type Guarded = Extract<ResolvedEffect, { guarded: true }> & { readonly startedHere?: boolean };

/** What the resolver needs of the step context it works for. */
export interface WindowHost {
  readonly executionId: ExecutionId;
  /** This machine, recorded in every intent (see StepHandle.startedHere). */
  readonly machine: string | undefined;
  readonly signal: AbortSignal;
  readonly codec: JournalCodec;
  audit(header: EntryHeader, resolved: Guarded, decision: AmbiguityDecision, decidedBy: string): Promise<void>;
  append(entry: NewEntry): Promise<void>;
  execute<T>(header: EntryHeader, descriptor: StepDescriptor<T>, resolved: ResolvedEffect, op: (h: StepHandle) => Promise<T> | T): Promise<T>;
  skipped(header: EntryHeader, reason: string): Skipped;
  describe(header: EntryHeader): string;
  handle(header: EntryHeader, tryNumber: number, timeoutMs: number | undefined): StepHandle;
}

/** An intent's metadata: its class and policy, and the machine that runs it when known. */
export function intentMeta(resolved: { readonly intent: Guarded['intent']; readonly policy: Guarded['policy'] }, machine: string | undefined): { intent: Guarded['intent']; policy: Guarded['policy']; machine?: string } {
  return machine === undefined ? { intent: resolved.intent, policy: resolved.policy } : { intent: resolved.intent, policy: resolved.policy, machine };
}

export class WindowResolver {
  constructor(private readonly host: WindowHost) {}

  async resolve<T>(
    record: StepRecord,
    header: EntryHeader,
    descriptor: StepDescriptor<T>,
    resolved: Guarded,
    op: (h: StepHandle) => Promise<T> | T,
  ): Promise<T | Skipped> {
    const existing = record.auditsAfterIntent.at(-1);
    if (existing) {
      // This window already has its audit record (a person decided, or we crashed after deciding):
      // carry the decision out without writing a second one.
      const meta = this.host.codec.readMeta(existing as JournalRecord & { kind: 'ambiguity_resolved' });
      return this.carryOut(meta.decision, header, descriptor, resolved, op, false);
    }
    // A step that is verifiable now may have been started when it was not (an older version, before
    // its probe existed): such a run left nothing to verify, so the policy it was started under decides.
    const intent = record.latestIntent ? this.host.codec.readMeta(record.latestIntent as JournalRecord & { kind: 'step_intent' }) : undefined;
    const recorded = intent ? intent.policy : resolved.policy;
    const settling: Guarded = resolved.policy === 'verify' && recorded !== 'verify' ? { ...resolved, policy: recorded } : resolved;
    const startedHere = intent?.machine === undefined || this.host.machine === undefined ? undefined : intent.machine === this.host.machine;
    return this.settle(header, descriptor, { ...settling, startedHere }, op);
  }

  private settle<T>(header: EntryHeader, descriptor: StepDescriptor<T>, resolved: Guarded, op: (h: StepHandle) => Promise<T> | T): Promise<T | Skipped> {
    const policy = resolved.policy;
    switch (policy) {
      case 'fail':
        return this.carryOut('failed', header, descriptor, resolved, op, true);
      case 'rerun':
        return this.carryOut('reran', header, descriptor, resolved, op, true);
      case 'skip':
        return this.carryOut('skipped', header, descriptor, resolved, op, true);
      case 'verify':
        return this.verify(header, descriptor, resolved, op, true);
      case 'ask':
        throw new SuspendExecution(
          header.stepId as number,
          decisionNeededDetail(header.stepId as number, header.stepName, 'may or may not have taken effect before the interruption'),
        );
    }
  }

  private async carryOut<T>(
    decision: AmbiguityDecision,
    header: EntryHeader,
    descriptor: StepDescriptor<T>,
    resolved: Guarded,
    op: (h: StepHandle) => Promise<T> | T,
    writeAudit: boolean,
  ): Promise<T | Skipped> {
    switch (decision) {
      case 'failed':
      case 'decided_fail':
        if (writeAudit) await this.host.audit(header, resolved, 'failed', 'policy');
        throw new AmbiguousEffectError(
          this.host.executionId,
          header.stepId as number,
          header.stepName ?? '',
          'interrupted between intent and result; its policy is to fail rather than guess (resolve it from the journal explorer)',
        );
      case 'skipped':
      case 'decided_skip': {
        if (writeAudit) await this.host.audit(header, resolved, 'skipped', 'policy');
        const reason = decision === 'decided_skip' ? 'skipped by a person after an interruption' : 'interrupted between intent and result; skipped by policy';
        await this.host.append({ ...header, kind: 'step_result', payload: encodeSkipped(reason) });
        return this.host.skipped(header, reason);
      }
      case 'reran':
      case 'decided_rerun':
      case 'verified_not_done':
        if (writeAudit) await this.host.audit(header, resolved, decision, decision === 'verified_not_done' ? 'probe' : 'policy');
        // A fresh intent opens a new window: a crash during the rerun gets its own audit record.
        await this.host.append({ ...header, kind: 'step_intent', meta: intentMeta(resolved, this.host.machine) });
        return this.host.execute(header, descriptor, resolved, (h) => op({ ...h, afterInterruption: true }));
      case 'verified_done':
        return this.verify(header, descriptor, resolved, op, false);
      case 'asked':
        throw new SuspendExecution(header.stepId as number, `step ${header.stepId} (${header.stepName}) is waiting for a decision`);
    }
  }

  private async verify<T>(
    header: EntryHeader,
    descriptor: StepDescriptor<T>,
    resolved: Guarded,
    op: (h: StepHandle) => Promise<T> | T,
    writeAudit: boolean,
  ): Promise<T | Skipped> {
    const probe = descriptor.probe;
    if (!probe) throw new DeclarationError(`step "${descriptor.name}": the verify policy needs a probe`);
    let outcome: ProbeOutcome<T>;
    try {
      outcome = await probe({ ...this.host.handle(header, 1, descriptor.timeoutMs), startedHere: resolved.startedHere });
    } catch (error) {
      if (isCancellation(error) || this.host.signal.aborted) throw new CancelledError();
      throw new AmbiguousEffectError(
        this.host.executionId,
        header.stepId as number,
        header.stepName ?? '',
        `the probe that checks whether the effect happened failed (${(error as Error).message}); the window stays open`,
      );
    }
    if (outcome.done === 'unknown') return this.fallBack(header, descriptor, resolved, op, writeAudit, outcome.detail);
    if (!outcome.done) return this.carryOut('verified_not_done', header, descriptor, resolved, op, writeAudit);
    if (writeAudit) await this.host.audit(header, resolved, 'verified_done', 'probe');
    await this.host.append({ ...header, kind: 'step_result', payload: encodeValue(outcome.value, this.host.describe(header)) });
    return outcome.value;
  }

  /** The probe could not tell: the declared fallback settles the window (`ask` waits for a person). */
  private fallBack<T>(
    header: EntryHeader,
    descriptor: StepDescriptor<T>,
    resolved: Guarded,
    op: (h: StepHandle) => Promise<T> | T,
    writeAudit: boolean,
    detail: string,
  ): Promise<T | Skipped> {
    const fallback = descriptor.fallback ?? 'ask';
    if (fallback === 'ask' || !writeAudit) {
      throw new SuspendExecution(header.stepId as number, decisionNeededDetail(header.stepId as number, header.stepName, `could not be verified (${detail})`));
    }
    const decision = fallback === 'fail' ? 'failed' : fallback === 'skip' ? 'skipped' : 'reran';
    return this.carryOut(decision, header, descriptor, resolved, op, true);
  }
}
