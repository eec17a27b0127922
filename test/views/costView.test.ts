// What the panel, the tree and the status bar say about money.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { costLines, workspaceSpend } from '../../src/views/costView';

const totals = (costMicros: number, unpricedCalls = 0, rerunCalls = 0, rerunCostMicros = 0) => ({ costMicros, unpricedCalls, rerunCalls, rerunCostMicros });

test('a priced session shows its cost (of its budget); unknown and possibly doubled amounts are said, not hidden', () => {
  assert.deepEqual(costLines(totals(38_000), 'USD'), { cost: '$0.0380', note: null });
  assert.deepEqual(costLines(totals(38_000), 'USD', 1_000_000), { cost: '$0.0380 of $1.00', note: null });
  assert.deepEqual(costLines(totals(0, 3), 'USD'), { cost: null, note: '3 model calls without a price (durableSessions.agent.prices)' });
  assert.deepEqual(costLines(totals(38_000, 1, 1, 9_000), 'USD'), {
    cost: '$0.0380',
    note: '1 model call without a price (durableSessions.agent.prices); 1 model call made again after an interruption: the provider may have charged about $0.0090 more for their first tries',
  });
  assert.deepEqual(costLines(totals(0), 'USD'), { cost: null, note: null }, 'nothing called yet: nothing to say');
});

test('the workspace total adds the listed sessions', () => {
  assert.equal(workspaceSpend([totals(400_000), totals(20_000), totals(0, 2)], 'USD'), '$0.4200 on models in 2 sessions');
  assert.equal(workspaceSpend([totals(0, 2)], 'USD'), null);
});
