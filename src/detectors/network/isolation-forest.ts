// Liu, Ting & Zhou 2008, "Isolation Forest", IEEE ICDM (and "Isolation-Based Anomaly Detection", ACM TKDD 2012).
/**
 * Isolation forest: anomalies are few and different, so random axis-parallel splits isolate them
 * in fewer steps. Each of `trees` trees is grown on a subsample of ψ rows (default 256) by picking
 * a random feature and a uniform split between its min and max, down to depth ⌈log₂ ψ⌉; the
 * anomaly score is s(x) = 2^(−E[h(x)] / c(ψ)), h the path length plus c(size) at the leaf, c(n)
 * the average path length of an unsuccessful BST search (≈ 0.5 for normal points, → 1 for
 * anomalies). Features constant in a node are not drawn (as scikit-learn's splitter), so a split
 * always separates something. Per-feature attributions credit the features split on along x's
 * path, weighted by 1/h(x) — features that isolate x early matter most (after DIFFI: Carletti,
 * Terzi & Susto 2023, "Interpretable Anomaly Detection with DIFFI", Eng. Appl. of AI).
 * Every random choice comes from a seeded Rng; trees are flat arrays, saved as JSON.
 */
import { z } from 'zod';
import { AegisInputError } from '../../core/errors.js';
import { Rng } from '../../core/rng.js';

const EULER_GAMMA = 0.5772156649015329;

/** Average path length of an unsuccessful search in a BST of n nodes (Liu et al. eq. 1). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

const treeShape = z.object({
  /** Split feature per node; −1 for a leaf. */
  feature: z.array(z.number().int()),
  threshold: z.array(z.number()),
  left: z.array(z.number().int()),
  right: z.array(z.number().int()),
  /** Training rows that reached a leaf (0 for inner nodes). */
  size: z.array(z.number().int()),
});

const forestShape = z.object({
  format: z.literal('aegis-isolation-forest'),
  version: z.literal(1),
  dimension: z.number().int().positive(),
  sampleSize: z.number().int().positive(),
  trees: z.array(treeShape).min(1),
});

export type IsolationTree = z.infer<typeof treeShape>;
export type IsolationForestJson = z.infer<typeof forestShape>;

export interface IsolationForestOptions {
  /** Trees (default 100, as Liu et al.). */
  trees?: number;
  /** Subsample per tree ψ (default 256). */
  sampleSize?: number;
  seed: number;
}

/** Rows x[n × d] (row-major). */
export interface Matrix {
  x: ArrayLike<number>;
  rows: number;
  dimension: number;
}

export class IsolationForest {
  private constructor(readonly spec: IsolationForestJson) {}

  static fit(data: Matrix, options: IsolationForestOptions): IsolationForest {
    const trees = options.trees ?? 100;
    if (!Number.isInteger(trees) || trees < 1)
      throw new AegisInputError(`isolation forest: trees must be >= 1, got ${trees}`);
    if (data.rows < 2) throw new AegisInputError(`isolation forest: needs at least 2 rows, got ${data.rows}`);
    const psi = Math.min(options.sampleSize ?? 256, data.rows);
    const heightLimit = Math.ceil(Math.log2(psi));
    const rng = new Rng(options.seed);
    const out: IsolationTree[] = [];
    for (let t = 0; t < trees; t++) {
      // Subsample without replacement (a partial Fisher-Yates shuffle).
      const idx = Int32Array.from({ length: data.rows }, (_, i) => i);
      for (let i = 0; i < psi; i++) {
        const j = i + rng.int(data.rows - i);
        const tmp = idx[i] as number;
        idx[i] = idx[j] as number;
        idx[j] = tmp;
      }
      out.push(growTree(data, idx.slice(0, psi), heightLimit, rng));
    }
    return new IsolationForest({
      format: 'aegis-isolation-forest',
      version: 1,
      dimension: data.dimension,
      sampleSize: psi,
      trees: out,
    });
  }

