/**
 * Shows our output channel, and shows it again a second later.
 *
 * In a window's first seconds VS Code can drop an output channel's reveal: the
 * command runs, `show()` is called, and the panel stays closed. In code-server
 * 4.139 this happened to about one Show Log in four pressed right after the
 * tree's first row appeared, and never once the reveal was repeated a second
 * later. A second reveal is harmless when the first worked, so the command
 * always repeats it (without taking the focus) rather than leave the user's
 * click unanswered.
 */
import type * as vscode from 'vscode';

/** The part of an output channel this needs (a vscode.OutputChannel has it). */
export interface RevealableChannel {
  show(preserveFocus?: boolean): void;
}

const REPEAT_AFTER_MS = 1000;

export class LogRevealer implements vscode.Disposable {
  private pending: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(private readonly log: RevealableChannel) {}

  show(preserveFocus = false): void {
    if (this.disposed) return;
    this.log.show(preserveFocus);
    clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      // Without focus: if the user clicked elsewhere in that second, the log opens but does not take the focus back.
      if (!this.disposed) this.log.show(true);
    }, REPEAT_AFTER_MS);
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.pending);
    this.pending = undefined;
  }
}
