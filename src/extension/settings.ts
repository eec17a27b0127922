/**
 * Reads `durableSessions.*` settings into the core's pure-data config. Invalid
 * values never reach the core: resolveConfig rejects them and we fall back to
 * the defaults with a logged warning, so a typo in settings.json cannot stop
 * the extension.
 */
import * as vscode from 'vscode';
import { ConfigError, EFFECT_CLASSES, resolveConfig, type DurableConfig } from '../durable';
import type { ModelPrice, PriceTable } from '../agent/pricing';

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

export type ResumeOnStartup = 'automatic' | 'ask' | 'never';
export type ModelProvider = 'vscode-lm' | 'openai' | 'scripted';

export interface AgentSettings {
  readonly provider: ModelProvider;
  readonly vscodeLmFamily: string;
  readonly openaiBaseUrl: string;
  readonly openaiModel: string;
  readonly scriptFile: string;
  readonly maxTurns: number;
  readonly tokenBudget: number;
  readonly requireCommandApproval: boolean;
  readonly interruptedCommand: 'ask' | 'skip' | 'fail' | 'rerun';
  readonly interruptedModelCall: 'rerun' | 'ask' | 'fail';
  readonly commandTimeoutSeconds: number;
  readonly offerExternalTools: boolean;
  readonly externalToolEffects: Readonly<Record<string, 'idempotent' | 'at_least_once' | 'exactly_once' | 'exclude'>>;
  readonly resumeOnStartup: ResumeOnStartup;
  /** Model name → price per million tokens; empty by default (no price is built in). */
  readonly prices: PriceTable;
  readonly currency: string;
  /** Currency units after which a session stops; 0 for no budget. */
  readonly costBudget: number;
}

/** A price table from settings: entries with two non-negative numbers are kept, others are reported and dropped. */
function priceTable(value: unknown, warn: (m: string) => void): PriceTable {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    warn(`settings: ${SECTION}.agent.prices must be an object of model names to { "input": …, "output": … }; no prices are used`);
    return {};
  }
  const table: Record<string, ModelPrice> = {};
  for (const [model, price] of Object.entries(value as Record<string, unknown>)) {
    const p = price as Record<string, unknown> | null;
    const valid = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1_000_000;
    if (typeof p === 'object' && p !== null && valid(p.input) && valid(p.output)) table[model] = { input: p.input, output: p.output };
    else warn(`settings: ${SECTION}.agent.prices["${model}"] needs "input" and "output" prices per million tokens (numbers ≥ 0); it is ignored`);
  }
  return table;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, name: string, warn: (m: string) => void): T {
  if (value === undefined) return fallback;
  if (allowed.includes(value as T)) return value as T;
  warn(`settings: ${SECTION}.${name} must be one of ${allowed.join(', ')}; using ${fallback}`);
  return fallback;
}

function count(value: unknown, min: number, max: number, fallback: number, name: string, warn: (m: string) => void): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  warn(`settings: ${SECTION}.${name} must be an integer from ${min} to ${max}; using ${fallback}`);
  return fallback;
}

