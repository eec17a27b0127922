import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DivergenceError,
  IntegrityError,
  StepFailedError,
  ensureError,
  fromErrorData,
  isCancellation,
  parseErrorData,
  toErrorData,
} from '../../../src/durable/model/errors';

test('ensureError turns anything thrown into an Error', () => {
  assert.equal(ensureError('boom').message, 'boom');
  assert.match(ensureError({ a: 1 }).message, /non-error thrown: \{"a":1\}/);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.match(ensureError(circular).message, /not serializable/);
});

test('errors round-trip through plain data by code, not by class', () => {
  const original = new TypeError('bad input', { cause: new RangeError('inner') });
  const data = toErrorData(original);
  assert.deepEqual(data, { code: 'step_failed', name: 'TypeError', message: 'bad input', cause: { code: 'step_failed', name: 'RangeError', message: 'inner' } });
  const back = fromErrorData(parseErrorData(JSON.parse(JSON.stringify(data))));
  assert.ok(back instanceof StepFailedError);
  assert.equal(back.code, 'step_failed');
  assert.equal(back.message, 'bad input');
  assert.equal(toErrorData(back).name, 'TypeError', 'the original name survives a second round trip');
});

test('durable errors keep their code through the journal', () => {
  const data = toErrorData(new DivergenceError('e1', 3, 'readFile', 'writeFile'));
  assert.equal(data.code, 'divergence');
  assert.equal(fromErrorData(data).code, 'divergence');
});

test('parseErrorData rejects malformed stored errors', () => {
  assert.throws(() => parseErrorData(null), /not an object/);
  assert.throws(() => parseErrorData({ code: 'nope', name: 'x', message: 'y' }), /unknown code/);
  assert.throws(() => parseErrorData({ code: 'step_failed', name: 1, message: 'y' }), /lacks name or message/);
});

test('divergence messages name execution, step, recorded and requested', () => {
  const e = new DivergenceError('0190-exec', 7, '`readFile`', '`writeFile`');
  assert.match(e.message, /execution 0190-exec step 7: journal recorded `readFile`, code asked for `writeFile`/);
});

test('integrity errors say only that authentication failed', () => {
  assert.match(new IntegrityError('execution x step 1 step_result').message, /authentication failed/);
});

test('AbortError and cancelled errors count as cancellation', () => {
  const abort = new Error('aborted');
  abort.name = 'AbortError';
  assert.ok(isCancellation(abort));
  assert.ok(!isCancellation(new Error('x')));
  assert.equal(toErrorData(abort).code, 'cancelled');
});
