// Tiny benchmark harness: median of several runs with min–max, collected into
// bench/results/latest.json and a Markdown table.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
export const root = findRoot();

export interface Figure {
  readonly name: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

export async function measure(name: string, runs: number, once: () => Promise<number>): Promise<Figure> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await once());
  values.sort((a, b) => a - b);
  const figure = { name, median: values[Math.floor(values.length / 2)], min: values[0], max: values[values.length - 1], runs };
  console.log(`${name}: ${fmt(figure.median)} (min ${fmt(figure.min)}, max ${fmt(figure.max)}, ${runs} runs)`);
  return figure;
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(3);
}

export function report(group: string, figures: readonly Figure[]): void {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  all[group] = { measuredAt: new Date().toISOString(), node: process.version, figures };
  writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
  const lines = ['| figure | median | min | max | runs |', '|---|---|---|---|---|'];
  for (const [g, value] of Object.entries(all)) {
    for (const f of (value as { figures: Figure[] }).figures) lines.push(`| ${g}: ${f.name} | ${fmt(f.median)} | ${fmt(f.min)} | ${fmt(f.max)} | ${f.runs} |`);
  }
  writeFileSync(join(dir, 'latest.md'), lines.join('\n') + '\n');
}
