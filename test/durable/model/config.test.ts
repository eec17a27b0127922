import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_CONFIG, resolveConfig } from '../../../src/durable/model/config';
import { isDurableError } from '../../../src/durable/model/errors';

test('an empty config yields every default', () => {
  const config = resolveConfig({});
  assert.deepEqual(config, DEFAULT_CONFIG);
  assert.equal(config.flushIntervalMs, 10);
  assert.equal(config.batchSize, 256);
  assert.equal(config.ackTimeoutMs, 5000);
  assert.equal(config.maxPayloadBytes, 1024 * 1024);
  assert.equal(config.maxStepsPerExecution, 10_000);
  assert.equal(config.retentionCompletedMs, 7 * 86_400_000);
  assert.equal(config.retentionFailedMs, 30 * 86_400_000);
  assert.equal(config.maxExecutions, 10_000);
  assert.equal(config.maxJournalBytes, 1024 ** 3);
  assert.deepEqual(resolveConfig(), DEFAULT_CONFIG);
});

test('a partial config overrides only what it names', () => {
  const config = resolveConfig({ batchSize: 64, flushIntervalMs: undefined });
  assert.equal(config.batchSize, 64);
  assert.equal(config.flushIntervalMs, 10);
  assert.ok(Object.isFrozen(config));
});

test('invalid values are rejected with the field, the range and the value', () => {
  for (const [field, value] of [['batchSize', 0], ['batchSize', 1.5], ['ackTimeoutMs', '5s'], ['maxPayloadBytes', -1], ['flushIntervalMs', Number.NaN]] as const) {
    assert.throws(
      () => resolveConfig({ [field]: value }),
      (e: unknown) => isDurableError(e, 'invalid_config') && e.message.includes(`"${field}"`) && /must be an integer from/.test(e.message),
    );
  }
  assert.throws(() => resolveConfig({ batchSise: 3 } as never), /unknown durable config field "batchSise"/);
});
