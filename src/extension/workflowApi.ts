/**
 * The durable API other extensions get from `exports.workflows`: register a
 * workflow kind of their own (namespaced, e.g. "acme.deploy"), start it, resume
 * it, inspect it. Its steps run through our journal with the same effect
 * classes and ambiguity policies as the agent's, and its executions show in our
 * tree and explorer. Versioned by `apiVersion` on the exports; see the README's
 * "A durable API for other extensions".
 */
import type * as vscode from 'vscode';
import { groupOf } from '../views/explorerTreeModel';
import type { ExecutionId, ExecutionOutcome, WorkflowDefinition } from '../durable';
import type { Container } from './container';

/**
 * A workflow another extension brings: its kind is `<publisher or extension>.<name>`
 * (lowercase, with a dot); raise `version` when `run` changes in a way old
 * journals would not replay; `ctx.step(descriptor, op)` journals each effect.
 */
export type DurableWorkflow<I = unknown, O = unknown> = WorkflowDefinition<I, O>;

export interface DurableRun {
  readonly id: string;
  readonly done: Promise<ExecutionOutcome>;
}

export interface DurableRunSummary {
  readonly id: string;
  readonly kind: string;
  readonly title: string;
  /** running, interrupted (nobody runs it: resume it), suspended, completed, failed, cancelled, aborted. */
  readonly status: string;
  readonly attempt: number;
  readonly steps: ReadonlyArray<{ readonly stepId: number; readonly name: string; readonly status: string }>;
}

export interface DurableWorkflowsApi {
  register<I, O>(workflow: DurableWorkflow<I, O>): vscode.Disposable;
  start(kind: string, input: unknown): Promise<DurableRun>;
  resume(id: string): Promise<DurableRun>;
  inspect(id: string): Promise<DurableRunSummary | undefined>;
}

export function workflowsApi(container: Container): DurableWorkflowsApi {
  return {
    register: (workflow) => container.sessions.registerWorkflow(workflow as WorkflowDefinition),
    start: async (kind, input) => {
      const handle = await container.sessions.startExternal(kind, input);
      container.journal.notifyChanged();
      return { id: handle.id, done: handle.done };
    },
    resume: async (id) => {
      const handle = await container.sessions.resumeExternal(id as ExecutionId);
      return { id: handle.id, done: handle.done };
    },
    inspect: async (id) => {
      const execution = await container.journal.execution(id as ExecutionId);
      // Another extension sees the executions of kinds registered through the API, never a session's task.
      if (!execution || !container.sessions.isExternalKind(execution.kind)) return undefined;
      const timeline = await container.journal.timeline(id as ExecutionId);
      const group = groupOf(execution, container.journal.liveness());
      return {
        id: execution.id,
        kind: execution.kind,
        title: execution.title,
        status: group === 'interrupted' ? 'interrupted' : execution.status,
        attempt: execution.attempt,
        steps: timeline.rows.filter((r) => r.stepId !== null).map((r) => ({ stepId: r.stepId as number, name: r.name, status: r.status })),
      };
    },
  };
}
