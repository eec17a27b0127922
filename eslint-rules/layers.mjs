// The layers of the house (docs/ARCHITECTURE.md), as one table: which folder
// may import which, and who may import which package. The ESLint rule below
// checks every import against it; test/architecture/ proves each arrow it
// forbids fires, and walks the whole import graph for cycles.
import { dirname, join, normalize, relative, sep } from 'node:path';

const CORE = 'src/durable';
const core = (...names) => names.map((n) => `${CORE}/${n}`);

/**
 * Folder → the folders its files may import (besides their own). The most
 * specific folder of a file decides; a folder absent here may import nothing
 * of ours. Order of the table is bottom-up.
 */
export const LAYERS = {
  [`${CORE}/model`]: [],
  [`${CORE}/crypto`]: core('model'),
  [`${CORE}/store`]: core('model'),
  [`${CORE}/store/sqlite`]: core('model', 'store'),
  [`${CORE}/store/postgres`]: core('model', 'store'),
  [`${CORE}/execution`]: core('model', 'crypto', 'store'),
  [`${CORE}/sessions`]: core('model', 'crypto', 'store'),
  [`${CORE}/journal`]: core('model', 'crypto', 'store', 'execution', 'sessions'),
  [`${CORE}/runtime`]: core('model', 'crypto', 'store', 'store/sqlite', 'store/postgres', 'execution', 'journal', 'sessions'),
  [`${CORE}/inspection`]: core('model', 'crypto', 'store', 'execution', 'journal', 'sessions', 'runtime'),
  [CORE]: core('model', 'crypto', 'store', 'store/sqlite', 'store/postgres', 'execution', 'journal', 'sessions', 'runtime', 'inspection'),
  'src/agent/supervisor': [],
  'src/agent': ['src/durable', 'src/agent/supervisor'],
  'src/shared': [],
  'src/views': ['src/durable', 'src/shared', 'src/agent'],
  'src/extension/agent': ['src/durable', 'src/agent'],
  'src/extension': ['src/durable', 'src/agent', 'src/views', 'src/shared', 'src/extension/agent'],
  'media/src': ['src/shared'],
};

/** Only the core's public surface (src/durable/index.ts) is imported from outside the core. */
export const CORE_SURFACE = `${CORE}/index.ts`;

/**
 * Packages only some folders may import. `vscode` is checked everywhere (unit
 * tests run in plain Node); database drivers only in the sources (tests may
 * open the file directly to damage it).
 */
export const PACKAGES = {
  vscode: { allowed: ['src/extension', 'src/views', 'test/integration', 'test/harness-extension'], scope: '' },
  '@vscode/sqlite3': { allowed: [`${CORE}/store/sqlite`], scope: 'src' },
  pg: { allowed: [`${CORE}/store/postgres`], scope: 'src' },
};

/** Within the core, only these files may name an adapter (the core's composition and its surface). */
export const ADAPTER_USERS = [`${CORE}/runtime/engine.ts`, `${CORE}/index.ts`];

/**
 * Imports that break the table today, each with the reason; the architecture
 * test fails when one of them no longer occurs, so the list only shrinks.
 */
export const KNOWN_DEBT = [];

const within = (file, folder) => file === folder || file.startsWith(`${folder}/`);

/** The most specific folder of the table that holds `file` (a repository-relative path). */
export function layerOf(file) {
  let best;
  for (const folder of Object.keys(LAYERS)) if (within(dirname(file), folder) && (!best || folder.length > best.length)) best = folder;
  return best;
}

/** Why importing `target` (repository-relative file, or `pkg:name`) from `file` is not allowed, or undefined. */
export function violation(file, target) {
  if (target.startsWith('pkg:')) {
    const name = target.slice(4);
    const pkg = Object.keys(PACKAGES).find((p) => name === p || name.startsWith(`${p}/`));
    if (!pkg) return undefined;
    const { allowed, scope } = PACKAGES[pkg];
    if ((scope && !within(file, scope)) || allowed.some((folder) => within(file, folder))) return undefined;
    return `only ${allowed.join(', ')} may import ${pkg}`;
  }
  const from = layerOf(file);
  const to = layerOf(target);
  if (!from || !to || from === to) return undefined;
  if (KNOWN_DEBT.some((d) => d.from === file && d.to === target)) return undefined;
  if (!LAYERS[from].includes(to) && !LAYERS[from].some((f) => f === CORE && within(to, CORE))) {
    return `${from} must not import ${to} (see the layers in docs/ARCHITECTURE.md)`;
  }
  if (within(to, CORE) && !within(from, CORE) && target !== CORE_SURFACE) return `outside the core, import its public surface (${CORE_SURFACE}), not ${target}`;
  if (to.startsWith(`${CORE}/store/`) && !ADAPTER_USERS.includes(file)) {
    return `only the adapter itself and ${ADAPTER_USERS.join(', ')} name a storage adapter; depend on the port (store/journalStore.ts)`;
  }
  return undefined;
}

const root = normalize(join(dirname(new URL(import.meta.url).pathname), '..'));

function resolveSpecifier(file, spec, exists) {
  if (!spec.startsWith('.')) return `pkg:${spec}`;
  const base = normalize(join(dirname(join(root, file)), spec));
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts'), `${base}.mjs`]) if (exists(candidate)) return relative(root, candidate).split(sep).join('/');
  return undefined;
}

/** The ESLint plugin: `layers/imports` reports every import the table forbids. */
export function layersPlugin(exists) {
  return {
    rules: {
      imports: {
        meta: { type: 'problem', docs: { description: 'imports follow the layers of docs/ARCHITECTURE.md' }, schema: [] },
        create(context) {
          const file = relative(root, context.filename).split(sep).join('/');
          const check = (node) => {
            if (!node.source || typeof node.source.value !== 'string') return;
            const target = resolveSpecifier(file, node.source.value, exists);
            const why = target && violation(file, target);
            if (why) context.report({ node: node.source, message: why });
          };
          return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
        },
      },
    },
  };
}
