/**
 * The workspace's `durable.db`, opened lazily on first use (never on the
 * activation path) in the extension's workspace storage, so the user's
 * repository never gets a database file.
 *
 * A failed open is remembered only until the next attempt: fixing the cause
 * (unlocking the file, freeing disk) and running the command again works.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { NoWorkspaceError } from '../views/journalService';

export { NoWorkspaceError };
import {
  bundledBindingCandidate,
  describeBinding,
  DurableEngine,
  hostBindingCandidates,
  isDurableError,
  NoSqliteBindingError,
  RolledBackError,
  type BindingCandidate,
  type DurableConfig,
  type JournalAnchor,
} from '../durable';
import type { KeyStore } from './keyStore';
import { projectIdentity, type ProjectIdentity } from './projectIdentity';
import type { StoreSettings } from './settings';

export const DATABASE_FILE = 'durable.db';
const ANCHOR_KEY = 'durableSessions.journalHighWater';
export const PG_PASSWORD_SECRET = 'durableSessions.postgres.password';

/** What the shared store needs besides settings: the password and the workspace folder (for the project id). */
export interface SharedStoreAccess {
  readonly secrets: Pick<vscode.SecretStorage, 'get'>;
  readonly workspaceFolder: () => string | undefined;
  readonly store: () => StoreSettings;
}

/** Where the SQLite module can come from: the running VS Code (`vscode.env.appRoot`) and this extension's folder. */
export interface BindingRoots {
  readonly appRoot: string;
  readonly extensionRoot: string;
}

/** A connection string that carries a password: refused, the password belongs in the secret store. */
function passwordIn(connectionString: string): boolean {
  try {
    return new URL(connectionString).password !== '';
  } catch {
    return false;
  }
}

export class DurableDatabase implements vscode.Disposable {
  private opening: Promise<DurableEngine> | undefined;
  private readonly _onDidOpen = new vscode.EventEmitter<DurableEngine>();
  readonly onDidOpen = this._onDidOpen.event;
  private disposed = false;

  constructor(
    private readonly storageUri: vscode.Uri | undefined,
    private readonly migrationsDir: string,
    private readonly keys: KeyStore,
    private readonly config: () => DurableConfig,
    private readonly log: vscode.LogOutputChannel,
    /** Where the journal's high water is kept outside the file (workspace state). */
    private readonly state: vscode.Memento,
    private readonly shared: SharedStoreAccess,
    private readonly postgresMigrationsDir: string,
    private readonly bindingRoots: BindingRoots,
  ) {}

  /** The candidates for `@vscode/sqlite3`, in the order durableSessions.sqlite.binding asks for. */
  private bindingCandidates(): BindingCandidate[] {
    const choice = this.shared.store().sqliteBinding;
    return [
      ...(choice === 'bundled' ? [] : hostBindingCandidates(this.bindingRoots.appRoot)),
      ...(choice === 'vscode' ? [] : [bundledBindingCandidate(this.bindingRoots.extensionRoot)]),
    ];
  }

  /** 'sqlite' or 'postgres', as the settings say now (it applies at the next open). */
  get storeKind(): 'sqlite' | 'postgres' {
    return this.shared.store().store;
  }

  /** The project this window works in on a shared journal. */
  project(): ProjectIdentity | undefined {
    const folder = this.shared.workspaceFolder();
    return folder === undefined ? undefined : projectIdentity(folder, this.shared.store().projectId);
  }

  /** Whether there is a journal to recover from without creating one (a shared store always is). */
  get hasJournal(): boolean {
    return this.storeKind === 'postgres' ? this.folder !== undefined : this.file !== undefined && existsSync(this.file);
  }

  /** Whether this workspace has a durable.db (whatever the store setting says). */
  get hasJournalFile(): boolean {
    return this.file !== undefined && existsSync(this.file);
  }

  /** Where the journal lives (or, given a kind, where that store's journal is), for messages and the status bar. */
  describe(kind: 'sqlite' | 'postgres' = this.storeKind): string {
    if (kind === 'postgres') return `${this.shared.store().connectionString || 'PostgreSQL (no connection string set)'} · project ${this.project()?.id ?? '?'}`;
    return this.file ?? 'no workspace';
  }

  /** Folder that holds durable.db, or undefined without a workspace. */
  get folder(): string | undefined {
    return this.storageUri?.fsPath;
  }

  get file(): string | undefined {
    return this.folder === undefined ? undefined : join(this.folder, DATABASE_FILE);
  }

  get isOpen(): boolean {
    return this.opening !== undefined;
  }

  /** The engine, opening it on first call. */
  get(): Promise<DurableEngine> {
    if (this.disposed) return Promise.reject(new Error('Durable Sessions is shutting down'));
    if (!this.opening) {
      this.opening = this.open();
      this.opening.catch(() => (this.opening = undefined));
    }
    return this.opening;
  }

