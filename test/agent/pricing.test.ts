// Prices are the user's (none built in); a call's cost is computed once from its usage and kept in integers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costOf, formatMoney, isCallCost, priceOf, toMicros } from '../../src/agent/pricing';

test('a price is found by the model name the provider reports, in any case; an unlisted model has no price', () => {
  const table = { 'gpt-4o-mini': { input: 0.15, output: 0.6 }, 'Qwen2.5-Coder:7B': { input: 0, output: 0 } };
  assert.deepEqual(priceOf(table, 'gpt-4o-mini'), { input: 0.15, output: 0.6 });
  assert.deepEqual(priceOf(table, 'qwen2.5-coder:7b'), { input: 0, output: 0 });
  assert.equal(priceOf(table, 'gpt-4o'), undefined);
  assert.equal(priceOf(table, 'constructor'), undefined, 'no inherited property counts as a price');
});

test('cost in millionths: tokens × price per million; unpriced is unknown, not free', () => {
  assert.deepEqual(costOf({ input: 12_000, output: 800 }, { input: 2.5, output: 10 }, false), { micros: 38_000, priced: true, rerun: false });
  assert.deepEqual(costOf({ input: 3, output: 1 }, { input: 0.15, output: 0.6 }, true), { micros: 1, priced: true, rerun: true });
  assert.deepEqual(costOf({ input: 100, output: 100 }, undefined, false), { micros: 0, priced: false, rerun: false });
  assert.equal(formatMoney(38_000, 'USD'), '$0.0380');
  assert.equal(formatMoney(1_250_000, 'EUR'), '€1.25');
  assert.equal(formatMoney(4_200, 'CHF'), '0.0042 CHF');
  assert.equal(formatMoney(0, 'USD'), '$0.00');
  assert.equal(toMicros(1.5), 1_500_000);
  assert.equal(toMicros(-1), 0);
  assert.ok(isCallCost({ micros: 5, priced: true, rerun: false }));
  assert.ok(!isCallCost({ micros: -5, priced: true, rerun: false }));
  assert.ok(!isCallCost({ micros: 1.5, priced: true, rerun: false }));
  assert.ok(!isCallCost(undefined));
});
