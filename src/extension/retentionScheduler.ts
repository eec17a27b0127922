/**
 * Retention on a schedule, off the hot path: a first run a few minutes after the
 * journal opens, then every few hours while the window stays open. Long parked
 * executions are folded into checkpoints in the same pass. On demand: `runNow`.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { foldExecution, prune, type PruneOptions, type RetentionConfig, type RetentionReport } from '../durable';
import type { DurableDatabase } from './database';

const FIRST_RUN_DELAY_MS = 3 * 60_000;
const INTERVAL_MS = 6 * 60 * 60_000;
/** Parked executions with more steps than this get their older results folded. */
const FOLD_ABOVE_STEPS = 1_000;

export class RetentionScheduler implements vscode.Disposable {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<RetentionReport> | undefined;
  private readonly subscription: vscode.Disposable;
  private disposed = false;

  constructor(
    private readonly database: DurableDatabase,
    private readonly log: vscode.LogOutputChannel,
    private readonly onChanged: () => void,
    /** The retention settings as they are now (changed in the UI, they apply to the next run without a reload). */
    private readonly settings: () => RetentionConfig,
  ) {
    this.subscription = database.onDidOpen(() => this.schedule(FIRST_RUN_DELAY_MS));
  }

  /** Prune now (or count, with `dryRun`). Concurrent calls share one run. */
  runNow(options: PruneOptions = {}): Promise<RetentionReport> {
    if (this.running && !options.dryRun) return this.running;
    const run = this.pass(options);
    if (!options.dryRun) {
      this.running = run;
      void run.finally(() => (this.running = undefined)).catch(() => undefined);
    }
    return run;
  }

  private async pass(options: PruneOptions): Promise<RetentionReport> {
    const engine = await this.database.get();
    const report = await prune(engine.backend, this.settings(), Date.now(), options);
    if (!options.dryRun) {
      const parked = await engine.backend.listExecutions({ statuses: ['suspended'] });
      for (const execution of parked) {
        if (execution.stepCount <= FOLD_ABOVE_STEPS || execution.leaseOwner !== null) continue;
        // The fold takes the execution's lease itself; a run or another window holding it wins.
        const lease = { owner: `retention-${randomUUID().slice(0, 8)}`, leaseMs: engine.config.leaseMs };
        const folded = await foldExecution(engine.backend, engine.codec, execution.id, lease);
        if (folded.foldedRows > 0) this.log.info(`retention: folded ${folded.foldedRows} results of ${execution.id} into ${folded.checkpoints} checkpoints`);
      }
      if (report.executionsRemoved > 0) this.onChanged();
      this.log.info(
        `retention: removed ${report.executionsRemoved} executions (${report.expired} expired, ${report.overExecutionCap} over the count cap, ` +
          `${report.overByteCap} over the size cap), ${report.rowsRemoved.journal} journal rows; ${report.staleAborted} abandoned runs aborted` +
          (report.vacuumed ? '; file compacted' : ''),
      );
    }
    return report;
  }

  private schedule(delayMs: number): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runNow()
        .catch((error: unknown) => this.log.warn(`retention: scheduled run failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.schedule(INTERVAL_MS));
    }, delayMs);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.subscription.dispose();
  }
}
