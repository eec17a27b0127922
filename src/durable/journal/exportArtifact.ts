/**
 * Export and import of executions.
 *
 * An export is a versioned JSON artifact: the execution records, their
 * journal rows, and their session state (transcript events, promises, timers;
 * see exportSessionState.ts). By default payloads stay sealed (opening them needs the same
 * key); with `reveal` the payloads are decrypted into the file (the caller must
 * warn the user) and re-sealed with the importer's key on import.
 *
 * Every exported execution carries a keyed MAC over its whole record and all
 * its rows (status, title, times, sizes included; sealed or revealed alike), so
 * an importer with the same key accepts only what was exported, bit for bit.
 *
 * Import validates everything before it writes anything: format and version,
 * size, structure of every field, the execution's MAC, every row's seal or MAC
 * (or re-seals revealed payloads), and that no execution already exists. Then
 * it applies all of it in one transaction and marks each journal (see
 * journalMark.ts). A bad file is refused with a message that says what is
 * wrong, and nothing is applied.
 *
 * A revealed file that does not authenticate here (another key, an older
 * format) is refused unless the caller asks for `untrusted`: then it comes in as
 * read-only history, `aborted` with a detail that says so, and never resumes.
 */
import { fromHex, toHex, utf8 } from '../model/bytes';
import { ImportError, IntegrityError, isDurableError } from '../model/errors';
import { EFFECT_CLASSES, type EffectClass } from '../model/effect';
import { parseExecutionId, type ExecutionId } from '../model/ids';
import { CONTROL_KINDS, ENTRY_KINDS, EXECUTION_STATUSES, isControlKind, type EntryKind, type ExecutionRecord, type ExecutionStatus, type NewEntry, type StoredRow } from '../model/journal';
import type { JournalCodec } from '../crypto/journalCodec';
import type { ImportedExecution, JournalStore } from '../store/journalStore';
import type { SessionEventStore } from '../sessions/sessionEventStore';
import { writeJournalMark } from './journalMark';
import { fail, hex, int, obj, optStr, str, type Json } from './importFields';
import { collectState, parseState, type ExportedState, type ImportedState } from './exportSessionState';

export const EXPORT_FORMAT = 'durable-agent-sessions export';
/** 3: executions carry their session events, promises and timers (exportSessionState.ts). */
export const EXPORT_SCHEMA_VERSION = 3;
/** Version 2 files carry journal rows only; they still authenticate. */
const ROWS_ONLY_VERSION = 2;
/** Version 1 files carry no execution MACs: they import only as untrusted history. */
const UNAUTHENTICATED_VERSION = 1;
/** Status detail of executions imported without authentication; they never resume. */
export const UNTRUSTED_IMPORT_DETAIL = 'untrusted import: read-only history (its origin could not be authenticated)';
export const DEFAULT_MAX_EXPORT_BYTES = 256 * 1024 * 1024;

interface ExportedRow {
  attempt: number;
  stepId: number | null;
  kind: EntryKind;
  stepName: string | null;
  effect: EffectClass | null;
  idempotencyKey: string | null;
  /** Sealed: hex of the stored body (sealed payload or control metadata). */
  body?: string;
  mac?: string | null;
  /** Revealed: the payload in base64, or the control metadata as JSON. */
  payload?: string;
  meta?: unknown;
  size: number;
  createdAt: number;
}

interface ExportedExecution {
  id: string;
  kind: string;
  version: number;
  title: string;
  status: ExecutionStatus;
  attempt: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  statusDetail: string | null;
  rows: ExportedRow[];
  events?: ExportedState['events'];
  promises?: ExportedState['promises'];
  timers?: ExportedState['timers'];
  /** Hex of the keyed MAC over this object without `mac`, as JSON. */
  mac?: string;
}

interface ExportFile {
  format: typeof EXPORT_FORMAT;
  schemaVersion: number;
  exportedAt: number;
  revealed: boolean;
  executions: ExportedExecution[];
}

