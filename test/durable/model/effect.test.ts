import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveEffect } from '../../../src/durable/model/effect';
import { isDurableError } from '../../../src/durable/model/errors';

test('unguarded steps resolve without intent or policy', () => {
  assert.deepEqual(resolveEffect('read', { effect: 'idempotent' }), { effect: 'idempotent', guarded: false });
  assert.deepEqual(resolveEffect('log', { effect: 'at_least_once' }), { effect: 'at_least_once', guarded: false });
});

test('a guarded step defaults to cost_bearing with the skip policy', () => {
  assert.deepEqual(resolveEffect('model', { effect: 'exactly_once' }), { effect: 'exactly_once', guarded: true, intent: 'cost_bearing', policy: 'skip' });
  assert.equal(resolveEffect('model', { effect: 'exactly_once', policy: 'verify' }).guarded, true);
});

for (const intent of ['destructive', 'security', 'money', 'custom'] as const) {
  test(`declaring a ${intent} guarded step without a policy throws`, () => {
    assert.throws(
      () => resolveEffect('danger', { effect: 'exactly_once', intent }),
      (e: unknown) => isDurableError(e, 'invalid_declaration') && /must declare an ambiguity policy/.test(e.message) && e.message.includes('"danger"'),
    );
    assert.deepEqual(resolveEffect('danger', { effect: 'exactly_once', intent, policy: 'ask' }), { effect: 'exactly_once', guarded: true, intent, policy: 'ask' });
  });
}

test('intent or policy on an unguarded step is rejected', () => {
  assert.throws(() => resolveEffect('x', { effect: 'idempotent', policy: 'rerun' }), /apply only to exactly_once/);
  assert.throws(() => resolveEffect('x', { effect: 'at_least_once', intent: 'money' }), /apply only to exactly_once/);
});

test('unknown classes and policies are rejected by name', () => {
  assert.throws(() => resolveEffect('x', { effect: 'maybe' as never }), /unknown effect class "maybe"/);
  assert.throws(() => resolveEffect('x', { effect: 'exactly_once', intent: 'fun' as never }), /unknown intent class/);
  assert.throws(() => resolveEffect('x', { effect: 'exactly_once', policy: 'pray' as never }), /unknown ambiguity policy/);
});
