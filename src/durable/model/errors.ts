/**
 * The closed set of errors the durable core raises.
 *
 * Every error has a string `code` (stable, safe to switch on and to store) and a
 * message that names what failed, where, and how to fix it. Messages carry
 * metadata only: never a payload, a key, or a token.
 */

/** Every error code, once: the type is derived from the list. */
export const DURABLE_ERROR_CODES = [
  'divergence',
  'ambiguous_effect',
  'journal_unavailable',
  'integrity',
  'payload_too_large',
  'invalid_config',
  'invalid_declaration',
  'storage',
  'migration',
  'step_limit',
  'cancelled',
  'timeout',
  'not_found',
  'lease_held',
  'invalid_state',
  'invalid_import',
  'already_running',
  'already_completed',
  'wrong_key',
  'step_failed',
] as const;

export type DurableErrorCode = (typeof DURABLE_ERROR_CODES)[number];

/** Why a storage operation failed; lets the UI say something precise. */
/**
 * Why the store failed. `locked` and `unavailable` (a server that went away) are
 * passing and retried with backoff; `fenced` means this run's lease passed to
 * another owner and its write was refused; `denied` is a role without rights or a
 * wrong password.
 */
export type StorageFailure = 'locked' | 'unavailable' | 'read_only' | 'corrupt' | 'cannot_open' | 'newer_schema' | 'closed' | 'io' | 'conflict' | 'fenced' | 'denied';

/** Passing failures: waited out with backoff rather than reported at once. */
export function isPassingStorageFailure(error: unknown): boolean {
  return error instanceof StorageError && (error.reason === 'locked' || error.reason === 'unavailable');
}

/** Plain-data form of an error, as stored in the journal (`step_failed`, `execution_finished`). */
export interface ErrorData {
  readonly code: DurableErrorCode;
  readonly name: string;
  readonly message: string;
  readonly cause?: ErrorData;
}

export class DurableError extends Error {
  constructor(
    readonly code: DurableErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DurableError';
  }
}

/** Replay asked for something other than what the journal recorded. */
export class DivergenceError extends DurableError {
  constructor(
    readonly executionId: string,
    readonly stepId: number,
    readonly recorded: string,
    readonly requested: string,
  ) {
    super(
      'divergence',
      `execution ${executionId} step ${stepId}: journal recorded ${recorded}, code asked for ${requested}; ` +
        'the workflow changed since it was recorded, so this attempt restarts without replay',
    );
    this.name = 'DivergenceError';
  }
}

/** An intent was committed but its result was not, and the policy says to stop. */
export class AmbiguousEffectError extends DurableError {
  constructor(
    readonly executionId: string,
    readonly stepId: number,
    readonly stepName: string,
    detail: string,
  ) {
    super('ambiguous_effect', `execution ${executionId} step ${stepId} (${stepName}): ${detail}`);
    this.name = 'AmbiguousEffectError';
  }
}

/** An acknowledged append did not commit within its timeout (or the writer failed). */
export class JournalUnavailableError extends DurableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('journal_unavailable', message, options);
    this.name = 'JournalUnavailableError';
  }
}

/** Authentication of a sealed payload or a control entry failed. Deliberately vague. */
export class IntegrityError extends DurableError {
  constructor(
    readonly where: string,
    detail = 'authentication failed; the entry was not trusted',
  ) {
    super('integrity', `journal integrity check failed at ${where}: ${detail}`);
    this.name = 'IntegrityError';
  }
}

export class PayloadTooLargeError extends DurableError {
  constructor(
    readonly size: number,
    readonly limit: number,
    where: string,
  ) {
    super(
      'payload_too_large',
      `${where}: payload of ${size} bytes exceeds the limit of ${limit} bytes; ` +
        'raise durableSessions.maxPayloadBytes or store less in one step',
    );
    this.name = 'PayloadTooLargeError';
  }
}

export class ConfigError extends DurableError {
  constructor(message: string) {
    super('invalid_config', message);
    this.name = 'ConfigError';
  }
}

/** A step or workflow was declared in a way the rules forbid (caught before anything runs). */
export class DeclarationError extends DurableError {
  constructor(message: string) {
    super('invalid_declaration', message);
    this.name = 'DeclarationError';
  }
}

export class StorageError extends DurableError {
  constructor(
    readonly reason: StorageFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('storage', message, options);
    this.name = 'StorageError';
  }
}

export class MigrationError extends DurableError {
  constructor(message: string) {
    super('migration', message);
    this.name = 'MigrationError';
  }
}

export class StepLimitError extends DurableError {
  constructor(executionId: string, limit: number) {
    super(
      'step_limit',
      `execution ${executionId}: more than ${limit} steps; raise maxStepsPerExecution or split the workflow`,
    );
    this.name = 'StepLimitError';
  }
}

export class CancelledError extends DurableError {
  /**
   * True when the process is stopping (shutdown, or the lease went to another
   * owner), not a person cancelling: work that can outlive it (a supervised
   * command) is left to finish, and the next owner reads its outcome.
   */
  readonly stopping: boolean;

  constructor(message = 'cancelled', options: { stopping?: boolean } = {}) {
    super('cancelled', message);
    this.name = 'CancelledError';
    this.stopping = options.stopping === true;
  }
}

