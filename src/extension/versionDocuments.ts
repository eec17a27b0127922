/**
 * Versions of a file that exist only in the journal (what a session wrote, what
 * was there before it), shown read-only in diff editors beside the file on disk.
 * Held in memory while a command needs them.
 */
import * as vscode from 'vscode';

const SCHEME = 'durable-sessions-version';

/** Journaled versions shown in diff editors, by URI; dropped when the command ends. */
class VersionDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private next = 0;

  uri(label: string, path: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${path}`, query: `${label}-${this.next++}` });
    this.texts.set(uri.toString(), text);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '(this version is no longer held: run the command again)';
  }

  clear(): void {
    this.texts.clear();
  }
}

export const versions = new VersionDocuments();

export function registerVersionDocuments(): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(SCHEME, versions);
}