/** Agent settings, each validated on its own: one bad value falls back alone, with a warning. */
export function readAgentSettings(warn: (message: string) => void): AgentSettings {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const effects = cfg.get<Record<string, unknown>>('agent.externalToolEffects') ?? {};
  const cleanEffects: Record<string, 'idempotent' | 'at_least_once' | 'exactly_once' | 'exclude'> = {};
  for (const [name, effect] of Object.entries(effects)) {
    const valid = oneOf(effect, [...EFFECT_CLASSES, 'exclude'] as const, 'at_least_once', `agent.externalToolEffects.${name}`, warn);
    cleanEffects[name] = valid;
  }
  const text = (key: string, fallback: string): string => {
    const v = cfg.get<unknown>(key);
    return typeof v === 'string' ? v.trim() : fallback;
  };
  return {
    provider: oneOf(cfg.get('agent.model'), ['vscode-lm', 'openai', 'scripted'] as const, 'vscode-lm', 'agent.model', warn),
    vscodeLmFamily: text('agent.vscodeLm.family', ''),
    openaiBaseUrl: text('agent.openai.baseUrl', 'http://127.0.0.1:11434/v1'),
    openaiModel: text('agent.openai.model', ''),
    scriptFile: text('agent.scriptFile', ''),
    maxTurns: count(cfg.get('agent.maxTurns'), 1, 1000, 25, 'agent.maxTurns', warn),
    tokenBudget: count(cfg.get('agent.tokenBudget'), 0, 1_000_000_000, 0, 'agent.tokenBudget', warn),
    requireCommandApproval: cfg.get<unknown>('agent.requireCommandApproval') !== false,
    interruptedCommand: oneOf(cfg.get('agent.interruptedCommand'), ['ask', 'skip', 'fail', 'rerun'] as const, 'ask', 'agent.interruptedCommand', warn),
    interruptedModelCall: oneOf(cfg.get('agent.interruptedModelCall'), ['rerun', 'ask', 'fail'] as const, 'rerun', 'agent.interruptedModelCall', warn),
    commandTimeoutSeconds: count(cfg.get('agent.commandTimeoutSeconds'), 1, 86_400, 120, 'agent.commandTimeoutSeconds', warn),
    offerExternalTools: cfg.get<unknown>('agent.offerExternalTools') !== false,
    externalToolEffects: cleanEffects,
    resumeOnStartup: oneOf(cfg.get('resumeOnStartup'), ['automatic', 'ask', 'never'] as const, 'ask', 'resumeOnStartup', warn),
    prices: priceTable(cfg.get<unknown>('agent.prices'), warn),
    currency: /^[A-Za-z]{3}$/.test(text('agent.currency', 'USD')) ? text('agent.currency', 'USD').toUpperCase() : 'USD',
    costBudget: ((): number => {
      const v = cfg.get<unknown>('agent.costBudget');
      if (v === undefined || v === 0) return 0;
      if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
      warn(`settings: ${SECTION}.agent.costBudget must be a positive amount (0 for none); no budget is used`);
      return 0;
    })(),
  };
}

export interface StoreSettings {
  readonly store: 'sqlite' | 'postgres';
  /** Which `@vscode/sqlite3` opens durable.db: VS Code's own, then the bundled copy ('auto'), or one of them only. */
  readonly sqliteBinding: 'auto' | 'vscode' | 'bundled';
  /** `postgres://user@host:port/db`, without its password. */
  readonly connectionString: string;
  /** Prepare the shared journal's statements by name (off behind a pooler that cannot track them). */
  readonly preparedStatements: boolean;
  /** Configured project id; empty: derived from the repository (see projectIdentity.ts). */
  readonly projectId: string;
}

/** Where the journal lives. A password in the connection string is refused at open (it belongs in SecretStorage). */
export function readStoreSettings(warn: (message: string) => void): StoreSettings {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const text = (key: string): string => {
    const v = cfg.get<unknown>(key);
    return typeof v === 'string' ? v.trim() : '';
  };
  return {
    store: oneOf(cfg.get('store'), ['sqlite', 'postgres'] as const, 'sqlite', 'store', warn),
    sqliteBinding: oneOf(cfg.get('sqlite.binding'), ['auto', 'vscode', 'bundled'] as const, 'auto', 'sqlite.binding', warn),
    connectionString: text('postgres.connectionString'),
    preparedStatements: ((): boolean => {
      const v = cfg.get<unknown>('postgres.preparedStatements');
      if (v === undefined || typeof v === 'boolean') return v ?? true;
      warn(`settings: ${SECTION}.postgres.preparedStatements must be true or false; true is used`);
      return true;
    })(),
    projectId: text('projectId'),
  };
}
