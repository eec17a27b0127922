// The SQLite adapter against the storage port's conformance suite.
import { join } from 'node:path';
import { loadMigrations } from '../../../../src/durable/store/sqlite/migrations';
import { SqliteBackend } from '../../../../src/durable/store/sqlite/sqliteBackend';
import { SqliteSessionStorage } from '../../../../src/durable/store/sqlite/sqliteSessionStorage';
import { MIGRATIONS_DIR, tempDir } from '../../../helpers';
import { storeConformance } from '../conformance';

storeConformance('sqlite', async (t) => {
  let now = Date.now();
  const store = await SqliteBackend.open({ file: join(tempDir(t), 'durable.db'), migrations: loadMigrations(MIGRATIONS_DIR), busyTimeoutMs: 200, clock: () => now });
  t.after(() => store.close());
  return { store, sessions: new SqliteSessionStorage(store.connection), advance: (ms) => (now += ms) };
});
