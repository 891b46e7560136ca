import type { FieldSpec } from '../../decorators/fieldSpecs';
import { mergeBehaviour, type FieldBehaviour } from './FieldBehaviour';
import { schemaOptionProblem, storedValueCheck, type OptionProblem } from './schema';

/**
 * What is wrong with a field's options (`merge`, `schema`, `migrate`, `onInvalid`), whatever the
 * style that set them: the decorator, `withPersistence`'s per-key options, a map's schema. Each
 * style words the sentence around it.
 */
export function fieldOptionProblem(options: { merge?: unknown; schema?: unknown; migrate?: unknown; onInvalid?: unknown }): OptionProblem | undefined {
  const merge = mergeBehaviour(options.merge);
  if (merge !== undefined && 'problem' in merge) return { option: 'merge', problem: merge.problem };
  return schemaOptionProblem(options);
}

/** The behaviours of a field, from its spec: its merge, then the check of its stored values. */
export function behavioursOf(spec: Omit<FieldSpec, 'name'>): readonly FieldBehaviour[] {
  const behaviours: FieldBehaviour[] = [];
  const merge = mergeBehaviour(spec.merge);
  if (merge !== undefined && !('problem' in merge)) behaviours.push(merge);
  if (spec.schema !== undefined || spec.migrate !== undefined) behaviours.push(storedValueCheck(spec));
  return behaviours;
}
