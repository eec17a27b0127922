import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { normalizeRemote, projectIdentity, remoteFromConfig } from '../../src/extension/projectIdentity';
import { tempDir } from '../helpers';

test('remote URLs of every form name the same project, without credentials or .git', () => {
  for (const url of [
    'https://github.com/acme/web.git',
    'https://ann:s3cret@github.com/acme/web',
    'git@github.com:acme/web.git',
    'ssh://git@GitHub.com:22/acme/web.git',
    'github.com:acme/web/',
  ]) {
    assert.equal(normalizeRemote(url), 'github.com/acme/web', url);
  }
  assert.equal(normalizeRemote('file:///home/ann/web'), undefined, 'a local path differs per machine');
  assert.equal(normalizeRemote(''), undefined);
});

test('origin wins over other remotes; without origin the first remote', () => {
  const config = '[core]\n\tbare = false\n[remote "upstream"]\n\turl = git@github.com:up/web.git\n[remote "origin"]\n\turl = https://github.com/acme/web.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n';
  assert.equal(remoteFromConfig(config), 'https://github.com/acme/web.git');
  assert.equal(remoteFromConfig('[remote "fork"]\n url = git@host:me/web.git\n'), 'git@host:me/web.git');
  assert.equal(remoteFromConfig('[core]\n'), undefined);
});

test('a checkout (or a folder inside it) is its remote; a setting wins; no repository: the folder name', (t) => {
  const repo = join(tempDir(t), 'web-checkout');
  mkdirSync(join(repo, '.git'), { recursive: true });
  mkdirSync(join(repo, 'packages', 'ui'), { recursive: true });
  writeFileSync(join(repo, '.git', 'config'), '[remote "origin"]\n\turl = git@github.com:acme/web.git\n');
  assert.deepEqual(projectIdentity(repo, ''), { id: 'github.com/acme/web', source: 'git remote' });
  assert.deepEqual(projectIdentity(join(repo, 'packages', 'ui'), ''), { id: 'github.com/acme/web', source: 'git remote' });
  assert.deepEqual(projectIdentity(repo, 'team/web'), { id: 'team/web', source: 'setting' });
  const plain = join(tempDir(t), 'notes');
  mkdirSync(plain);
  assert.deepEqual(projectIdentity(plain, ''), { id: 'notes', source: 'folder name' });
});
