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
import { DurableEngine, RolledBackError, type DurableConfig, type JournalAnchor } from '../durable';
import type { KeyStore } from './keyStore';

export const DATABASE_FILE = 'durable.db';
const ANCHOR_KEY = 'durableSessions.journalHighWater';

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
  ) {}

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
    };
    let engine: DurableEngine;
    try {
      engine = await DurableEngine.open(options);
    } catch (error) {
      if (!(error instanceof RolledBackError)) throw error;
      this.log.warn(error.message);
      // Only a person can say the older file is the one they meant to have.
      const choice = await vscode.window.showWarningMessage(`Durable Sessions: ${error.message}`, { modal: true }, 'Open Anyway');
      if (choice !== 'Open Anyway') throw error;
      this.log.warn(`opening ${file} although it is behind its anchor (entry ${error.reached} < ${error.anchored}), as the user chose`);
      engine = await DurableEngine.open({ ...options, acceptRolledBack: true });
    }
    this.log.info(`opened ${file} in ${Date.now() - started} ms (key ${engine.keyId})`);
    this._onDidOpen.fire(engine);
    return engine;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.close();
    this._onDidOpen.dispose();
  }
}