export interface ExportOptions {
  readonly executions?: readonly ExecutionId[];
  /** Decrypt payloads into the file. The caller must have warned the user. */
  readonly reveal?: boolean;
  readonly maxBytes?: number;
  readonly segmentSize?: number;
  readonly now?: number;
  readonly signal?: AbortSignal;
}

/** Where exports read from and imports write to (a DurableEngine is one). */
export interface ExportStores {
  readonly backend: JournalStore;
  readonly codec: JournalCodec;
  readonly sessions: SessionEventStore;
}

export async function exportExecutions(stores: ExportStores, options: ExportOptions = {}): Promise<Uint8Array> {
  const { backend, codec } = stores;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EXPORT_BYTES;
  const ids = options.executions ?? (await backend.listExecutions()).map((e) => e.id).reverse();
  const executions: ExportedExecution[] = [];
  let budget = 0;
  for (const id of ids) {
    const e = await backend.getExecution(id);
    if (!e) throw new ImportError(`execution ${id} does not exist`);
    const rows: ExportedRow[] = [];
    for await (const r of backend.journalRows(id, { segmentSize: options.segmentSize })) {
      options.signal?.throwIfAborted();
      const base = { attempt: r.attempt, stepId: r.stepId, kind: r.kind, stepName: r.stepName, effect: r.effect, idempotencyKey: r.idempotencyKey ? toHex(r.idempotencyKey) : null, size: r.size, createdAt: r.createdAt };
      const row: ExportedRow = !options.reveal
        ? { ...base, body: toHex(r.body), mac: r.mac ? toHex(r.mac) : null }
        : isControlKind(r.kind)
          ? { ...base, meta: codec.readMeta(r as StoredRow & { kind: (typeof CONTROL_KINDS)[number] }) }
          : { ...base, payload: Buffer.from(codec.openPayload(r)).toString('base64') };
      budget += (row.body?.length ?? 0) + (row.payload?.length ?? 0) + 300;
      if (budget > maxBytes) throw new ImportError(`the export would exceed ${maxBytes} bytes; export fewer executions`);
      rows.push(row);
    }
    const state = await collectState(backend, codec, stores.sessions, id, options.reveal === true);
    budget += JSON.stringify(state).length;
    if (budget > maxBytes) throw new ImportError(`the export would exceed ${maxBytes} bytes; export fewer executions`);
    const record: ExportedExecution = {
      id: e.id, kind: e.kind, version: e.version, title: e.title, status: e.status, attempt: e.attempt,
      createdAt: e.createdAt, updatedAt: e.updatedAt, finishedAt: e.finishedAt, statusDetail: e.statusDetail, rows, ...state,
    };
    executions.push({ ...record, mac: toHex(codec.labelledMac('export', utf8(JSON.stringify(record)))) });
  }
  const file: ExportFile = { format: EXPORT_FORMAT, schemaVersion: EXPORT_SCHEMA_VERSION, exportedAt: options.now ?? Date.now(), revealed: options.reveal === true, executions };
  const bytes = new TextEncoder().encode(JSON.stringify(file));
  if (bytes.length > maxBytes) throw new ImportError(`the export would be ${bytes.length} bytes, over the ${maxBytes}-byte limit; export fewer executions`);
  return bytes;
}

// ---- validation (field checks in importFields.ts) -----------------------------------------------

