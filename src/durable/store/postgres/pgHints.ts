/**
 * LISTEN/NOTIFY as a wake-up hint: one dedicated connection listens on the
 * hint channel and passes on what belongs to this project, so other windows
 * refresh and re-arm timers at once. Only a hint: a lost connection is
 * reconnected with backoff, and nothing depends on a notification arriving
 * (every consumer also polls on its own schedule).
 */
import type { Client, Notification } from 'pg';
import { ensureError } from '../../model/errors';
import type { StoreHint } from '../journalStore';
import type { PgConnection } from './pgConnection';
import { HINT_CHANNEL } from './pgExecutions';

const MAX_BACKOFF_MS = 30_000;

export class HintListener {
  private readonly listeners = new Set<(hint: StoreHint) => void>();
  private client: Client | undefined;
  private starting: Promise<void> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private backoffMs = 500;
  private closed = false;

  constructor(
    private readonly conn: PgConnection,
    private readonly project: string,
    private readonly warn: (message: string) => void,
  ) {}

  watch(listener: (hint: StoreHint) => void): { dispose(): void } {
    this.listeners.add(listener);
    if (!this.client && !this.starting) this.starting = this.connect();
    return { dispose: () => void this.listeners.delete(listener) };
  }

  private async connect(): Promise<void> {
    try {
      const client = await this.conn.dedicatedClient();
      if (this.closed) {
        await client.end().catch(() => undefined);
        return;
      }
      client.on('notification', (n: Notification) => this.deliver(n));
      client.on('error', (error: Error) => this.lost(client, error));
      client.on('end', () => this.lost(client, new Error('connection ended')));
      await client.query(`LISTEN ${HINT_CHANNEL}`);
      this.client = client;
      this.backoffMs = 500;
    } catch (error) {
      this.schedule(ensureError(error));
    } finally {
      this.starting = undefined;
    }
  }

  private deliver(n: Notification): void {
    if (n.channel !== HINT_CHANNEL || !n.payload) return;
    let hint: { k?: unknown; id?: unknown; p?: unknown };
    try {
      hint = JSON.parse(n.payload) as typeof hint;
    } catch {
      return; // not ours (someone else NOTIFYs on the channel): ignored
    }
    if (hint.p !== this.project || typeof hint.id !== 'string') return;
    if (hint.k !== 'execution' && hint.k !== 'promise' && hint.k !== 'timer') return;
    for (const listener of this.listeners) {
      try {
        listener({ kind: hint.k, executionId: hint.id });
      } catch (error) {
        this.warn(`a store hint listener failed: ${ensureError(error).message}`);
      }
    }
  }

  private lost(client: Client, error: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners();
    void client.end().catch(() => undefined);
    this.schedule(error);
  }

  private schedule(error: Error): void {
    if (this.closed || this.retry) return;
    this.warn(`${this.conn.where}: change notifications paused (${error.message}); reconnecting in ${Math.round(this.backoffMs / 1000)} s (views still refresh on their own)`);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed && !this.client && !this.starting) this.starting = this.connect();
    }, this.backoffMs);
    this.retry.unref?.();
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.retry) clearTimeout(this.retry);
    await this.starting;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}
