/**
 * The composition root: builds every service in order, passes dependencies
 * explicitly and owns their disposal. No global singleton: `activate` holds the
 * one instance and `deactivate` disposes it.
 */
import { DisposableStore } from '../views/disposableStore';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { ExecutionsTreeProvider } from '../views/executionsTree';
import { JournalExplorers } from '../views/journalExplorer';
import { SessionPanels } from '../views/sessionPanel';
import { DurableStatusBar } from '../views/statusBar';
import { registerChatParticipant } from './chatParticipant';
import { registerVersionDocuments } from './versionDocuments';
import { DurableDatabase } from './database';
import { JournalService } from '../views/journalService';
import { HostMarker } from './hostMarker';
import { KeyStore } from './keyStore';
import { LogRevealer } from './logRevealer';
import { RetentionScheduler } from './retentionScheduler';
import { SessionService } from './sessionService';
import { readDurableConfig, readStoreSettings, SECTION } from './settings';

export class Container implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  /** Show Log: reveals the channel (twice, see logRevealer.ts). */
  readonly logRevealer: LogRevealer;
  readonly keys: KeyStore;
  readonly database: DurableDatabase;
  readonly executionsTree: ExecutionsTreeProvider;
  readonly retention: RetentionScheduler;
  readonly sessions: SessionService;
  readonly panels: SessionPanels;
  readonly journal: JournalService;
  readonly explorers: JournalExplorers;
  readonly statusBar: DurableStatusBar;
  readonly hostMarker: HostMarker;
  private readonly disposables = new DisposableStore();
  private disposed = false;

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Durable Sessions', { log: true });
    this.logRevealer = new LogRevealer(this.log);
    this.hostMarker = new HostMarker(join((context.storageUri ?? context.globalStorageUri).fsPath, 'hosts'));
    this.keys = new KeyStore(context.secrets);
    this.database = new DurableDatabase(
      context.storageUri,
      context.asAbsolutePath('migrations/sqlite'),
      this.keys,
      () => this.config(),
      this.log,
      context.workspaceState,
      {
        secrets: context.secrets,
        workspaceFolder: () => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath,
        store: () => readStoreSettings((m) => this.log.warn(m)),
      },
      context.asAbsolutePath('migrations/postgres'),
      { appRoot: vscode.env.appRoot, extensionRoot: context.extensionPath },
    );
    this.sessions = new SessionService(this.database, context.secrets, this.log, context.asAbsolutePath('dist/commandSupervisor.js'), context.asAbsolutePath('media/demo/tour.json'));
    this.journal = new JournalService(this.database, this.sessions, this.log);
    this.executionsTree = new ExecutionsTreeProvider(this.journal);
    this.retention = new RetentionScheduler(this.database, this.log, () => this.journal.notifyChanged(), () => this.config());
    this.panels = new SessionPanels(this.sessions, context.extensionUri, this.log, context.workspaceState);
    this.explorers = new JournalExplorers(this.journal, context.extensionUri, this.log, context.workspaceState);
    this.statusBar = new DurableStatusBar(this.journal, this.executionsTree.onDidLoad, () => this.database.isOpen || this.database.hasJournal, this.log, () => this.database.describe());
    this.disposables.add(
      this.logRevealer,
      this.journal,
      this.panels,
      this.explorers,
      this.statusBar,
      registerChatParticipant(this.sessions, context.extensionUri, this.log),
      registerVersionDocuments(),
      this.executionsTree,
      this.retention,
      vscode.window.registerTreeDataProvider('durableSessions.executions', this.executionsTree),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(SECTION)) {
          // Validate now so a bad value is reported when it is typed, not at the next open.
          this.config();
          this.log.info('settings changed; journal settings apply the next time the database opens');
        }
      }),
    );
  }

  /** The journal settings as the core sees them (invalid values are logged and replaced by defaults). */
  config(): ReturnType<typeof readDurableConfig> {
    return readDurableConfig((m) => this.log.warn(m));
  }

  /**
   * Activation after a crash of the previous extension host: the tabs it served are still on
   * screen with dead buttons; replace them by live panels. Returns how many were replaced.
   */
  async replaceDeadTabs(): Promise<number> {
    const crashed = this.hostMarker.start();
    if (crashed === 0) return 0;
    this.log.warn('the previous extension host of this window stopped without shutting down (a crash); reconnecting its panels');
    return (await this.panels.replaceDeadTabs()) + (await this.explorers.replaceDeadTabs());
  }

  /** Dispose in reverse order of construction. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.hostMarker.markClean();
    this.disposables.dispose();
    // Sessions stop before the database closes: interrupted runs stay resumable and release their leases.
    await this.sessions.dispose();
    await this.database.dispose();
    this.log.dispose();
  }
}
