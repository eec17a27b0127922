/**
 * The first check of every message a webview page sends: a plain object with
 * a `type`, and a way to insist it carries no keys beyond the expected ones.
 * Each panel's protocol file does the rest (shared by host and page).
 */
export interface PageMessageShape {
  readonly m: Record<string, unknown>;
  /** True when the message has no keys besides `type` and `allowed`. */
  only(...allowed: string[]): boolean;
}

export function messageShape(value: unknown): PageMessageShape | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const m = value as Record<string, unknown>;
  const keys = Object.keys(m);
  return { m, only: (...allowed) => keys.every((k) => k === 'type' || allowed.includes(k)) };
}