export class TimeoutError extends DurableError {
  constructor(message: string) {
    super('timeout', message);
    this.name = 'TimeoutError';
  }
}

export class NotFoundError extends DurableError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'NotFoundError';
  }
}

export class LeaseHeldError extends DurableError {
  constructor(executionId: string, owner: string, expiresAt: number) {
    super(
      'lease_held',
      `execution ${executionId} is owned by another window (${owner}) until ${new Date(expiresAt).toISOString()}; ` +
        'it will be taken over only if that owner stops renewing its lease',
    );
    this.name = 'LeaseHeldError';
  }
}

export class InvalidStateError extends DurableError {
  constructor(message: string) {
    super('invalid_state', message);
    this.name = 'InvalidStateError';
  }
}

/**
 * Another launch of the same execution is in flight or running in this process
 * (a double click, a timer racing a command): the loser changes nothing.
 */
export class AlreadyRunningError extends DurableError {
  constructor(readonly executionId: string) {
    super('already_running', `execution ${executionId} is already running (or starting) in this window`);
    this.name = 'AlreadyRunningError';
  }
}

/** A completed execution is never replayed again (it would write a second outcome). */
export class AlreadyCompletedError extends DurableError {
  constructor(readonly executionId: string) {
    super('already_completed', `execution ${executionId} already completed; a completed execution is never resumed`);
    this.name = 'AlreadyCompletedError';
  }
}

/** The master key does not match the one this journal was sealed with. */
export class WrongKeyError extends DurableError {
  constructor(file: string, expectedKeyId: string, presentedKeyId: string) {
    super(
      'wrong_key',
      `${file} was sealed with master key ${expectedKeyId}, but the key available here is ${presentedKeyId}; nothing was opened or written. ` +
        'Restore the original key (export it from the machine that made this journal), or move durable.db aside to start a fresh journal.',
    );
    this.name = 'WrongKeyError';
  }
}

/** An import file was refused: the message says what is wrong with it; nothing was applied. */
export class ImportError extends DurableError {
  constructor(
    message: string,
    /** True when the file is well formed but not authenticated: it could be imported as untrusted read-only history. */
    readonly untrustedPossible = false,
  ) {
    super('invalid_import', `import refused: ${message}; nothing was imported`);
    this.name = 'ImportError';
  }
}

/**
 * An error raised by a step's own operation, rehydrated from the journal. It
 * keeps the original `name` and `message`, so workflow code that inspects a
 * caught error behaves the same on replay as it did live.
 */
export class StepFailedError extends DurableError {
  constructor(
    message: string,
    readonly originalName: string,
    options?: { cause?: unknown },
  ) {
    super('step_failed', message, options);
    this.name = originalName;
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set<string>(DURABLE_ERROR_CODES);

export function isDurableError(value: unknown, code?: DurableErrorCode): value is DurableError {
  return value instanceof DurableError && (code === undefined || value.code === code);
}

/** Anything thrown becomes an Error (`throw 'x'` and `throw {}` included). */
export function ensureError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(`non-error thrown: ${JSON.stringify(value)}`);
  } catch {
    return new Error('non-error thrown (not serializable)');
  }
}

/** Whether an error or AbortSignal reason means "cancelled", which is not a failure. */
export function isCancellation(value: unknown): boolean {
  if (isDurableError(value, 'cancelled')) return true;
  return value instanceof Error && value.name === 'AbortError';
}

const MAX_CAUSE_DEPTH = 4;

/** Plain data for storing in the journal. Codes of foreign errors become `step_failed`. */
export function toErrorData(value: unknown, depth = 0): ErrorData {
  const error = ensureError(value);
  const code: DurableErrorCode = error instanceof DurableError ? error.code : isCancellation(error) ? 'cancelled' : 'step_failed';
  const name = error instanceof StepFailedError ? error.originalName : error.name;
  const cause = error.cause !== undefined && depth < MAX_CAUSE_DEPTH ? toErrorData(error.cause, depth + 1) : undefined;
  return cause ? { code, name, message: error.message, cause } : { code, name, message: error.message };
}

/** Rebuild an error from journal data by its `code`, never by class identity. */
export function fromErrorData(data: ErrorData): DurableError {
  const cause = data.cause ? fromErrorData(data.cause) : undefined;
  const opts = cause ? { cause } : undefined;
  if (data.code === 'step_failed') return new StepFailedError(data.message, data.name, opts);
  if (data.code === 'cancelled') return new CancelledError(data.message);
  const error = new DurableError(data.code, data.message, opts);
  error.name = data.name;
  return error;
}

/** Validate untrusted JSON as ErrorData (journal rows can be tampered with or corrupt). */
export function parseErrorData(value: unknown): ErrorData {
  if (typeof value !== 'object' || value === null) throw new InvalidStateError('stored error is not an object');
  const record = value as Record<string, unknown>;
  const { code, name, message, cause } = record;
  if (typeof code !== 'string' || !KNOWN_CODES.has(code)) throw new InvalidStateError('stored error has an unknown code');
  if (typeof name !== 'string' || typeof message !== 'string') throw new InvalidStateError('stored error lacks name or message');
  const base = { code: code as DurableErrorCode, name, message };
  return cause === undefined ? base : { ...base, cause: parseErrorData(cause) };
}
