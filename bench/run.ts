// `npm run bench`: every benchmark group in turn (or the groups named on the
// command line: journal, steps, peers, replay, extension, postgres). Results go to
// bench/results/latest.json and latest.md.
import { run as extension } from './extension.bench';
import { report, against, type Figure } from './harness';
import { run as journal } from './journal.bench';
import { run as langgraph } from './langgraph.bench';
import { run as postgres } from './postgres.bench';
import { run as replay, runChild } from './replay.bench';
import { run as steps } from './steps.bench';

async function peers(): Promise<void> {
  // Measured back to back in this process so the ratio compares like with like.
  const ours = await steps();
  const lg = await langgraph();
  const ratio = ours.idempotentP50 / lg.checkpointOverheadMs;
  const figures: Figure[] = [
    ...lg.figures,
    against(
      { name: 'our idempotent step p50 ÷ LangGraph checkpoint overhead per step', unit: '×', median: ratio, min: ratio, max: ratio, runs: 1 },
      '≤ 0.1',
      ratio <= 0.1,
    ),
  ];
  report('peers', figures);
}

const groups: Record<string, () => Promise<unknown>> = { journal, peers, replay, extension, postgres };

async function main(): Promise<void> {
  // A measurement that needs a process of its own (see replay.bench.ts) runs it and nothing else.
  if (await runChild(process.argv)) return;
  const wanted = process.argv.slice(2);
  for (const name of wanted) if (!(name in groups)) throw new Error(`unknown benchmark group ${name}; groups: ${Object.keys(groups).join(', ')}`);
  for (const [name, fn] of Object.entries(groups)) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    console.log(`\n== ${name} ==`);
    await fn();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