  static fromJson(json: unknown, where = 'isolation forest'): IsolationForest {
    const parsed = forestShape.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AegisInputError(`${where}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    return new IsolationForest(parsed.data);
  }

  toJson(): IsolationForestJson {
    return this.spec;
  }

  /** Anomaly score s(x) in (0, 1] per row. */
  score(data: Matrix): Float64Array {
    this.check(data);
    const out = new Float64Array(data.rows);
    const c = averagePathLength(this.spec.sampleSize);
    for (let i = 0; i < data.rows; i++) {
      let sum = 0;
      for (const tree of this.spec.trees) sum += pathLength(tree, data.x, i * data.dimension).length;
      out[i] = 2 ** (-(sum / this.spec.trees.length) / c);
    }
    return out;
  }

  /** Per-feature attribution of row `row` (sums to 1 unless no split was on its path). */
  attribution(data: Matrix, row: number): Float64Array {
    this.check(data);
    const weights = new Float64Array(this.spec.dimension);
    for (const tree of this.spec.trees) {
      const path = pathLength(tree, data.x, row * data.dimension);
      for (const f of path.features) weights[f] = (weights[f] as number) + 1 / Math.max(path.length, 1);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (total > 0) for (let f = 0; f < weights.length; f++) weights[f] = (weights[f] as number) / total;
    return weights;
  }

  private check(data: Matrix): void {
    if (data.dimension !== this.spec.dimension) {
      throw new AegisInputError(
        `isolation forest: rows have ${data.dimension} features, the forest was grown on ${this.spec.dimension}`,
      );
    }
  }
}

function growTree(data: Matrix, rows: Int32Array, heightLimit: number, rng: Rng): IsolationTree {
  const tree: IsolationTree = { feature: [], threshold: [], left: [], right: [], size: [] };
  const d = data.dimension;
  const x = data.x;
  const addNode = (): number => {
    tree.feature.push(-1);
    tree.threshold.push(0);
    tree.left.push(-1);
    tree.right.push(-1);
    tree.size.push(0);
    return tree.feature.length - 1;
  };
  // Explicit stack: [node, rows, depth].
  const stack: [number, Int32Array, number][] = [[addNode(), rows, 0]];
  const lo = new Float64Array(d);
  const hi = new Float64Array(d);
  while (stack.length > 0) {
    const [node, part, depth] = stack.pop() as [number, Int32Array, number];
    if (depth >= heightLimit || part.length <= 1) {
      tree.size[node] = part.length;
      continue;
    }
    lo.fill(Number.POSITIVE_INFINITY);
    hi.fill(Number.NEGATIVE_INFINITY);
    for (const i of part) {
      for (let f = 0; f < d; f++) {
        const v = x[i * d + f] as number;
        if (v < (lo[f] as number)) lo[f] = v;
        if (v > (hi[f] as number)) hi[f] = v;
      }
    }
    const candidates: number[] = [];
    for (let f = 0; f < d; f++) if ((hi[f] as number) > (lo[f] as number)) candidates.push(f);
    if (candidates.length === 0) {
      tree.size[node] = part.length;
      continue;
    }
    const f = candidates[rng.int(candidates.length)] as number;
    const split = rng.uniform(lo[f] as number, hi[f] as number);
    const leftRows: number[] = [];
    const rightRows: number[] = [];
    for (const i of part) ((x[i * d + f] as number) < split ? leftRows : rightRows).push(i);
    tree.feature[node] = f;
    tree.threshold[node] = split;
    const l = addNode();
    const r = addNode();
    tree.left[node] = l;
    tree.right[node] = r;
    stack.push([l, Int32Array.from(leftRows), depth + 1], [r, Int32Array.from(rightRows), depth + 1]);
  }
  return tree;
}

/** h(x): edges to the leaf plus c(leaf size), and the features split on along the way. */
function pathLength(tree: IsolationTree, x: ArrayLike<number>, offset: number): { length: number; features: number[] } {
  let node = 0;
  let edges = 0;
  const features: number[] = [];
  for (;;) {
    const f = tree.feature[node] as number;
    if (f < 0) return { length: edges + averagePathLength(tree.size[node] as number), features };
    features.push(f);
    node =
      (x[offset + f] as number) < (tree.threshold[node] as number)
        ? (tree.left[node] as number)
        : (tree.right[node] as number);
    edges++;
  }
}
