/**
 * The agent's workspace access inside VS Code: reads through
 * `workspace.fs` (so remote and virtual workspaces work), writes through a
 * `WorkspaceEdit` (open editors see the change, and it is saved).
 */
import * as vscode from 'vscode';
import { workspaceRelative, type DirectoryEntry, type SearchHit, type WorkspaceAccess } from '../../agent/workspaceAccess';

const MAX_SEARCH_FILES = 2_000;
const MAX_SEARCH_FILE_BYTES = 1024 * 1024;

export class VsCodeWorkspace implements WorkspaceAccess {
  constructor(private readonly folder: vscode.Uri) {}

  get root(): string {
    return this.folder.fsPath;
  }

  private uri(path: string): vscode.Uri {
    const rel = workspaceRelative(path);
    return rel === '.' ? this.folder : vscode.Uri.joinPath(this.folder, ...rel.split('/'));
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const uri = this.uri(path);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open) return new TextEncoder().encode(open.getText());
    try {
      return await vscode.workspace.fs.readFile(uri);
    } catch (error) {
      if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return undefined;
      throw error;
    }
  }

  async writeFile(path: string, content: Uint8Array): Promise<void> {
    const uri = this.uri(path);
    const edit = new vscode.WorkspaceEdit();
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open) {
      edit.replace(uri, new vscode.Range(open.positionAt(0), open.positionAt(open.getText().length)), new TextDecoder().decode(content));
    } else {
      edit.createFile(uri, { overwrite: true, contents: content });
    }
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`VS Code refused the edit of ${path}`);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc?.isDirty && !(await doc.save())) throw new Error(`${path} was edited but could not be saved`);
  }

  async deleteFile(path: string): Promise<void> {
    const uri = this.uri(path);
    const edit = new vscode.WorkspaceEdit();
    edit.deleteFile(uri, { ignoreIfNotExists: true });
    if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`VS Code refused to delete ${path}`);
  }

  async listDirectory(path: string): Promise<DirectoryEntry[]> {
    const entries = await vscode.workspace.fs.readDirectory(this.uri(path));
    return entries
      .map(([name, type]) => ({ name, type: type & vscode.FileType.Directory ? ('directory' as const) : type & vscode.FileType.File ? ('file' as const) : ('other' as const) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async search(query: string, maxResults: number, signal: AbortSignal): Promise<SearchHit[]> {
    const source = new vscode.CancellationTokenSource();
    const onAbort = (): void => source.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const files = await vscode.workspace.findFiles(new vscode.RelativePattern(this.folder, '**/*'), '**/{node_modules,.git,dist,out}/**', MAX_SEARCH_FILES, source.token);
      const hits: SearchHit[] = [];
      for (const file of files.sort((a, b) => a.path.localeCompare(b.path))) {
        signal.throwIfAborted();
        const bytes = await vscode.workspace.fs.readFile(file);
        if (bytes.length > MAX_SEARCH_FILE_BYTES || bytes.includes(0)) continue;
        const rel = vscode.workspace.asRelativePath(file, false);
        new TextDecoder().decode(bytes).split('\n').forEach((text, i) => {
          if (hits.length < maxResults && text.includes(query)) hits.push({ path: rel, line: i + 1, text: text.trim().slice(0, 200) });
        });
        if (hits.length >= maxResults) break;
      }
      return hits;
    } finally {
      signal.removeEventListener('abort', onAbort);
      source.dispose();
    }
  }
}
