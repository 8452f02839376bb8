/**
 * Constraints an adversarial flow must satisfy to be a flow at all, as separate reusable pieces
 * (TextAttack's constraints, DESIGN.md): the search proposes candidates through transformations,
 * and a candidate counts only if every constraint holds. Each constraint compares a flow before
 * and after the attack, in raw units, and reports the rows it rejects:
 *
 * - immutable: columns the attacker does not control are unchanged;
 * - integer / non-negative / range: counts are integers ≥ 0, rates in [0, 1], window counts
 *   within KDD's caps;
 * - no-decrease: functionality-preserving changes only add (bytes, time);
 * - rate-count consistency: a rate over a window of c connections is a share of c, so rate·c is
 *   an integer up to the two-decimal rounding of the rate (±0.005·c) — checked only where the
 *   original flow satisfied it;
 * - one-hot: every categorical block of the encoded flow has exactly one 1.
 */
import type { FlowEncoder } from '../encoder.js';
import { COUNT_CAP, HOST_CAP, isRateColumn } from './transformations.js';

/** Raw numeric flows [n × p] in the encoder's numeric column order. */
export interface RawFlows {
  values: Float64Array;
  n: number;
  names: readonly string[];
}

export interface ConstraintInput {
  before: RawFlows;
  after: RawFlows;
  /** The adversarial flows encoded [n × d] (for one-hot checks). */
  encodedAfter: Float32Array;
  encoder: FlowEncoder;
}

export interface Constraint {
  name: string;
  description: string;
  /** 1 for each row that violates the constraint. */
  violations(input: ConstraintInput): Uint8Array;
}

const f32 = Math.fround;

function columnCheck(
  name: string,
  description: string,
  columns: readonly string[],
  bad: (after: number, before: number, name: string) => boolean,
): Constraint {
  return {
    name,
    description,
    violations: ({ before, after }) => {
      const out = new Uint8Array(after.n);
      const p = after.names.length;
      const idx = columns.map((c) => after.names.indexOf(c)).filter((j) => j >= 0);
      for (let i = 0; i < after.n; i++) {
        for (const j of idx) {
          if (bad(after.values[i * p + j] as number, before.values[i * p + j] as number, after.names[j] as string)) {
            out[i] = 1;
            break;
          }
        }
      }
      return out;
    },
  };
}

/** Columns outside `mutable` keep their value (to float32 precision: tensors carry the attack). */
export function immutable(mutable: readonly string[]): Constraint {
  const free = new Set(mutable);
  return {
    name: 'immutable',
    description: `only attacker-controlled columns change (${[...free].join(', ')})`,
    violations: (input) => {
      const others = input.after.names.filter((n) => !free.has(n));
      return columnCheck('immutable', '', others, (a, b) => f32(a) !== f32(b)).violations(input);
    },
  };
}

export function integerColumns(columns: readonly string[]): Constraint {
  return columnCheck('integer', `${columns.join(', ')} are integers`, columns, (a) => !Number.isInteger(a));
}

export function nonNegative(columns: readonly string[]): Constraint {
  return columnCheck('non-negative', `${columns.join(', ')} are ≥ 0`, columns, (a) => !(a >= 0));
}

export function withinRange(columns: readonly string[], low: number, high: number): Constraint {
  return columnCheck('range', `${columns.join(', ')} in [${low}, ${high}]`, columns, (a) => !(a >= low && a <= high));
}

export function noDecrease(columns: readonly string[]): Constraint {
  return columnCheck('no-decrease', `${columns.join(', ')} only grow`, columns, (a, b) => a < f32(b) - 1e-9);
}

function consistent(rate: number, count: number): boolean {
  const shares = rate * count;
  return Math.abs(shares - Math.round(shares)) <= 0.005 * count + 1e-4;
}

