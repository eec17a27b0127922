// The agent crash torture's script and price, shared by the test and its child.
export const TORTURE_PRICE = { input: 3, output: 15 };

export const SCRIPT = {
  ledger: 'charges.log',
  turns: [
    { toolCalls: [{ name: 'write_file', arguments: { path: 'a.txt', content: 'A\n' } }], delayMs: 3, usage: { input: 1200, output: 40 } },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'a.txt', old_text: 'A\n', new_text: 'A\nB\n' } }], delayMs: 3, usage: { input: 1500, output: 45 } },
    { toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 0.02; echo once >> cmd.log' } }], delayMs: 3, usage: { input: 1800, output: 30 } },
    { toolCalls: [{ name: 'edit_file', arguments: { path: 'a.txt', old_text: 'B\n', new_text: 'B\nC\n' } }], delayMs: 3, usage: { input: 2100, output: 50 } },
    { say: 'done', delayMs: 3, usage: { input: 2300, output: 12 } },
  ],
};
