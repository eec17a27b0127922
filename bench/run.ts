// `npm run bench`: every benchmark group in turn.
import { run as journal } from './journal.bench';

async function main(): Promise<void> {
  await journal();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