/** rate·count is a whole number of connections, up to the rate's two-decimal rounding. */
export function rateCountConsistency(pairs: readonly [string, string][]): Constraint {
  return {
    name: 'rate-count consistency',
    description: 'each window rate is a share of its window count',
    violations: ({ before, after }) => {
      const out = new Uint8Array(after.n);
      const p = after.names.length;
      const idx = pairs
        .map(([r, c]) => [after.names.indexOf(r), after.names.indexOf(c)] as const)
        .filter(([r, c]) => r >= 0 && c >= 0);
      for (let i = 0; i < after.n; i++) {
        for (const [r, c] of idx) {
          const held = consistent(before.values[i * p + r] as number, before.values[i * p + c] as number);
          if (held && !consistent(after.values[i * p + r] as number, after.values[i * p + c] as number)) {
            out[i] = 1;
            break;
          }
        }
      }
      return out;
    },
  };
}

/** Every one-hot block of the encoded flow holds exactly one 1 and zeros elsewhere. */
export const oneHotBlocks: Constraint = {
  name: 'one-hot',
  description: 'categorical columns stay one valid category',
  violations: ({ encodedAfter, encoder, after }) => {
    const out = new Uint8Array(after.n);
    const d = encoder.dimension;
    const blocks = encoder.spec.categorical.map((c) => encoder.oneHotRange(c.name));
    for (let i = 0; i < after.n; i++) {
      for (const [start, end] of blocks) {
        let ones = 0;
        let other = false;
        for (let k = start; k < end; k++) {
          const v = encodedAfter[i * d + k] as number;
          if (v === 1) ones++;
          else if (v !== 0) other = true;
        }
        if (ones !== 1 || other) {
          out[i] = 1;
          break;
        }
      }
    }
    return out;
  },
};

/** NSL-KDD's window rates and the counts they are shares of. */
export const NSL_KDD_RATE_COUNTS: readonly [string, string][] = [
  ['serror_rate', 'count'],
  ['rerror_rate', 'count'],
  ['same_srv_rate', 'count'],
  ['diff_srv_rate', 'count'],
  ['srv_serror_rate', 'srv_count'],
  ['srv_rerror_rate', 'srv_count'],
  ['srv_diff_host_rate', 'srv_count'],
  ['dst_host_same_srv_rate', 'dst_host_count'],
  ['dst_host_diff_srv_rate', 'dst_host_count'],
  ['dst_host_serror_rate', 'dst_host_count'],
  ['dst_host_rerror_rate', 'dst_host_count'],
  ['dst_host_srv_serror_rate', 'dst_host_srv_count'],
  ['dst_host_srv_rerror_rate', 'dst_host_srv_count'],
  ['dst_host_srv_diff_host_rate', 'dst_host_srv_count'],
  ['dst_host_same_src_port_rate', 'dst_host_srv_count'],
];

/** The constraints of an NSL-KDD flow under the given attacker (columns its transformations write). */
export function nslKddConstraints(encoder: FlowEncoder, mutable: readonly string[]): Constraint[] {
  const names = encoder.numeric.map((n) => n.name);
  const rates = names.filter(isRateColumn);
  const integers = encoder.numeric.filter((n) => n.integer).map((n) => n.name);
  return [
    immutable(mutable),
    integerColumns(integers),
    nonNegative(names),
    withinRange(rates, 0, 1),
    withinRange(['count', 'srv_count'], 0, COUNT_CAP),
    withinRange(['dst_host_count', 'dst_host_srv_count'], 0, HOST_CAP),
    noDecrease(['duration', 'src_bytes']),
    rateCountConsistency(NSL_KDD_RATE_COUNTS),
    oneHotBlocks,
  ];
}

/** Rows violating each constraint, and rows violating any. */
export function checkConstraints(
  constraints: readonly Constraint[],
  input: ConstraintInput,
): { any: Uint8Array; byConstraint: Record<string, number> } {
  const any = new Uint8Array(input.after.n);
  const byConstraint: Record<string, number> = {};
  for (const c of constraints) {
    const v = c.violations(input);
    let count = 0;
    v.forEach((bad, i) => {
      if (bad) {
        any[i] = 1;
        count++;
      }
    });
    byConstraint[c.name] = (byConstraint[c.name] ?? 0) + count;
  }
  return { any, byConstraint };
}
