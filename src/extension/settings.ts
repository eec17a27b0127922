/**
 * Reads `durableSessions.*` settings into the core's pure-data config. Invalid
 * values never reach the core: resolveConfig rejects them and we fall back to
 * the defaults with a logged warning, so a typo in settings.json cannot stop
 * the extension.
 */
import * as vscode from 'vscode';
import { ConfigError, resolveConfig, type DurableConfig } from '../durable';

export const SECTION = 'durableSessions';

const DAY_MS = 86_400_000;

/** Settings whose name differs from the core field, with their unit conversion. */
function readRaw(cfg: vscode.WorkspaceConfiguration): Partial<Record<keyof DurableConfig, unknown>> {
  const days = (key: string): number | undefined => {
    const v = cfg.get<number>(key);
    return typeof v === 'number' ? Math.round(v * DAY_MS) : undefined;
  };
  const mb = cfg.get<number>('retention.maxJournalMB');
  return {
    flushIntervalMs: cfg.get('journal.flushIntervalMs'),
    batchSize: cfg.get('journal.batchSize'),
    ackTimeoutMs: cfg.get('journal.ackTimeoutMs'),
    maxPayloadBytes: cfg.get('journal.maxPayloadBytes'),
    maxStepsPerExecution: cfg.get('maxStepsPerExecution'),
    retentionCompletedMs: days('retention.completedDays'),
    retentionFailedMs: days('retention.failedDays'),
    maxExecutions: cfg.get('retention.maxExecutions'),
    maxJournalBytes: typeof mb === 'number' ? Math.round(mb * 1024 * 1024) : undefined,
  };
}

export function readDurableConfig(warn: (message: string) => void): DurableConfig {
  try {
    return resolveConfig(readRaw(vscode.workspace.getConfiguration(SECTION)));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    warn(`settings: ${error.message}; using the defaults until it is fixed`);
    return resolveConfig({});
  }
}
