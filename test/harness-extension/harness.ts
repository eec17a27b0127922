// Runs one phase of integration tests per activation (a window reload starts the next phase).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type * as vscode from 'vscode';
import { registerTestModels } from './testModels';

interface Phase {
  readonly files: string[];
  readonly results: string;
  readonly done: string;
}
interface HarnessConfig {
  readonly mochaPath: string;
  readonly stateFile: string;
  readonly phases: Phase[];
  readonly timeoutMs: number;
}
interface TestResult {
  title: string;
  state: 'passed' | 'failed';
  durationMs: number;
  error?: string;
}

type MochaCtor = new (options: Record<string, unknown>) => {
  addFile(file: string): void;
  run(done: (failures: number) => void): {
    on(event: 'pass', fn: (test: { fullTitle(): string; duration?: number }) => void): void;
    on(event: 'fail', fn: (test: { fullTitle(): string; duration?: number }, error: Error) => void): void;
  };
};

export function activate(context: vscode.ExtensionContext): void {
  const configPath = process.env.DAS_TEST_CONFIG;
  if (!configPath || !existsSync(configPath)) return;
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as HarnessConfig;
  context.subscriptions.push(registerTestModels(join(dirname(config.stateFile), 'lm-calls.log')));
  const index = existsSync(config.stateFile) ? Number(readFileSync(config.stateFile, 'utf8')) : 0;
  writeFileSync(config.stateFile, String(index + 1));
  const phase = config.phases[index];
  if (!phase) return;
  const results: TestResult[] = [];
  const finish = (extra?: TestResult): void => {
    if (extra) results.push(extra);
    writeFileSync(phase.results, JSON.stringify(results, null, 2));
    writeFileSync(phase.done, String(Date.now()));
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Mocha = require(config.mochaPath) as MochaCtor;
    const mocha = new Mocha({ ui: 'tdd', timeout: config.timeoutMs, color: false, reporter: 'dot' });
    for (const file of phase.files) mocha.addFile(file);
    const runner = mocha.run(() => finish());
    runner.on('pass', (test) => results.push({ title: test.fullTitle(), state: 'passed', durationMs: test.duration ?? 0 }));
    runner.on('fail', (test, error) =>
      results.push({ title: test.fullTitle(), state: 'failed', durationMs: test.duration ?? 0, error: `${error.message}\n${error.stack ?? ''}` }),
    );
  } catch (error) {
    finish({ title: 'harness', state: 'failed', durationMs: 0, error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  }
}

export function deactivate(): void {
  // nothing to release: mocha finished or the host is going away
}
