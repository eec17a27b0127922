// The import graph of the sources, read from the files themselves: which file
// imports which (relative imports resolved, packages by name), and the same
// lifted to folders. The architecture tests walk it for cycles and for arrows
// that point the wrong way.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  /** `import type` only: erased from the bundle, but still an arrow between layers. */
  readonly typeOnly: boolean;
}

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|require\(\s*['"]([^'"]+)['"]\s*\)|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function resolve(root: string, fromFile: string, spec: string): string | undefined {
  const base = normalize(join(dirname(fromFile), spec));
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(root, candidate);
  }
  return undefined;
}

/** Every import of every .ts file under `dirs` (relative to `root`); packages appear as `pkg:<name>`. */
export function importEdges(root: string, dirs: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const dir of dirs) {
    for (const file of walk(join(root, dir), [])) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[3] ?? m[4] ?? m[5];
        if (!spec) continue;
        const to = spec.startsWith('.') ? resolve(root, file, spec) : `pkg:${spec}`;
        if (to) edges.push({ from: relative(root, file), to, typeOnly: m[2] !== undefined });
      }
    }
  }
  return edges;
}

/** The folder a file belongs to, as the layers are drawn (see docs/ARCHITECTURE.md). */
export function folderOf(file: string): string {
  if (file.startsWith('pkg:')) return file;
  return dirname(file);
}

/** Cycles (each as a list of nodes) in a directed graph, found by depth-first search. */
export function cycles(edges: ReadonlyArray<{ from: string; to: string }>): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (e.from === e.to) continue;
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)!.add(e.to);
  }
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === 'open') found.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of next.keys()) if (!state.has(node)) visit(node);
  return found;
}
