/**
 * The shape of a table of commands, shared by the command modules (commands.ts
 * registers them all, journalCommands.ts contributes the explorer's).
 */
import type { Container } from './container';

export interface CommandOptions {
  /** Skip the modal confirmation (automation). */
  readonly confirmed?: boolean;
}

export type CommandHandler = (container: Container, options: CommandOptions, arg: unknown) => Promise<unknown>;

/** Commands by id: what the error report calls the action, and the handler. */
export type CommandTable = Record<string, { readonly action: string; readonly run: CommandHandler }>;
