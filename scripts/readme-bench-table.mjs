#!/usr/bin/env node
// Rewrites the README's Performance table from bench/results/latest.json, so the
// table always shows what the last runs measured (`node scripts/readme-bench-table.mjs`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './lib.mjs';

const HEADER = '| group | figure | median (min – max) | target | met |';

/** As the bench prints figures; ratios with three decimals. */
function fmt(n, unit) {
  if (!Number.isFinite(n)) return '—';
  if (unit === '×') return n.toFixed(3);
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 100) return n.toFixed(0);
  if (n >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

const results = JSON.parse(readFileSync(join(root, 'bench', 'results', 'latest.json'), 'utf8'));
const rows = [HEADER, '|---|---|---|---|---|'];
for (const [group, value] of Object.entries(results)) {
  for (const f of value.figures ?? []) {
    const met = f.met === undefined ? '' : f.met ? 'yes' : '**no**';
    rows.push(`| ${group} | ${f.name.replace(/\|/g, '\\|')} | ${fmt(f.median, f.unit)} ${f.unit ?? ''} (${fmt(f.min, f.unit)} – ${fmt(f.max, f.unit)}) | ${f.target ?? ''} | ${met} |`);
  }
}

const readme = join(root, 'README.md');
const lines = readFileSync(readme, 'utf8').split('\n');
const start = lines.indexOf(HEADER);
if (start < 0) throw new Error(`README.md has no line "${HEADER}"`);
let end = start;
while (end < lines.length && lines[end].startsWith('|')) end++;
lines.splice(start, end - start, ...rows);
writeFileSync(readme, lines.join('\n'));
console.log(`README.md: ${rows.length - 2} figures`);
