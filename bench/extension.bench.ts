// The extension as shipped: activation time (loading dist/extension.js and
// running activate(), which registers everything and does no database work)
// and the VSIX size.
//
// Activation runs in plain Node against a recording stand-in for the `vscode`
// module (every API call returns a disposable no-op), so the figure is the cost
// of our own code: module evaluation and activate(). The real extension host
// adds its own overhead around it; the extension logs its own measurement
// ("activated in N ms") in every window, and the VS Code test run prints it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { against, measure, report, root, summarize, type Figure } from './harness';

/** A value that answers any property access, call or construction with another such value. */
function inert(name: string): unknown {
  const fn = function () {
    return undefined;
  };
  return new Proxy(fn, {
    get(_t, prop) {
      if (prop === Symbol.toPrimitive) return () => name;
      if (prop === 'then') return undefined; // not a thenable
      if (prop === 'dispose') return () => undefined;
      if (prop === 'length') return 0;
      return inert(`${name}.${String(prop)}`);
    },
    set: () => true,
    apply: () => inert(`${name}()`),
    construct: () => inert(`new ${name}`) as object,
  });
}

class EventEmitter {
  event = (): { dispose(): void } => ({ dispose: () => undefined });
  fire(): void {}
  dispose(): void {}
}

/** Every member our code reaches for, as a plain object (bundlers copy own properties of a module). */
const API_MEMBERS = [
  'CancellationTokenSource', 'Disposable', 'FileSystemError', 'FileType', 'LanguageModelChatMessage', 'LanguageModelError', 'LanguageModelTextPart',
  'LanguageModelToolCallPart', 'LanguageModelToolResultPart', 'MarkdownString', 'ProgressLocation', 'Range', 'RelativePattern', 'StatusBarAlignment',
  'ThemeColor', 'ThemeIcon', 'TreeItem', 'TreeItemCollapsibleState', 'UIKind', 'Uri', 'ViewColumn', 'WorkspaceEdit', 'chat', 'commands', 'lm', 'window',
  'ConfigurationTarget', 'extensions', 'languages', 'l10n',
];

function fakeVscode(): Record<string, unknown> {
  const api: Record<string, unknown> = {
    EventEmitter,
    env: { sessionId: 'bench-session-0000', uiKind: 1, remoteName: undefined, language: 'en' },
    workspace: new Proxy({ workspaceFolders: undefined } as Record<string | symbol, unknown>, { get: (t, p) => (p in t ? t[p] : inert(`workspace.${String(p)}`)) }),
  };
  for (const member of API_MEMBERS) api[member] = inert(member);
  return api;
}

function activateOnce(bundle: string): number {
  const vscode = fakeVscode();
  const originalLoad = (Module as unknown as { _load: (...a: unknown[]) => unknown })._load;
  (Module as unknown as { _load: (...a: unknown[]) => unknown })._load = function (request: unknown, ...rest: unknown[]) {
    if (request === 'vscode') return vscode;
    return originalLoad.call(this, request, ...rest);
  };
  try {
    delete require.cache[require.resolve(bundle)];
    const context = {
      subscriptions: [] as Array<{ dispose(): unknown }>,
      storageUri: undefined,
      // Where the extension keeps its host markers (crash detection) when no folder is open.
      globalStorageUri: { fsPath: join(tmpdir(), 'durable-bench-global-storage'), scheme: 'file' },
      extensionUri: inert('extensionUri'),
      asAbsolutePath: (p: string) => join(root, p),
      secrets: inert('secrets'),
      workspaceState: { get: () => undefined, update: async () => undefined, keys: () => [] },
      globalState: { get: () => undefined, update: async () => undefined, keys: () => [] },
    };
    const t0 = performance.now();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const extension = require(bundle) as { activate(c: unknown): unknown; deactivate(): Promise<void> };
    extension.activate(context);
    const ms = performance.now() - t0;
    void extension.deactivate();
    return ms;
  } finally {
    (Module as unknown as { _load: unknown })._load = originalLoad;
  }
}

/** "activated in N ms" lines the extension logged in the last VS Code test run, if there was one. */
function realHostActivations(): number[] {
  const logs = join(root, 'test-results', 'vscode', 'profile', 'user-data', 'logs');
  if (!existsSync(logs)) return [];
  const found: number[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.includes('Durable Sessions')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/activated in ([\d.]+) ms/g)) found.push(Number(m[1]));
      }
    }
  };
  walk(logs);
  return found;
}

export async function run(): Promise<void> {
  const figures: Figure[] = [];
  // The production bundle, as packaged.
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--production'], { cwd: root, stdio: 'inherit' });
  const bundle = join(root, 'dist', 'extension.js');
  const first = activateOnce(bundle); // cold: includes reading and compiling the bundle
  const warm = await measure('activation: load dist/extension.js + activate(), re-evaluated (warm V8 caches)', 'ms', 10, async () => activateOnce(bundle));
  figures.push(against(summarize('activation: load dist/extension.js + activate(), first (cold) load', 'ms', [first]), '≤ 50 ms', first <= 50));
  figures.push(against(warm, '≤ 50 ms', warm.median <= 50));
  const real = realHostActivations();
  if (real.length > 0) {
    const inHost = summarize('activate() inside code-server (from the last `npm run test:vscode` log)', 'ms', real);
    figures.push(against(inHost, '≤ 50 ms', inHost.median <= 50));
  }

  // Both packages: the universal one (VS Code's own SQLite) and this platform's (with the bundled fallback).
  const vsixMb = (args: string[]): number => {
    const out = execFileSync(process.execPath, [join(root, 'scripts/package.mjs'), ...args], { cwd: root, encoding: 'utf8' });
    const match = /packaged (\S+\.vsix)/.exec(out);
    if (!match) throw new Error(`package script printed no VSIX path:\n${out}`);
    return statSync(match[1]).size / (1024 * 1024);
  };
  const universal = vsixMb([]);
  const platform = vsixMb(['--platform']);
  figures.push(against(summarize('VSIX size, universal (uses VS Code\'s own SQLite)', 'MB', [universal]), '≤ 5 MB', universal <= 5));
  figures.push(against(summarize(`VSIX size, ${process.platform}-${process.arch} (with the bundled SQLite module)`, 'MB', [platform]), '≤ 5 MB', platform <= 5));
  report('extension', figures);
}
