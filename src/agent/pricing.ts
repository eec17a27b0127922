/**
 * What a model call costs. Prices come from the user's price table (no price
 * is built in); a call's cost is computed once, when the call is made, and
 * journaled with its reply, so a replayed call costs nothing again and a price
 * changed later does not rewrite what was spent. Amounts are integers in
 * millionths of the table's currency (a price per million tokens is then a
 * price in millionths per token).
 */
import type { TokenUsage } from './model';

export interface ModelPrice {
  /** Currency units per million input (prompt) tokens. */
  readonly input: number;
  /** Currency units per million output (completion) tokens. */
  readonly output: number;
}

/** Model name (as the provider reports it, e.g. "gpt-4o-mini", "qwen2.5-coder:7b") → price. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** What one call cost, as journaled with its reply. */
export interface CallCost {
  readonly micros: number;
  /** False when no price names the model: the cost is unknown (not zero). */
  readonly priced: boolean;
  /** The call was made again after an interruption (its first try may have been charged too). */
  readonly rerun: boolean;
}

/** The price of `model`: its exact name, else the same name in another case. */
export function priceOf(table: PriceTable, model: string): ModelPrice | undefined {
  if (Object.hasOwn(table, model)) return table[model];
  const lower = model.toLowerCase();
  const key = Object.keys(table).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : table[key];
}

export function costOf(usage: TokenUsage, price: ModelPrice | undefined, rerun: boolean): CallCost {
  if (!price) return { micros: 0, priced: false, rerun };
  return { micros: Math.round(usage.input * price.input + usage.output * price.output), priced: true, rerun };
}

/** A cost read back from the journal: the right shape, or none (a reply recorded before costs were). */
export function isCallCost(value: unknown): value is CallCost {
  const v = value as Record<string, unknown> | null;
  return typeof v === 'object' && v !== null && Number.isSafeInteger(v.micros) && (v.micros as number) >= 0 && typeof v.priced === 'boolean' && typeof v.rerun === 'boolean';
}

/** "$0.0123", "€1.20", "0.0042 CHF": four decimals below one unit (a call costs fractions of a cent), two above. */
export function formatMoney(micros: number, currency: string): string {
  const units = micros / 1_000_000;
  const digits = units !== 0 && Math.abs(units) < 1 ? 4 : 2;
  const amount = units.toFixed(digits);
  const symbol = { USD: '$', EUR: '€', GBP: '£', JPY: '¥' }[currency.toUpperCase()];
  return symbol ? `${symbol}${amount}` : `${amount} ${currency}`;
}

/** Money from a setting (currency units) to millionths; 0 for no budget. */
export function toMicros(units: number): number {
  return Number.isFinite(units) && units > 0 ? Math.round(units * 1_000_000) : 0;
}
