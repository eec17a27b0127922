// The journal explorer's actions on one step: revealing a sealed payload only
// after the person confirms it, and deciding an interrupted step.
import type { PageMessage } from '../../src/shared/explorerProtocol';
import { button, el } from './dom';

export function confirmReveal(seq: number, slot: HTMLElement, post: (m: PageMessage) => void): void {
  slot.replaceChildren(
    el(
      'div',
      { className: 'warning' },
      el('p', { text: 'Payloads can hold source code, prompts, command output or secrets. It is decrypted only for this view, and the reveal is logged (not its content).' }),
      button('Reveal payload', () => post({ type: 'entry', seq, reveal: true })),
      button('Cancel', () => slot.replaceChildren(), { secondary: true }),
    ),
  );
  (slot.querySelector('button') as HTMLButtonElement | null)?.focus();
}

export function windowActions(stepId: number, stepName: string, policy: string, decidable: boolean, post: (m: PageMessage) => void): HTMLElement {
  const box = el('div', { className: 'decision' });
  box.append(el('p', { text: `Step ${stepId} (${stepName}) started but its result was never recorded: it may or may not have happened. Policy: ${policy}.` }));
  if (decidable) {
    box.append(
      el(
        'div',
        { className: 'actions' },
        button('Re-run', () => post({ type: 'resolve', stepId, decision: 'rerun' }), { title: 'Run it again (same idempotency key)' }),
        button('Skip', () => post({ type: 'resolve', stepId, decision: 'skip' }), { secondary: true, title: 'Do not run it; the workflow sees "skipped"' }),
        button('Fail', () => post({ type: 'resolve', stepId, decision: 'fail' }), { secondary: true, title: 'Stop the execution with an error' }),
      ),
    );
  } else box.append(el('p', { className: 'hint', text: 'It can be decided once nobody is running the execution.' }));
  return box;
}

