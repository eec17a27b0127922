/**
 * What every agent tool is made of: its schema and effect class, the
 * environment it runs in (the durable context, the workspace, the command
 * runner, the policy, approvals), and the helpers tools share.
 */
import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { DurableContext, EffectClass, ProbeFallback } from '../durable';
import type { CommandRunner } from './commandRunner';
import type { ToolSchema } from './model';
import type { WorkspaceAccess } from './workspaceAccess';

export interface ApprovalRequest {
  readonly kind: 'command' | 'question';
  readonly prompt: string;
}

export interface ApprovalDecision {
  readonly approved: boolean;
  readonly decidedBy: string;
  readonly answer?: string;
}

export interface ToolPolicy {
  readonly requireCommandApproval: boolean;
  /** When a command's outcome cannot be learned after a crash (its supervisor died too). */
  readonly commandAmbiguity: ProbeFallback;
  readonly commandTimeoutMs: number;
  readonly maxOutputBytes: number;
  readonly maxReadBytes: number;
}

export const DEFAULT_TOOL_POLICY: ToolPolicy = {
  requireCommandApproval: true,
  commandAmbiguity: 'ask',
  commandTimeoutMs: 120_000,
  maxOutputBytes: 64 * 1024,
  maxReadBytes: 64 * 1024,
};

export interface ToolEnv {
  readonly ctx: DurableContext;
  readonly workspace: WorkspaceAccess;
  readonly runCommand: CommandRunner;
  readonly policy: ToolPolicy;
  /** Park the session on a durable promise until a person decides (never the model). */
  requestApproval(request: ApprovalRequest): Promise<ApprovalDecision>;
}

export interface ToolOutcome {
  readonly ok: boolean;
  /** What the model reads. */
  readonly content: string;
  /** One line for the transcript. */
  readonly summary: string;
}

export interface AgentTool {
  readonly schema: ToolSchema;
  readonly effect: EffectClass;
  /** One line for the transcript, from the arguments (never file contents). */
  describe(args: Record<string, unknown>): string;
  run(args: Record<string, unknown>, env: ToolEnv): Promise<ToolOutcome>;
}

export function contentHash(bytes: Uint8Array | undefined): string {
  return bytes === undefined ? 'absent' : bytesToHex(blake3(bytes));
}


export function stringArg(args: Record<string, unknown>, name: string, options: { optional?: boolean; max?: number } = {}): string {
  const v = args[name];
  if (v === undefined && options.optional) return '';
  if (typeof v !== 'string') throw new ToolArgumentError(`"${name}" must be a string`);
  if (v.length > (options.max ?? 1_000_000)) throw new ToolArgumentError(`"${name}" is longer than ${options.max ?? 1_000_000} characters`);
  return v;
}

export class ToolArgumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolArgumentError';
  }
}

export function fail(summary: string, content = summary): ToolOutcome {
  return { ok: false, content: `error: ${content}`, summary };
}

