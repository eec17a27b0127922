// What a person reads when PostgreSQL refuses: each server condition maps to a
// reason the runtime acts on (retry, fence, report) and a message that says
// what to do, naming the server without its password.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StorageError } from '../../../../src/durable/model/errors';
import { describeServer, toStorageError } from '../../../../src/durable/store/postgres/pgConnection';

const where = describeServer('postgres://ann:s3cret@db.example:5432/journal');

function mapped(code: string, message = 'server said no'): StorageError {
  return toStorageError(Object.assign(new Error(message), { code }), where, 'append 2 journal rows') as StorageError;
}

test('the server is named without its password', () => {
  assert.equal(where, 'postgres://ann@db.example:5432/journal');
  assert.doesNotMatch(where, /s3cret/);
});

test('each server condition becomes a reason and advice', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['53100', 'io', /out of disk space or memory: free space on the server/],
    ['28P01', 'denied', /check the user name, the password \(Durable Sessions: Set PostgreSQL Password\)/],
    ['42501', 'denied', /the role's rights on the database/],
    ['3D000', 'cannot_open', /the database does not exist: create it/],
    ['25006', 'read_only', /read-only \(a standby\?\): point the connection string at the primary/],
    ['57P01', 'unavailable', /cannot be reached or went away; nothing committed is lost/],
    ['ECONNREFUSED', 'unavailable', /retries with backoff/],
    ['40P01', 'locked', /it is retried/],
    ['55P03', 'locked', /it is retried/],
    ['23505', 'conflict', /same identity already exists/],
    ['23503', 'conflict', /refers to an execution that does not exist/],
    // An unmapped code (here a NUL in text) keeps the server's message and no guessed advice.
    ['22021', 'io', /failed \(22021\): the server refused it \(see its message\): server said no$/],
    // A named statement the server connection does not hold (a pooler that does not track them).
    ['26000', 'io', /turn off durableSessions\.postgres\.preparedStatements, or set max_prepared_statements on PgBouncer 1\.21/],
    ['42P05', 'io', /a named statement met a server connection that does not hold it/],
  ];
  for (const [code, reason, advice] of cases) {
    const error = mapped(code);
    assert.ok(error instanceof StorageError, code);
    assert.equal(error.reason, reason, code);
    assert.match(error.message, advice, code);
    assert.match(error.message, /^postgres:\/\/ann@db\.example:5432\/journal: append 2 journal rows failed/, code);
  }
  assert.equal(mapped('', 'Connection terminated unexpectedly').reason, 'unavailable');
});
