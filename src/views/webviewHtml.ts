/**
 * The HTML shell of our webviews: a strict CSP (`default-src 'none'`, the one
 * script allowed by a CSPRNG nonce, styles/images/fonts only from `media/`),
 * one stylesheet, one page script. Pages build their DOM with DOM APIs.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return { enableScripts: true, retainContextWhenHidden: false, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')] };
}

export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: { title: string; style: string; script: string }): string {
  const nonce = randomBytes(18).toString('base64');
  const media = (file: string): vscode.Uri => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', file));
  const escape = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource}; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${media(page.style)}">
<title>${escape(page.title)}</title>
</head>
<body>
<div id="app" aria-live="polite"></div>
<script nonce="${nonce}" src="${media(page.script)}"></script>
</body>
</html>`;
}
