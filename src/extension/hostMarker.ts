/**
 * Did the previous extension host of this workspace crash? Each host leaves a
 * marker file named after its pid while it runs and removes it when it
 * deactivates; a marker whose process is gone belongs to a host that died
 * without deactivating (killed, out of memory, taken down by an extension).
 *
 * VS Code restarts a crashed host in under a second but keeps the webview
 * tabs the dead host served, now with dead buttons; this tells activation to
 * replace them by live panels (see views/panelTabs.ts). Written synchronously
 * so the clean-exit record is made even when deactivation is cut short.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isProcessAlive } from '../agent/supervisedCommands';

export class HostMarker {
  private readonly own: string | undefined;

  /** `folder` undefined (no storage): nothing is recorded and no crash is ever reported. */
  constructor(private readonly folder: string | undefined, private readonly pid = process.pid) {
    this.own = folder === undefined ? undefined : join(folder, `${pid}.host`);
  }

  /** Record this host as running; returns how many earlier hosts of this workspace died without deactivating. */
  start(): number {
    if (this.folder === undefined || this.own === undefined) return 0;
    mkdirSync(this.folder, { recursive: true });
    let crashed = 0;
    for (const entry of readdirSync(this.folder)) {
      const match = /^(\d+)\.host$/.exec(entry);
      if (!match || Number(match[1]) === this.pid || isProcessAlive(Number(match[1]))) continue;
      crashed++;
      rmSync(join(this.folder, entry), { force: true });
    }
    writeFileSync(this.own, String(Date.now()));
    return crashed;
  }

  /** A clean exit: deactivation ran. */
  markClean(): void {
    if (this.own) rmSync(this.own, { force: true });
  }
}
