import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers';

const root = repoRoot();

test('the lint rule fires on a vscode import under src/durable', async () => {
  const eslint = new ESLint({ cwd: root });
  const probe = "import * as vscode from 'vscode';\nexport const x: unknown = vscode;\n";
  const [inCore] = await eslint.lintText(probe, { filePath: join(root, 'src/durable/__layering_probe.ts') });
  assert.ok(
    inCore.messages.some((m) => m.ruleId === 'no-restricted-imports' && /must not import vscode/.test(m.message)),
    JSON.stringify(inCore.messages),
  );
  const [inExtension] = await eslint.lintText(probe, { filePath: join(root, 'src/extension/__layering_probe.ts') });
  assert.ok(!inExtension.messages.some((m) => m.ruleId === 'no-restricted-imports'), 'the extension layer may import vscode');
});

test('the lint rule also fires on a require of vscode and on imports of the extension layer', async () => {
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintText("import { x } from '../extension/container';\nexport const y = x;\n", {
    filePath: join(root, 'src/durable/__layering_probe.ts'),
  });
  assert.ok(result.messages.some((m) => m.ruleId === 'no-restricted-imports'));
});

test('no file under src/durable imports vscode', () => {
  const dir = join(root, 'src/durable');
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => /(from\s+|require\(\s*|import\s+)['"]vscode['"]/.test(readFileSync(join(dir, f), 'utf8')));
  assert.deepEqual(offenders, []);
});
