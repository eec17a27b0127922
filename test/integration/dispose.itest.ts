// Phase 3, after a second reload: disposal as deactivate does it.
import * as assert from 'node:assert/strict';
import * as sqlite3 from '@vscode/sqlite3';
import { api } from './support';

suite('disposal', () => {
  test('disposal (as on deactivate) closes every database handle', async () => {
    const a = await api();
    const file = a.databaseFile()!;
    assert.ok(a.testing.openConnections() >= 1);
    await a.testing.dispose();
    assert.equal(a.testing.openConnections(), 0);
    // Nothing holds a lock: another connection gets an exclusive lock at once.
    const db = new sqlite3.Database(file);
    await new Promise<void>((resolve, reject) => {
      db.configure('busyTimeout', 0);
      db.exec('BEGIN EXCLUSIVE; ROLLBACK;', (err) => db.close(() => (err ? reject(err) : resolve())));
    });
  });
});