function parseRow(raw: unknown, executionId: ExecutionId, revealed: boolean, where: string): ExportedRow & { parsed: Omit<StoredRow, 'body' | 'mac' | 'createdAt'> & { body?: Uint8Array; mac?: Uint8Array | null; payload?: Uint8Array; meta?: unknown; createdAt: number } } {
  const o = obj(raw, where);
  const kind = str(o, 'kind', where, 64) as EntryKind;
  if (!ENTRY_KINDS.includes(kind)) fail(where, `unknown entry kind "${kind}"`);
  const effect = o.effect === null ? null : (str(o, 'effect', where, 32) as EffectClass);
  if (effect !== null && !EFFECT_CLASSES.includes(effect)) fail(where, `unknown effect "${effect}"`);
  const stepId = o.stepId === null ? null : int(o, 'stepId', where, 0, 0xffff_ffff);
  const parsed = {
    executionId, attempt: int(o, 'attempt', where, 1, 1_000_000), stepId, kind, stepName: optStr(o, 'stepName', where, 1_000), effect,
    idempotencyKey: o.idempotencyKey === null ? null : hex(o, 'idempotencyKey', where, 32), size: int(o, 'size', where), createdAt: int(o, 'createdAt', where),
  };
  if (!revealed) {
    const mac = o.mac === null || o.mac === undefined ? null : hex(o, 'mac', where);
    return { ...(o as unknown as ExportedRow), parsed: { ...parsed, body: hex(o, 'body', where), mac } };
  }
  if (isControlKind(kind)) {
    if (typeof o.meta !== 'object' || o.meta === null) fail(where, 'a control entry needs its metadata');
    return { ...(o as unknown as ExportedRow), parsed: { ...parsed, meta: o.meta } };
  }
  const payload = str(o, 'payload', where, 200_000_000);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload)) fail(where, '"payload" is not base64');
  return { ...(o as unknown as ExportedRow), parsed: { ...parsed, payload: new Uint8Array(Buffer.from(payload, 'base64')) } };
}

export interface ParsedImport {
  readonly revealed: boolean;
  /** False when the file came in as untrusted read-only history. */
  readonly trusted: boolean;
  readonly items: ReadonlyArray<ImportedExecution & { readonly events: ImportedState['events'] }>;
}

export interface ImportOptions {
  readonly maxBytes?: number;
  /** Accept a revealed file that does not authenticate here, as read-only history (the caller must have asked a person). */
  readonly untrusted?: boolean;
}

/** Does the execution object's MAC verify with this key? (Its key order and values exactly as exported.) */
function authentic(o: Json, codec: JournalCodec): boolean {
  const { mac, ...record } = o;
  if (typeof mac !== 'string' || !/^[0-9a-f]+$/.test(mac) || mac.length % 2 !== 0) return false;
  try {
    codec.verifyLabelledMac('export', fromHex(mac), utf8(JSON.stringify(record)), () => 'export', 'not authenticated');
    return true;
  } catch {
    return false;
  }
}

/**
 * Validate an export file completely and turn it into rows sealed for this
 * database (verified if they came sealed, re-sealed if they came revealed).
 */
