// `npm run bench`: every benchmark group in turn.
import { run as journal } from './journal.bench';
import { run as steps } from './steps.bench';

async function main(): Promise<void> {
  await journal();
  await steps();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