  /** Close now; the next `get()` reopens (used after key rotation). */
  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    if (opening) await opening.then((e) => e.dispose(), () => undefined);
  }

  private async open(): Promise<DurableEngine> {
    const engine = await this.openStore(this.storeKind);
    this._onDidOpen.fire(engine);
    return engine;
  }

  /**
   * An engine on one store, whatever the setting says, not shared with the
   * views (moving a journal opens both). The caller disposes it.
   */
  openStore(kind: 'sqlite' | 'postgres'): Promise<DurableEngine> {
    return kind === 'postgres' ? this.openShared() : this.openFile();
  }

  private async openFile(): Promise<DurableEngine> {
    const folder = this.folder;
    const file = this.file;
    if (folder === undefined || file === undefined) throw new NoWorkspaceError();
    await mkdir(folder, { recursive: true });
    const fresh = !existsSync(file);
    // A key is made only together with a new journal; a new journal starts a new anchor.
    const keys = await this.keys.load({ createIfMissing: fresh });
    if (fresh) await this.state.update(ANCHOR_KEY, undefined);
    const anchor: JournalAnchor = {
      read: () => {
        const value = this.state.get<unknown>(ANCHOR_KEY);
        return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
      },
      write: (seq) => this.state.update(ANCHOR_KEY, seq),
    };
    const started = Date.now();
    const options = {
      file,
      migrationsDir: this.migrationsDir,
      masterKey: keys.current,
      previousKeys: keys.previous,
      config: this.config(),
      logger: { warn: (m: string) => this.log.warn(m) },
      anchor,
      sqliteBinding: this.bindingCandidates(),
    };
    let engine: DurableEngine;
    try {
      engine = await DurableEngine.open(options);
    } catch (error) {
      if (error instanceof NoSqliteBindingError) throw this.noBinding(error);
      if (!(error instanceof RolledBackError)) throw error;
      this.log.warn(error.message);
      // Only a person can say the older file is the one they meant to have.
      const choice = await vscode.window.showWarningMessage(`Durable Sessions: ${error.message}`, { modal: true }, 'Open Anyway');
      if (choice !== 'Open Anyway') throw error;
      this.log.warn(`opening ${file} although it is behind its anchor (entry ${error.reached} < ${error.anchored}), as the user chose`);
      engine = await DurableEngine.open({ ...options, acceptRolledBack: true });
    }
    this.log.info(`opened ${file} in ${Date.now() - started} ms (key ${engine.keyId})`);
    if (engine.sqliteBinding) this.log.info(`SQLite binding: ${describeBinding(engine.sqliteBinding)}`);
    return engine;
  }

  /** The log keeps every attempt; the message a person reads adds the setting when it narrowed the choice. */
  private noBinding(error: NoSqliteBindingError): Error {
    this.log.error(`no SQLite binding could be loaded (${process.platform}-${process.arch}, VS Code at ${this.bindingRoots.appRoot}):\n  ${error.attempts.join('\n  ')}`);
    const choice = this.shared.store().sqliteBinding;
    if (choice === 'auto') return error;
    return new Error(`${error.message}. The setting durableSessions.sqlite.binding is "${choice}": set it to "auto" to try both`, { cause: error });
  }

  /**
   * The shared journal on PostgreSQL. Sealing is mandatory there (the engine
   * always seals), and every machine must hold the same master key: the key
   * check recorded in the database refuses another one before anything is read.
   */
  /** The shared store's settings are usable (a connection string without a password, a workspace); throws what to fix. */
  checkSharedSettings(): { connectionString: string; preparedStatements: boolean; project: ProjectIdentity } {
    const settings = this.shared.store();
    const project = this.project();
    if (!project || this.folder === undefined) throw new NoWorkspaceError();
    if (!settings.connectionString) {
      throw new Error('the shared journal needs durableSessions.postgres.connectionString: set it to postgres://user@host:5432/database');
    }
    if (passwordIn(settings.connectionString)) {
      throw new Error('durableSessions.postgres.connectionString holds a password: remove it from the setting and run "Durable Sessions: Set PostgreSQL Password" (it is kept in the secret store)');
    }
    return { connectionString: settings.connectionString, preparedStatements: settings.preparedStatements, project };
  }

  private async openShared(): Promise<DurableEngine> {
    const { connectionString, preparedStatements, project } = this.checkSharedSettings();
    const password = await this.shared.secrets.get(PG_PASSWORD_SECRET);
    const keys = await this.keys.load({ createIfMissing: true });
    const started = Date.now();
    let engine: DurableEngine;
    try {
      engine = await DurableEngine.open({
        file: '',
        migrationsDir: this.postgresMigrationsDir,
        masterKey: keys.current,
        previousKeys: keys.previous,
        config: this.config(),
        logger: { warn: (m: string) => this.log.warn(m) },
        postgres: { connectionString, ...(password ? { password } : {}), project: project.id, preparedStatements },
      });
    } catch (error) {
      if (isDurableError(error, 'wrong_key')) {
        throw new Error(
          `${(error as Error).message}. The shared journal was sealed with another machine's key: export it there ("Durable Sessions: Export Encryption Key") ` +
            `and import it here ("Durable Sessions: Import Encryption Key"), or set ${'DURABLE_SESSIONS_MASTER_KEY'} on every machine. The key used now comes from ${this.keys.source}.`,
          { cause: error },
        );
      }
      throw error;
    }
    this.log.info(`opened the shared journal ${engine.backend.file} for project ${project.id} (${project.source}) in ${Date.now() - started} ms (key ${engine.keyId})`);
    if (project.source === 'folder name') this.log.warn(`project id "${project.id}" is the folder's name (no git remote): set durableSessions.projectId to the same value on every machine that shares this project`);
    return engine;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.close();
    this._onDidOpen.dispose();
  }
}
