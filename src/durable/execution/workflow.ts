/**
 * Workflow kinds: a name, a version and a function of a DurableContext.
 *
 * The version is recorded with each execution. A build that registers another
 * version of a kind leaves that kind's recorded executions untouched (and says
 * why) instead of replaying old journals against changed code.
 */
import type { DurableContext } from './stepTypes';
import { DeclarationError } from '../model/errors';

export interface WorkflowDefinition<I = unknown, O = unknown> {
  readonly kind: string;
  readonly version: number;
  /** A short, non-secret title for lists (the input stays sealed in the journal). */
  title?(input: I): string;
  run(ctx: DurableContext, input: I): Promise<O>;
}

export class WorkflowRegistry {
  private readonly byKind = new Map<string, WorkflowDefinition>();

  register<I, O>(definition: WorkflowDefinition<I, O>): void {
    if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(definition.kind)) {
      throw new DeclarationError(`workflow kind ${JSON.stringify(definition.kind)} must be 1–64 lowercase letters, digits, '_', '.', '-'`);
    }
    if (!Number.isInteger(definition.version) || definition.version < 1) {
      throw new DeclarationError(`workflow ${definition.kind}: version must be a positive integer`);
    }
    if (this.byKind.has(definition.kind)) throw new DeclarationError(`workflow ${definition.kind} is registered twice`);
    this.byKind.set(definition.kind, definition as WorkflowDefinition);
  }

  /** Forget a kind (its extension went away); its executions wait until it is registered again. */
  unregister(kind: string): void {
    this.byKind.delete(kind);
  }

  get(kind: string): WorkflowDefinition | undefined {
    return this.byKind.get(kind);
  }

  /** Why an execution of (kind, version) cannot run here, or undefined when it can. */
  incompatibility(kind: string, version: number): string | undefined {
    const definition = this.byKind.get(kind);
    if (!definition) return `no workflow of kind "${kind}" is registered in this version of the extension`;
    if (definition.version !== version) {
      return `it was recorded by version ${version} of workflow "${kind}", but this extension has version ${definition.version}`;
    }
    return undefined;
  }
}

const MAX_TITLE = 200;
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * A title of at most 200 UTF-16 units (the bound import checks), cut between
 * characters as a person sees them: never inside a surrogate pair or a
 * combining sequence. A NUL becomes U+FFFD: PostgreSQL text cannot hold it,
 * and a title is only shown.
 */
export function cutTitle(raw: string): string {
  const title = raw.includes('\u0000') ? raw.replaceAll('\u0000', '\uFFFD') : raw;
  if (title.length <= MAX_TITLE) return title;
  let out = '';
  for (const { segment } of graphemes.segment(title)) {
    if (out.length + segment.length > MAX_TITLE) break;
    out += segment;
  }
  return out;
}
