/**
 * An anchor outside the file: the highest journal sequence number this
 * workspace has seen its journal reach, kept somewhere `durable.db` is not
 * (VS Code's workspace state). SQLite's AUTOINCREMENT counter only grows, so a
 * file whose counter is below the anchor was rolled back: restored from an
 * older copy, or it lost its last committed writes (a deleted WAL). Inside the
 * file nothing can tell; outside, this one number can, cheaply.
 *
 * The anchor lags by at most its debounce (written after commits, and at
 * close), so it never raises a false alarm; it only misses a rollback of the
 * last second's writes. Starting a fresh journal (no file) resets it.
 */
import { IntegrityError } from '../model/errors';
import type { JournalStore } from '../store/journalStore';

export interface JournalAnchor {
  /** The highest sequence number recorded for this journal, or undefined when none was. */
  read(): number | undefined;
  write(seq: number): PromiseLike<void> | void;
}

/** Refused at open: the file is older than what this workspace saw it write. */
export class RolledBackError extends IntegrityError {
  constructor(
    file: string,
    readonly reached: number,
    readonly anchored: number,
  ) {
    super(
      file,
      `the journal is older than this workspace last saw it (entry ${reached} < ${anchored}): it was restored from an older copy, or its last writes were lost. ` +
        'Sessions in it may re-run steps that already happened. Open it anyway only if you restored it on purpose.',
    );
    this.name = 'RolledBackError';
  }
}

const DEBOUNCE_MS = 1_000;

/** Checks the anchor at open and keeps it up to date after commits. */
export class AnchorKeeper {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  private constructor(
    private readonly backend: JournalStore,
    private readonly anchor: JournalAnchor,
    private readonly warn: (message: string) => void,
  ) {}

  /** Throw RolledBackError when the file is behind the anchor (unless `accept`), then start keeping it. */
  static async open(backend: JournalStore, anchor: JournalAnchor, file: string, options: { accept: boolean; warn: (m: string) => void }): Promise<AnchorKeeper> {
    const reached = await backend.sequenceHighWater();
    const anchored = anchor.read();
    if (anchored !== undefined && reached < anchored && !options.accept) throw new RolledBackError(file, reached, anchored);
    const keeper = new AnchorKeeper(backend, anchor, options.warn);
    if (anchored === undefined || reached !== anchored) await keeper.record();
    return keeper;
  }

  /** A commit happened: record the new high water soon. */
  committed(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.record();
    }, DEBOUNCE_MS);
    this.timer.unref?.();
  }

  /** Record the last value (call before the connection closes). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.record();
  }

  private async record(): Promise<void> {
    try {
      await this.anchor.write(await this.backend.sequenceHighWater());
    } catch (error) {
      this.warn(`journal anchor: could not record the journal's high water (${error instanceof Error ? error.message : String(error)})`);
    }
  }
}
