// A workflow of the test harness's own, registered through Durable Sessions'
// public API as any other extension would: two journaled effects around a wait
// for a go-ahead (a file the test creates after the reload).
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DurableWorkflow } from '../../src/extension/workflowApi';
import { harnessDir } from './support';

export const DEPLOY_KIND = 'harness.deploy';
export const DEPLOY_LOG = (): string => join(harnessDir(), 'deploy.log');
export const DEPLOY_GO = (): string => join(harnessDir(), 'deploy.go');
export const DEPLOY_ID_FILE = (): string => join(harnessDir(), 'deploy.id');

export function deployWorkflow(): DurableWorkflow<{ target: string }, { deployed: string }> {
  return {
    kind: DEPLOY_KIND,
    version: 1,
    title: (input) => `deploy to ${input.target}`,
    async run(ctx, input) {
      await ctx.step({ name: 'upload', effect: 'exactly_once', intent: 'destructive', policy: 'rerun' }, () => appendFileSync(DEPLOY_LOG(), `upload ${input.target}\n`));
      await ctx.step({ name: 'await go-ahead', effect: 'idempotent' }, async (h) => {
        while (!existsSync(DEPLOY_GO())) {
          if (h.signal.aborted) throw new Error('stopped while waiting for the go-ahead');
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      await ctx.step({ name: 'switch traffic', effect: 'exactly_once', intent: 'destructive', policy: 'rerun' }, () => appendFileSync(DEPLOY_LOG(), `switch ${input.target}\n`));
      return { deployed: input.target };
    },
  };
}
