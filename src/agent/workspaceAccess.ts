/**
 * What the agent's tools may do to the workspace, behind one interface: the
 * extension implements it with `vscode.workspace.fs` and `WorkspaceEdit`
 * (vscodeWorkspace.ts), tests with the file system (NodeWorkspace below).
 * Paths are workspace-relative; anything that escapes the root is refused.
 */
import { readdir, readFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';

export interface DirectoryEntry {
  readonly name: string;
  readonly type: 'file' | 'directory' | 'other';
}

export interface SearchHit {
  readonly path: string;
  readonly line: number;
  readonly text: string;
}

export interface WorkspaceAccess {
  /** Absolute path of the root, for commands' working directory. */
  readonly root: string;
  /** The file's bytes, or undefined when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  writeFile(path: string, content: Uint8Array): Promise<void>;
  /** Remove a file (undo of a file a session created); nothing when it is already gone. */
  deleteFile(path: string): Promise<void>;
  listDirectory(path: string): Promise<DirectoryEntry[]>;
  search(query: string, maxResults: number, signal: AbortSignal): Promise<SearchHit[]>;
}

export class PathOutsideWorkspaceError extends Error {
  constructor(path: string) {
    super(`${JSON.stringify(path)} is outside the workspace; tools only touch files inside it`);
    this.name = 'PathOutsideWorkspaceError';
  }
}

/** A workspace-relative path, normalized, or an error for one that leaves the root. */
export function workspaceRelative(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0 || path.length > 1024 || path.includes('\0')) {
    throw new PathOutsideWorkspaceError(String(path).slice(0, 100));
  }
  const cleaned = normalize(path.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
  if (isAbsolute(cleaned) || cleaned === '..' || cleaned.startsWith(`..${sep}`) || cleaned.startsWith('../')) throw new PathOutsideWorkspaceError(path);
  return cleaned === '' ? '.' : cleaned;
}

const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules', 'dist', 'out', '.cache']);
const MAX_SEARCH_FILE_BYTES = 1024 * 1024;

/** The file-system implementation (tests, and the scripted demo outside VS Code). */
export class NodeWorkspace implements WorkspaceAccess {
  constructor(readonly root: string) {}

  private resolve(path: string): string {
    const full = join(this.root, workspaceRelative(path));
    const back = relative(this.root, full);
    if (back.startsWith('..') || isAbsolute(back)) throw new PathOutsideWorkspaceError(path);
    return full;
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.resolve(path)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * Replace the file whole: written beside it, then renamed over it. A process
   * killed mid-write leaves the old content or the new, never a truncated file
   * (which the edit's verify policy would then take for someone else's change).
   */
  async writeFile(path: string, content: Uint8Array): Promise<void> {
    const full = this.resolve(path);
    await mkdir(dirname(full), { recursive: true });
    const temp = join(dirname(full), `.${basename(full)}.durable-write`);
    try {
      const mode = await stat(full).then((s) => s.mode & 0o7777, () => undefined);
      await writeFile(temp, content, mode === undefined ? {} : { mode });
      await rename(temp, full);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
  }

  async deleteFile(path: string): Promise<void> {
    await rm(this.resolve(path), { force: true });
  }

  async listDirectory(path: string): Promise<DirectoryEntry[]> {
    const entries = await readdir(this.resolve(path), { withFileTypes: true });
    return entries
      .map((e) => ({ name: e.name, type: e.isFile() ? ('file' as const) : e.isDirectory() ? ('directory' as const) : ('other' as const) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async search(query: string, maxResults: number, signal: AbortSignal): Promise<SearchHit[]> {
    const hits: SearchHit[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(join(this.root, dir), { withFileTypes: true })) {
        signal.throwIfAborted();
        if (hits.length >= maxResults) return;
        const rel = dir === '.' ? entry.name : `${dir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (!SKIPPED_DIRECTORIES.has(entry.name)) await walk(rel);
        } else if (entry.isFile()) {
          const bytes = await readFile(join(this.root, rel));
          if (bytes.length > MAX_SEARCH_FILE_BYTES || bytes.includes(0)) continue;
          bytes
            .toString('utf8')
            .split('\n')
            .forEach((text, i) => {
              if (hits.length < maxResults && text.includes(query)) hits.push({ path: rel, line: i + 1, text: text.trim().slice(0, 200) });
            });
        }
      }
    };
    await walk('.');
    return hits;
  }
}
