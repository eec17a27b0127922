/**
 * What a transcript row may say about a tool call. The journal's event says
 * "called" when the agent asks for the tool, but a command that waits for the
 * person's approval has not started: the row says so instead of "running".
 */
export const AWAITING_APPROVAL = 'awaiting approval';

interface Row {
  readonly role: string;
  readonly state: string | null;
}

export function honestToolStates<T extends Row>(messages: readonly T[]): T[] {
  return messages.map((m, i) => {
    const next = messages[i + 1];
    return m.role === 'tool' && m.state === 'running' && next?.role === 'approval' && next.state === 'pending' ? { ...m, state: AWAITING_APPROVAL } : m;
  });
}
