/**
 * What `activate` returns. The stable part is small; the `testing` part exists
 * only when the host was started with DURABLE_SESSIONS_TEST_API=1 (the
 * integration harness), so no other extension can reach the journal through it.
 */
import { openConnectionCount, type DurableConfig, type DurableEngine } from '../durable';
import type { Container } from './container';

export interface DurableSessionsApi {
  readonly apiVersion: 1;
  /** Path of this workspace's durable.db (undefined without a workspace). */
  databaseFile(): string | undefined;
  readonly testing?: {
    /** The engine, opening the database if needed. */
    engine(): Promise<DurableEngine>;
    config(): DurableConfig;
    isDatabaseOpen(): boolean;
    /** SQLite connections open in this extension host. */
    openConnections(): number;
    /** Executions shown in open journal explorer panels. */
    openExplorers(): string[];
    /** The status bar item's text and tooltip as last shown. */
    statusBar(): { text: string; tooltip: string; visible: boolean };
    /** Dispose everything as deactivate does (the extension is unusable afterwards). */
    dispose(): Promise<void>;
  };
}

export function createApi(container: Container): DurableSessionsApi {
  const api: DurableSessionsApi = {
    apiVersion: 1,
    databaseFile: () => container.database.file,
  };
  if (process.env.DURABLE_SESSIONS_TEST_API !== '1') return api;
  return {
    ...api,
    testing: {
      engine: () => container.database.get(),
      config: () => container.config(),
      isDatabaseOpen: () => container.database.isOpen,
      openConnections: openConnectionCount,
      openExplorers: () => container.explorers.openExecutions,
      statusBar: () => container.statusBar.current,
      dispose: () => container.dispose(),
    },
  };
}
