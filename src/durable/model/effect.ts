/**
 * Effect classes, intent sub-classes and ambiguity policies,
 * with the declaration-time rule: a guarded step whose effect is destructive,
 * security-relevant, moves money, or is custom must say what to do when a crash
 * leaves its intent without a result. Declaring one without a policy throws.
 */
import { DeclarationError } from './errors';

/**
 * - `idempotent`: re-running is harmless; the result is written buffered.
 * - `at_least_once`: re-running is acceptable; the result is written buffered.
 * - `exactly_once`: guarded; intent committed before the operation, result after.
 */
export type EffectClass = 'idempotent' | 'at_least_once' | 'exactly_once';
export const EFFECT_CLASSES: readonly EffectClass[] = ['idempotent', 'at_least_once', 'exactly_once'];

export type IntentClass = 'cost_bearing' | 'destructive' | 'security' | 'money' | 'custom';
export const INTENT_CLASSES: readonly IntentClass[] = ['cost_bearing', 'destructive', 'security', 'money', 'custom'];

/**
 * What happens to an ambiguous window (intent committed, no result):
 * - `fail`: surface an error; the operation is not run.
 * - `rerun`: run again with the same idempotency key.
 * - `skip`: do not run; the step returns a typed "skipped" outcome.
 * - `verify`: run the step's probe to learn whether the effect happened.
 * - `ask`: suspend the execution until a person decides.
 */
export type AmbiguityPolicy = 'fail' | 'rerun' | 'skip' | 'verify' | 'ask';
export const AMBIGUITY_POLICIES: readonly AmbiguityPolicy[] = ['fail', 'rerun', 'skip', 'verify', 'ask'];

/** Intent classes whose ambiguity policy must be stated explicitly. */
const POLICY_REQUIRED: ReadonlySet<IntentClass> = new Set(['destructive', 'security', 'money', 'custom']);

const DEFAULT_POLICY: Record<IntentClass, AmbiguityPolicy | undefined> = {
  cost_bearing: 'skip',
  destructive: undefined,
  security: undefined,
  money: undefined,
  custom: undefined,
};

export interface EffectDeclaration {
  readonly effect: EffectClass;
  readonly intent?: IntentClass;
  readonly policy?: AmbiguityPolicy;
}

/** A declaration after the rules ran: guarded steps always have an intent and a policy. */
export type ResolvedEffect =
  | { readonly effect: 'idempotent' | 'at_least_once'; readonly guarded: false }
  | { readonly effect: 'exactly_once'; readonly guarded: true; readonly intent: IntentClass; readonly policy: AmbiguityPolicy };

export function isGuarded(effect: EffectClass): effect is 'exactly_once' {
  return effect === 'exactly_once';
}

/**
 * Apply the declaration-time rules. Throws DeclarationError naming the step when
 * the declaration is incomplete or contradictory.
 */
export function resolveEffect(stepName: string, decl: EffectDeclaration): ResolvedEffect {
  if (!EFFECT_CLASSES.includes(decl.effect)) {
    throw new DeclarationError(`step "${stepName}": unknown effect class ${JSON.stringify(decl.effect)}`);
  }
  if (decl.intent !== undefined && !INTENT_CLASSES.includes(decl.intent)) {
    throw new DeclarationError(`step "${stepName}": unknown intent class ${JSON.stringify(decl.intent)}`);
  }
  if (decl.policy !== undefined && !AMBIGUITY_POLICIES.includes(decl.policy)) {
    throw new DeclarationError(`step "${stepName}": unknown ambiguity policy ${JSON.stringify(decl.policy)}`);
  }
  if (decl.effect !== 'exactly_once') {
    if (decl.intent !== undefined || decl.policy !== undefined) {
      throw new DeclarationError(
        `step "${stepName}": intent and ambiguity policy apply only to exactly_once steps (this one is ${decl.effect}); ` +
          'an unguarded step has no ambiguous window',
      );
    }
    return { effect: decl.effect, guarded: false };
  }
  const intent = decl.intent ?? 'cost_bearing';
  const policy = decl.policy ?? DEFAULT_POLICY[intent];
  if (policy === undefined || (POLICY_REQUIRED.has(intent) && decl.policy === undefined)) {
    throw new DeclarationError(
      `step "${stepName}": a ${intent} exactly_once step must declare an ambiguity policy ` +
        `(one of ${AMBIGUITY_POLICIES.join(', ')}); a crash between its intent and its result must not be guessed`,
    );
  }
  return { effect: 'exactly_once', guarded: true, intent, policy };
}
