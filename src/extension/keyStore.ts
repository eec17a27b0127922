/**
 * The master key lives in VS Code's SecretStorage (the OS keychain where there
 * is one), never in the database or in settings. Rotation makes a new current
 * key and keeps the old ones so existing rows stay readable.
 */
import type * as vscode from 'vscode';
import { generateMasterKey, keyIdOf, MASTER_KEY_BYTES } from '../durable';

const SECRET_NAME = 'durableSessions.masterKeys.v1';
const MAX_PREVIOUS_KEYS = 8;

export interface MasterKeys {
  readonly current: Uint8Array;
  readonly previous: readonly Uint8Array[];
}

interface StoredKeys {
  current: string;
  previous: string[];
}

function decodeKey(b64: unknown): Uint8Array {
  if (typeof b64 !== 'string') throw new Error('stored key is not a string');
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  if (bytes.length !== MASTER_KEY_BYTES) throw new Error('stored key has the wrong length');
  return bytes;
}

export class KeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  /**
   * The keys. A first key is created only when `createIfMissing` says no
   * journal exists yet: a journal whose key went missing is refused, never
   * given a fresh key (new rows under it would make the old ones unreadable
   * next to them). A damaged secret is an error, never silently replaced.
   */
  async load(options: { createIfMissing: boolean } = { createIfMissing: false }): Promise<MasterKeys> {
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
    const keys = await this.load({ createIfMissing: false });
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
