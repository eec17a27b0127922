/**
 * The composition root: builds every service in order, passes dependencies
 * explicitly and owns their disposal. No global singleton: `activate` holds the
 * one instance and `deactivate` disposes it.
 */
import * as vscode from 'vscode';
import { ExecutionsTreeProvider } from '../views/executionsTree';
import { SessionPanels } from '../views/sessionPanel';
import { registerChatParticipant } from './chatParticipant';
import { DurableDatabase } from './database';
import { KeyStore } from './keyStore';
import { RetentionScheduler } from './retentionScheduler';
import { SessionService } from './sessionService';
import { readDurableConfig, SECTION } from './settings';

export class Container implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  readonly keys: KeyStore;
  readonly database: DurableDatabase;
  readonly executionsTree: ExecutionsTreeProvider;
  readonly retention: RetentionScheduler;
  readonly sessions: SessionService;
  readonly panels: SessionPanels;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(readonly context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Durable Sessions', { log: true });
    this.keys = new KeyStore(context.secrets);
    this.database = new DurableDatabase(
      context.storageUri,
      context.asAbsolutePath('migrations'),
      this.keys,
      () => this.config(),
      this.log,
    );
    this.executionsTree = new ExecutionsTreeProvider(this.database);
    this.retention = new RetentionScheduler(this.database, this.log, () => this.executionsTree.refresh());
    this.sessions = new SessionService(this.database, context.secrets, this.log);
    this.panels = new SessionPanels(this.sessions, context.extensionUri, this.log, context.workspaceState);
    this.disposables.push(
      this.panels,
      registerChatParticipant(this.sessions, context.extensionUri, this.log),
      this.sessions.onDidChange(() => this.executionsTree.refresh()),
      this.executionsTree,
      this.retention,
      vscode.window.registerTreeDataProvider('durableSessions.executions', this.executionsTree),
      this.database.onDidOpen(() => this.executionsTree.refresh()),
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

  /** Dispose in reverse order of construction. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0).reverse()) d.dispose();
    // Sessions stop before the database closes: interrupted runs stay resumable and release their leases.
    await this.sessions.dispose();
    await this.database.dispose();
    this.log.dispose();
  }
}
