/**
 * Which project a window works in, on a shared journal: the configured id, or
 * one that is the same on every machine that has the repository checked out,
 * its `origin` remote (credentials and `.git` dropped: `github.com/acme/web`).
 * Without a remote, the folder's name (say so in the log: two unrelated
 * folders of the same name would share a project). Plain Node, no vscode.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export interface ProjectIdentity {
  readonly id: string;
  /** Where it came from, for the log and the status bar's tooltip. */
  readonly source: 'setting' | 'git remote' | 'folder name';
}

/** `https://user:pw@github.com/acme/web.git`, `git@github.com:acme/web.git`, `ssh://git@host:22/acme/web` → `github.com/acme/web`. */
export function normalizeRemote(url: string): string | undefined {
  const trimmed = url.trim();
  if (!trimmed) return undefined;
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.+)$/.exec(trimmed);
  let host: string;
  let path: string;
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    [, host, path] = scp;
  } else {
    try {
      const parsed = new URL(trimmed);
      if (parsed.protocol === 'file:') return undefined; // a local clone: not the same on another machine
      host = parsed.hostname;
      path = parsed.pathname;
    } catch {
      return undefined;
    }
  }
  const cleanPath = path.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/i, '');
  if (!host || !cleanPath) return undefined;
  return `${host.toLowerCase()}/${cleanPath}`;
}

/** The `.git` folder of `folder` or of a parent; a worktree's `.git` file points elsewhere. */
function gitDir(folder: string): string | undefined {
  for (let dir = resolve(folder); ; dir = dirname(dir)) {
    const candidate = join(dir, '.git');
    if (existsSync(candidate)) {
      if (statSync(candidate).isDirectory()) return candidate;
      const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(candidate, 'utf8'))?.[1]?.trim();
      if (!pointer) return undefined;
      const target = resolve(dir, pointer);
      // A worktree's config lives in the main repository (…/.git/worktrees/name → …/.git).
      return existsSync(join(target, 'config')) ? target : dirname(dirname(target));
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The `origin` remote's URL from a git config file (the first remote when there is no origin). */
export function remoteFromConfig(config: string): string | undefined {
  let section: string | undefined;
  const remotes = new Map<string, string>();
  for (const raw of config.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[\s*remote\s+"([^"]+)"\s*\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    if (line.startsWith('[')) {
      section = undefined;
      continue;
    }
    const url = /^url\s*=\s*(.+)$/.exec(line)?.[1];
    if (section && url && !remotes.has(section)) remotes.set(section, url.trim());
  }
  return remotes.get('origin') ?? remotes.values().next().value;
}

export function projectIdentity(folder: string, configured: string): ProjectIdentity {
  if (configured) return { id: configured, source: 'setting' };
  const git = gitDir(folder);
  if (git) {
    try {
      const remote = remoteFromConfig(readFileSync(join(git, 'config'), 'utf8'));
      const id = remote ? normalizeRemote(remote) : undefined;
      if (id) return { id, source: 'git remote' };
    } catch {
      // An unreadable git config: fall back to the folder's name.
    }
  }
  return { id: basename(resolve(folder)), source: 'folder name' };
}
