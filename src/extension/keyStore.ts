/**
 * The master key lives in VS Code's SecretStorage (the OS keychain where there
 * is one), never in the database or in settings. Rotation makes a new current
 * key and keeps the old ones so existing rows stay readable.
 */
import type * as vscode from 'vscode';
import { generateMasterKey, keyIdOf, MASTER_KEY_BYTES } from '../durable';

const SECRET_NAME = 'durableSessions.masterKeys.v1';
const MAX_PREVIOUS_KEYS = 8;
/** A key given by the environment (a CI runner, a dev container) wins over the secret store; base64 of 32 bytes. */
export const KEY_ENV = 'DURABLE_SESSIONS_MASTER_KEY';
const KEY_FILE_FORMAT = 'durable-sessions-master-keys';

export interface MasterKeys {
  readonly current: Uint8Array;
  readonly previous: readonly Uint8Array[];
}

interface StoredKeys {
  current: string;
  previous: string[];
}

function b64(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

function decodeKey(b64: unknown): Uint8Array {
  if (typeof b64 !== 'string') throw new Error('stored key is not a string');
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  if (bytes.length !== MASTER_KEY_BYTES) throw new Error('stored key has the wrong length');
  return bytes;
}

export class KeyStore {
  constructor(
    private readonly secrets: Pick<vscode.SecretStorage, 'get' | 'store'>,
    private readonly env: Readonly<Record<string, string | undefined>> = process.env,
  ) {}

  /**
   * The keys. A first key is created only when `createIfMissing` says no
   * journal exists yet: a journal whose key went missing is refused, never
   * given a fresh key (new rows under it would make the old ones unreadable
   * next to them). A damaged secret is an error, never silently replaced.
   */
  async load(options: { createIfMissing: boolean } = { createIfMissing: false }): Promise<MasterKeys> {
    const fromEnv = this.envKey();
    if (fromEnv) {
      // The secret store's keys stay readable behind it (journals this machine sealed before).
      const stored = await this.loadStored({ createIfMissing: false }).catch(() => undefined);
      const previous = stored ? [stored.current, ...stored.previous].filter((k) => keyIdOf(k) !== keyIdOf(fromEnv)) : [];
      return { current: fromEnv, previous };
    }
    return this.loadStored(options);
  }

  /** Where the current key comes from, for messages. */
  get source(): string {
    return this.envKey() ? `the ${KEY_ENV} environment variable` : "this machine's secret store";
  }

  private envKey(): Uint8Array | undefined {
    const value = (this.env[KEY_ENV] ?? '').trim();
    if (!value) return undefined;
    const bytes = new Uint8Array(Buffer.from(value, 'base64'));
    if (bytes.length !== MASTER_KEY_BYTES || Buffer.from(bytes).toString('base64') !== value.replace(/\s/g, '')) {
      throw new Error(`${KEY_ENV} must hold a master key: ${MASTER_KEY_BYTES} bytes in base64 (Durable Sessions: Export Encryption Key writes one)`);
    }
    return bytes;
  }

  /** The keys as a file's text, for another machine to import (a secret: whoever holds it reads every journal). */
  async exportText(): Promise<{ text: string; keyId: string }> {
    const keys = await this.load({ createIfMissing: false });
    const text = JSON.stringify(
      { format: KEY_FILE_FORMAT, version: 1, keyId: keyIdOf(keys.current), current: b64(keys.current), previous: keys.previous.map(b64) },
      null,
      2,
    );
    return { text, keyId: keyIdOf(keys.current) };
  }

  /**
   * Take the keys of an exported file: its current key becomes ours; our own
   * keys stay readable behind it (journals sealed here before). Returns the new key id.
   */
  async importText(text: string): Promise<string> {
    let parsed: { format?: unknown; version?: unknown; current?: unknown; previous?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new Error('the file is not an exported key file (it is not JSON)');
    }
    if (parsed.format !== KEY_FILE_FORMAT || parsed.version !== 1) throw new Error('the file is not a Durable Sessions key file (format or version differ)');
    const current = decodeKey(parsed.current);
    const theirs = Array.isArray(parsed.previous) ? parsed.previous.map(decodeKey) : [];
    const ours = await this.loadStored({ createIfMissing: false }).catch(() => undefined);
    const seen = new Set([keyIdOf(current)]);
    const previous = [...theirs, ...(ours ? [ours.current, ...ours.previous] : [])].filter((k) => !seen.has(keyIdOf(k)) && seen.add(keyIdOf(k)));
    await this.save({ current, previous: previous.slice(0, MAX_PREVIOUS_KEYS) });
    return keyIdOf(current);
  }

  private async loadStored(options: { createIfMissing: boolean }): Promise<MasterKeys> {
    const raw = await this.secrets.get(SECRET_NAME);
    if (raw === undefined) {
      if (!options.createIfMissing) {
        throw new Error(
          'the Durable Sessions master key of this workspace\'s journal is missing from the OS secret store, so durable.db cannot be opened; ' +
            'no new key was made and nothing was written. Restore the key (from the keychain or the machine that made the journal), ' +
            'or move durable.db aside to start a fresh journal.',
        );
      }
      const keys = { current: generateMasterKey(), previous: [] };
      await this.save(keys);
      return keys;
    }
    try {
      const parsed = JSON.parse(raw) as StoredKeys;
      return { current: decodeKey(parsed.current), previous: (parsed.previous ?? []).map(decodeKey) };
    } catch {
      throw new Error(
        'the Durable Sessions master key in the OS secret store is damaged; journals sealed with it cannot be opened. ' +
          'Restore it, or move durable.db aside to start a fresh journal.',
      );
    }
  }

  /** New current key; the old one stays for reading. Returns the new key id. */
  async rotate(): Promise<string> {
    if (this.envKey()) throw new Error(`the key comes from ${KEY_ENV}: rotate it there (and on every machine that shares the journal)`);
    const keys = await this.loadStored({ createIfMissing: false });
    const next = { current: generateMasterKey(), previous: [keys.current, ...keys.previous].slice(0, MAX_PREVIOUS_KEYS) };
    await this.save(next);
    return keyIdOf(next.current);
  }

  private async save(keys: MasterKeys): Promise<void> {
    const stored: StoredKeys = {
      current: Buffer.from(keys.current).toString('base64'),
      previous: keys.previous.map((k) => Buffer.from(k).toString('base64')),
    };
    await this.secrets.store(SECRET_NAME, JSON.stringify(stored));
  }
}