export function parseImport(bytes: Uint8Array, stores: Omit<ExportStores, 'backend'>, options: ImportOptions = {}): ParsedImport {
  const { codec } = stores;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EXPORT_BYTES;
  if (bytes.length > maxBytes) fail('file', `${bytes.length} bytes is over the ${maxBytes}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    fail('file', 'not valid UTF-8 JSON');
  }
  const root = obj(json, 'file');
  if (root.format !== EXPORT_FORMAT) fail('file', `not a Durable Sessions export (format ${JSON.stringify(String(root.format).slice(0, 60))})`);
  const version = int(root, 'schemaVersion', 'file', 0, 1_000_000);
  if (version !== EXPORT_SCHEMA_VERSION && version !== ROWS_ONLY_VERSION && version !== UNAUTHENTICATED_VERSION) {
    fail('file', `schema version ${version} is not supported (this extension reads versions ${UNAUTHENTICATED_VERSION} to ${EXPORT_SCHEMA_VERSION})`);
  }
  if (typeof root.revealed !== 'boolean') fail('file', '"revealed" must be true or false');
  const revealed = root.revealed;
  if (!Array.isArray(root.executions)) fail('file', '"executions" must be a list');
  const seen = new Set<string>();
  let trusted = true;
  const items = (root.executions as unknown[]).map((rawExecution, i) => {
    const where = `execution ${i + 1}`;
    const o = obj(rawExecution, where);
    const authenticated = version !== UNAUTHENTICATED_VERSION && authentic(o, codec);
    let id: ExecutionId;
    try {
      id = parseExecutionId(str(o, 'id', where, 64));
    } catch {
      fail(where, '"id" is not an execution id');
    }
    if (seen.has(id)) fail(where, `execution ${id} appears twice`);
    seen.add(id);
    const status = str(o, 'status', where, 32) as ExecutionStatus;
    if (!EXECUTION_STATUSES.includes(status)) fail(where, `unknown status "${status}"`);
    const execution: ExecutionRecord = {
      id, kind: str(o, 'kind', where, 64), version: int(o, 'version', where, 1, 1_000_000), title: str(o, 'title', where, 200), status,
      attempt: int(o, 'attempt', where, 1, 1_000_000), createdAt: int(o, 'createdAt', where), updatedAt: int(o, 'updatedAt', where),
      finishedAt: o.finishedAt === null ? null : int(o, 'finishedAt', where), stepCount: 0, statusDetail: optStr(o, 'statusDetail', where, 1_000),
      leaseOwner: null, leaseExpiresAt: null, leaseEpoch: 0,
    };
    if (!Array.isArray(o.rows)) fail(where, '"rows" must be a list');
    const rows = (o.rows as unknown[]).map((rawRow, j) => {
      const rowWhere = `${where} row ${j + 1}`;
      const { parsed } = parseRow(rawRow, id, revealed, rowWhere);
      try {
        if (!revealed) {
          const stored: StoredRow = { ...parsed, body: parsed.body!, mac: parsed.mac ?? null };
          codec.verify(stored);
          return stored;
        }
        const header = { executionId: id, attempt: parsed.attempt, stepId: parsed.stepId, stepName: parsed.stepName, effect: parsed.effect, idempotencyKey: parsed.idempotencyKey };
        const entry = (isControlKind(parsed.kind) ? { ...header, kind: parsed.kind, meta: parsed.meta } : { ...header, kind: parsed.kind, payload: parsed.payload }) as NewEntry;
        return { ...codec.encode(entry), createdAt: parsed.createdAt };
      } catch (error) {
        if (error instanceof IntegrityError) fail(rowWhere, 'its seal does not verify with the keys of this workspace (tampered, or exported with another key)');
        if (isDurableError(error)) fail(rowWhere, error.message);
        throw error;
      }
    });
    const state = parseState(o, id, revealed, codec, stores.sessions, where);
    if (!authenticated) {
      // Sealed rows that verified prove the key; the record around them must verify too.
      if (!revealed || !options.untrusted) {
        throw new ImportError(
          `${where}: its record is not authenticated with the keys of this workspace (exported with another key, by an older version, or changed after export: ` +
            'status, title, times and sizes are all covered)' +
            (revealed ? '. It can be imported as untrusted read-only history that never resumes' : ''),
          revealed,
        );
      }
      trusted = false;
      return {
        execution: { ...execution, status: 'aborted' as const, finishedAt: execution.finishedAt ?? execution.updatedAt, statusDetail: UNTRUSTED_IMPORT_DETAIL },
        rows,
        ...state,
      };
    }
    return { execution, rows, ...state };
  });
  return { revealed, trusted, items };
}

/** Import a validated file in one transaction; refuses executions that already exist. */
export async function importExecutions(
  stores: ExportStores,
  bytes: Uint8Array,
  options: ImportOptions = {},
): Promise<{ imported: number; rows: number; trusted: boolean; events: number; promises: number }> {
  const { backend, codec, sessions } = stores;
  const parsed = parseImport(bytes, stores, options);
  for (const { execution } of parsed.items) {
    if (await backend.getExecution(execution.id)) fail(`execution ${execution.id}`, 'already exists in this workspace');
  }
  // One transaction for the executions and their transcripts: a failure leaves nothing behind.
  await backend.importExecutions(parsed.items, async () => {
    for (const item of parsed.items) await sessions.insertImported(item.execution.id, item.events);
  });
  // Nobody runs them yet: mark their journals now, so completeness checks cover the imported rows.
  for (const { execution } of parsed.items) await writeJournalMark(backend, codec, execution.id);
  const total = (f: (i: ParsedImport['items'][number]) => number): number => parsed.items.reduce((n, i) => n + f(i), 0);
  return {
    imported: parsed.items.length,
    rows: total((i) => i.rows.length),
    trusted: parsed.trusted,
    events: total((i) => i.events.length),
    promises: total((i) => i.promises?.length ?? 0),
  };
}
