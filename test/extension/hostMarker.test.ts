// Crash detection between extension hosts of one workspace: a marker per
// running host, removed on a clean deactivation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { HostMarker } from '../../src/extension/hostMarker';
import { tempDir } from '../helpers';

/** A pid that surely belonged to a process that has ended. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

test('a host that deactivated cleanly is no crash; one whose process died without deactivating is reported once', (t) => {
  const folder = join(tempDir(t, 'das-hosts-'), 'hosts');
  const first = new HostMarker(folder, 1_000_001);
  assert.equal(first.start(), 0, 'a first activation finds nothing');
  first.markClean();
  assert.equal(new HostMarker(folder).start(), 0, 'a clean exit before is no crash');

  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${deadPid()}.host`), '1');
  const next = new HostMarker(folder, process.pid + 1_000_000);
  assert.equal(next.start(), 1, 'the dead host is reported');
  next.markClean();
  assert.equal(new HostMarker(folder, process.pid + 2_000_000).start(), 0, 'and only once');
});

test('a marker of a host that still runs (another window on the same workspace) is no crash', (t) => {
  const folder = join(tempDir(t, 'das-hosts-'), 'hosts');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, `${process.pid}.host`), '1');
  const other = new HostMarker(folder, process.pid + 1_000_000);
  assert.equal(other.start(), 0);
  assert.ok(existsSync(join(folder, `${process.pid}.host`)), 'the live host keeps its marker');
});

test('without storage nothing is recorded', () => {
  const marker = new HostMarker(undefined);
  assert.equal(marker.start(), 0);
  marker.markClean();
});
