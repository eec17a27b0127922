/**
 * How a session's money reads, in the panel, the tree and the status bar: what
 * its journaled model calls cost (each once), what is unknown (calls of a model
 * no price names), and what an interruption may have cost on top (calls made
 * again, each with its audit record). Pure: tested without VS Code.
 */
import { formatMoney } from '../agent/pricing';

export interface CostTotals {
  readonly costMicros: number;
  readonly unpricedCalls: number;
  readonly rerunCalls: number;
  readonly rerunCostMicros: number;
}

export interface CostLines {
  /** "$0.0123", "$0.0123 of $1.00"; null when nothing is priced. */
  readonly cost: string | null;
  /** What the amount leaves out, or null. */
  readonly note: string | null;
}

const calls = (n: number): string => `${n} model call${n === 1 ? '' : 's'}`;

export function costLines(t: CostTotals, currency: string, budgetMicros = 0): CostLines {
  const notes: string[] = [];
  if (t.unpricedCalls > 0) notes.push(`${calls(t.unpricedCalls)} without a price (durableSessions.agent.prices)`);
  if (t.rerunCalls > 0) {
    const more = t.rerunCostMicros > 0 ? `: the provider may have charged about ${formatMoney(t.rerunCostMicros, currency)} more for their first tries` : '';
    notes.push(`${calls(t.rerunCalls)} made again after an interruption${more}`);
  }
  const priced = t.costMicros > 0 || t.unpricedCalls === 0;
  const cost = priced && (t.costMicros > 0 || budgetMicros > 0) ? `${formatMoney(t.costMicros, currency)}${budgetMicros > 0 ? ` of ${formatMoney(budgetMicros, currency)}` : ''}` : null;
  return { cost, note: notes.length > 0 ? notes.join('; ') : null };
}

/** The workspace's total over the sessions listed: "$0.4200 on models in 5 sessions". */
export function workspaceSpend(threads: readonly CostTotals[], currency: string): string | null {
  const total = threads.reduce((sum, t) => sum + t.costMicros, 0);
  if (total === 0) return null;
  const priced = threads.filter((t) => t.costMicros > 0).length;
  return `${formatMoney(total, currency)} on models in ${priced} session${priced === 1 ? '' : 's'}`;
}
