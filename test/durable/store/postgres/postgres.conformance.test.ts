// The PostgreSQL adapter against the storage port's conformance suite, on the real server.
import { openPgStore, PG_MISSING } from '../../../pgTestStore';
import { storeConformance } from '../conformance';

storeConformance('postgres', async (t) => {
  let now = Date.now();
  const store = await openPgStore(t, { clock: () => now });
  return { store, sessions: store.sessions, advance: (ms) => (now += ms) };
}, PG_MISSING);
