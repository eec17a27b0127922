#!/usr/bin/env node
// The README's main command: installs what is missing, builds and packages the
// extension, and opens it in a real VS Code (code-server) on a sample
// workspace. Prints the local URL; Ctrl-C stops everything it started.
//   node scripts/start.mjs [--port N] [--package-only]
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDependencies, log, root } from './lib.mjs';

const args = process.argv.slice(2);
const portArg = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : undefined;
if (portArg !== undefined && !(Number.isInteger(portArg) && portArg > 0 && portArg < 65536)) {
  console.error('--port needs a port number from 1 to 65535');
  process.exit(2);
}

ensureDependencies();
// The universal package: the one the Marketplace gets (it uses VS Code's own SQLite).
const { packageVsix } = await import('./package.mjs');
const { file: vsix, bytes } = await packageVsix();
log(`packaged ${vsix} (${(bytes / 1024).toFixed(0)} KiB)`);
log(`already have VS Code? install the package there with:  code --install-extension ${vsix}`);
if (args.includes('--package-only')) process.exit(0);

const { ensureTools, installExtension, profile, startServer } = await import('./vscode.mjs');
ensureTools();
// A persistent profile and workspace under .cache/run: what you do in them survives restarts.
const runDir = join(root, '.cache', 'run');
const p = profile(join(runDir, 'profile'));
const workspace = join(runDir, 'sample-workspace');
if (!existsSync(workspace)) {
  mkdirSync(workspace, { recursive: true });
  cpSync(join(root, 'test', 'fixtures', 'sample-workspace'), workspace, { recursive: true });
}
installExtension(p, vsix);
const server = await startServer(p, { folder: workspace, port: portArg ?? 8080 }).catch(async (error) => {
  if (portArg === undefined && /already in use/.test(error.message)) return startServer(p, { folder: workspace });
  throw error;
});
log(`VS Code with Durable Agent Sessions is running: open ${server.url}/?folder=${encodeURIComponent(workspace)}`);
log('press Ctrl-C to stop');
await new Promise(() => undefined);
