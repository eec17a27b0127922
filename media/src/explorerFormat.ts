// Formatting for the journal explorer's page: times, durations, ages, status
// labels, and plain tables (text only: every value is set as textContent).
import { el } from './dom';

export function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
}
export function duration(ms: number): string {
  if (ms <= 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
export function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 172800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}
export const STATUS_LABEL: Record<string, string> = { done: 'done', failed: 'failed', open: 'interrupted', running: 'in flight', decided: 'decided', skipped: 'skipped', event: '' };

export function table(headers: string[], data: string[][], empty: string): HTMLElement {
  if (data.length === 0) return el('p', { className: 'hint', text: empty });
  const t = el('table');
  t.append(el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', { text: h })))));
  const tb = el('tbody');
  for (const r of data) tb.append(el('tr', {}, ...r.map((c) => el('td', { text: c }))));
  t.append(tb);
  return t;
}

