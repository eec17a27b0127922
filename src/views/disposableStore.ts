/**
 * Owns disposables and disposes them once, newest first (what was built last
 * is taken down first), logging a disposal that throws instead of leaving the
 * rest undisposed.
 */
import type * as vscode from 'vscode';

export class DisposableStore implements vscode.Disposable {
  private readonly items: vscode.Disposable[] = [];
  private disposed = false;

  constructor(private readonly onError: (error: unknown) => void = () => undefined) {}

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Take ownership; something added after disposal is disposed at once. */
  add<T extends vscode.Disposable>(...items: T[]): T {
    for (const item of items) {
      if (this.disposed) this.disposeOne(item);
      else this.items.push(item);
    }
    return items[0];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const item of this.items.splice(0).reverse()) this.disposeOne(item);
  }

  private disposeOne(item: vscode.Disposable): void {
    try {
      item.dispose();
    } catch (error) {
      this.onError(error);
    }
  }
}
