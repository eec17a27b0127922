import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyIdOf } from '../../src/durable';
import { KEY_ENV, KeyStore } from '../../src/extension/keyStore';

function secrets(): { get(k: string): Promise<string | undefined>; store(k: string, v: string): Promise<void>; map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, get: async (k) => map.get(k), store: async (k, v) => void map.set(k, v) };
}

test('a key exported on one machine and imported on another seals the same journals; the old key stays readable', async () => {
  const laptop = new KeyStore(secrets(), {});
  const made = await laptop.load({ createIfMissing: true });
  const { text, keyId } = await laptop.exportText();
  assert.equal(keyId, keyIdOf(made.current));
  assert.ok(!text.includes('\n"current": ""'));
  const devBox = new KeyStore(secrets(), {});
  const own = await devBox.load({ createIfMissing: true });
  assert.equal(await devBox.importText(text), keyId);
  const after = await devBox.load();
  assert.equal(keyIdOf(after.current), keyId, 'the imported key is the current one');
  assert.ok(after.previous.some((k) => keyIdOf(k) === keyIdOf(own.current)), "this machine's own key is kept for its own journals");
});

test('a malformed key file is refused with what is wrong, and nothing is replaced', async () => {
  const store = new KeyStore(secrets(), {});
  const before = await store.load({ createIfMissing: true });
  await assert.rejects(store.importText('not json'), /not an exported key file/);
  await assert.rejects(store.importText(JSON.stringify({ format: 'other', version: 1 })), /not a Durable Sessions key file/);
  await assert.rejects(store.importText(JSON.stringify({ format: 'durable-sessions-master-keys', version: 1, current: 'c2hvcnQ=' })), /wrong length/);
  assert.equal(keyIdOf((await store.load()).current), keyIdOf(before.current));
});

test('a key in the environment wins over the secret store, which stays readable behind it; a bad one is refused', async () => {
  const s = secrets();
  const stored = await new KeyStore(s, {}).load({ createIfMissing: true });
  const envKey = Buffer.alloc(32, 7).toString('base64');
  const withEnv = new KeyStore(s, { [KEY_ENV]: envKey });
  const keys = await withEnv.load();
  assert.equal(Buffer.from(keys.current).toString('base64'), envKey);
  assert.deepEqual(keys.previous.map(keyIdOf), [keyIdOf(stored.current)]);
  assert.match(withEnv.source, /DURABLE_SESSIONS_MASTER_KEY/);
  await assert.rejects(withEnv.rotate(), /rotate it there/);
  await assert.rejects(new KeyStore(s, { [KEY_ENV]: 'dG9vIHNob3J0' }).load(), /must hold a master key: 32 bytes in base64/);
});
