/**
 * What the adversary has. Every attack takes one and every report states it.
 */
import { z } from 'zod';
import { AegisInputError } from './errors.js';

export const ACCESS_LEVELS = ['labels', 'scores', 'gradients'] as const;
/** How much a model reveals: decisions only, class scores, or full white-box gradients. */
export type Access = (typeof ACCESS_LEVELS)[number];

export const NORMS = ['linf', 'l2'] as const;
export type Norm = (typeof NORMS)[number];

export const threatModelSchema = z.object({
  /** What the adversary can observe of the model. */
  access: z.enum(ACCESS_LEVELS),
  /** Perturbation norm for evasion; budgets are measured in it. */
  norm: z.enum(NORMS).default('linf'),
  /** Perturbation budgets (one result row each). */
  epsilons: z.array(z.number().finite().nonnegative()).default([]),
  /** Model queries allowed per attacked example (black-box attacks); undefined = unlimited. */
  queryBudget: z.number().int().positive().optional(),
  /** Valid input domain; adversarial inputs are always clipped to it. */
  inputRange: z.tuple([z.number(), z.number()]).default([0, 1]),
  /** Untargeted (any wrong class) unless a target class is given. */
  targeted: z.boolean().default(false),
  /** What the adversary knows of the data, in words (stated in reports). */
  knowledge: z.string().default('test inputs and their true labels'),
});

export type ThreatModel = z.infer<typeof threatModelSchema>;

/** Parses and checks a threat model; bad values raise AegisInputError naming the field. */
export function makeThreatModel(input: z.input<typeof threatModelSchema>): ThreatModel {
  const parsed = threatModelSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AegisInputError(`invalid threat model: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const t = parsed.data;
  const [low, high] = t.inputRange;
  if (!(high > low)) throw new AegisInputError(`invalid threat model: inputRange [${low}, ${high}] is empty`);
  if (t.norm === 'linf') {
    const tooBig = t.epsilons.find((e) => e > high - low);
    if (tooBig !== undefined) {
      throw new AegisInputError(
        `eps ${tooBig} is outside the input domain [${low}, ${high}]: an L-inf budget above ${high - low} is meaningless`,
      );
    }
  }
  return t;
}

/** True when `have` grants at least what `need` asks (gradients ⊃ scores ⊃ labels). */
export function accessCovers(have: Access, need: Access): boolean {
  return ACCESS_LEVELS.indexOf(have) >= ACCESS_LEVELS.indexOf(need);
}

/** One sentence for reports and the CLI. */
export function describeThreatModel(t: ThreatModel): string {
  const access = {
    gradients: 'white-box (model internals and gradients)',
    scores: 'black-box with class scores',
    labels: 'black-box with predicted labels only',
  }[t.access];
  const budget = t.queryBudget ? `, at most ${t.queryBudget} queries per example` : '';
  // Attacks without perturbation budgets (membership, inversion, extraction): no goal or norm to state.
  if (t.epsilons.length === 0)
    return `${access}${budget}; inputs in [${t.inputRange.join(', ')}]; knows ${t.knowledge}`;
  const goal = t.targeted ? 'targeted' : 'untargeted';
  return `${goal} ${access}; ${t.norm === 'linf' ? 'L-inf' : 'L2'} budgets ${t.epsilons.join(', ')}${budget}; inputs in [${t.inputRange.join(', ')}]; knows ${t.knowledge}`;
}
