// Tiny benchmark harness: each figure is the median of several runs with
// min–max, optionally checked against its target. Every group's figures are
// merged into bench/results/latest.json and rendered as bench/results/latest.md.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

function findRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    if (dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}: run the benchmarks from the repository`);
    dir = dirname(dir);
  }
  return dir;
}
export const root = findRoot();

export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
  /** The target in words (e.g. "≥ 40,000/s and ≥ 0.6 × raw"), if the issue sets one. */
  readonly target?: string;
  readonly met?: boolean;
}

/** Run `once` `runs` times; the figure is the median with min–max. */
export async function measure(name: string, unit: string, runs: number, once: () => Promise<number>): Promise<Figure> {
  const values: number[] = [];
  for (let i = 0; i < runs; i++) values.push(await once());
  return summarize(name, unit, values);
}

export function summarize(name: string, unit: string, values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const figure = { name, unit, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length };
  console.log(`${name}: ${fmt(figure.median)} ${unit} (min ${fmt(figure.min)}, max ${fmt(figure.max)}, ${figure.runs} runs)`);
  return figure;
}

/** The same figure with its target and whether the median meets it. */
export function against(figure: Figure, target: string, met: boolean): Figure {
  console.log(`  target ${target}: ${met ? 'met' : 'MISSED'}`);
  return { ...figure, target, met };
}

/**
 * a ÷ b as a figure (median over median; min–max from the runs' extremes),
 * checked against `target` when one is given.
 */
export function ratioFigure(name: string, a: Figure, b: Figure, target?: string, meets?: (ratio: number) => boolean): Figure {
  const median = a.median / b.median;
  const figure: Figure = { name, unit: '×', median, min: a.min / b.max, max: a.max / b.min, runs: Math.min(a.runs, b.runs) };
  console.log(`${name}: ${fmt(median)} ×`);
  return target && meets ? against(figure, target, meets(median)) : figure;
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

export function fmt(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString('en-US');
  if (n >= 100) return n.toFixed(0);
  if (n >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

/** A temp folder removed after `fn`. */
export async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function report(group: string, figures: readonly Figure[]): void {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'latest.json');
  let all: Record<string, unknown> = {};
  try {
    all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  } catch {
    all = {};
  }
  all[group] = { measuredAt: new Date().toISOString(), node: process.version, cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency, figures };
  writeFileSync(file, JSON.stringify(all, null, 2) + '\n');
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench`: each figure is the median of its runs, with min–max. Ratios are measured in the same run against baselines the benchmark computes itself.',
    '',
    '| group | figure | median | min – max | runs | target | met |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [g, value] of Object.entries(all)) {
    const figs = (value as { figures?: Figure[] }).figures ?? [];
    for (const f of figs) {
      lines.push(`| ${g} | ${f.name} | ${fmt(f.median)} ${f.unit ?? ''} | ${fmt(f.min)} – ${fmt(f.max)} | ${f.runs} | ${f.target ?? ''} | ${f.met === undefined ? '' : f.met ? 'yes' : '**no**'} |`);
    }
  }
  writeFileSync(join(dir, 'latest.md'), lines.join('\n') + '\n');
}
