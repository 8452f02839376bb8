/**
 * Per-feature input drift: a two-sample Kolmogorov-Smirnov test per feature with a Bonferroni correction over the
 * features (α/d each), and the population stability index per feature. The reference is prepared once (sorted
 * columns, quantile bin edges and counts), so a window costs one sort and one binning per feature.
 */
import { KS_EXACT_MAX_PRODUCT, ksAsymptoticPValue, ksExactPValue, ksStatisticSorted } from './ks.js';
import { binCounts, PSI_BINS, PSI_EPSILON, psiFromCounts, quantileEdges } from './psi.js';

/** How many of the most-shifted features a summary lists. */
const TOP = 5;

export interface FeatureScore {
  feature: number;
  statistic: number;
  pValue?: number;
}

export interface KsSummary {
  /** Largest D over the features. */
  statistic: number;
  /** Its p-value, the smallest over the features (all features share n1, n2, so p falls as D grows). */
  pValue: number;
  /** α/d: the per-feature threshold after the Bonferroni correction. */
  threshold: number;
  features: number;
  /** Features whose p-value is below the threshold. */
  driftedFeatures: number;
  method: 'exact' | 'asymptotic';
  top: FeatureScore[];
  drift: boolean;
}

export interface PsiSummary {
  /** Largest PSI over the features. */
  statistic: number;
  meanPsi: number;
  threshold: number;
  /** Features whose PSI exceeds the threshold. */
  featuresAbove: number;
  bins: number;
  epsilon: number;
  top: FeatureScore[];
  drift: boolean;
}

function topFeatures(values: Float64Array, pValues?: Float64Array): FeatureScore[] {
  const order = Array.from(values.keys()).sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
  return order.slice(0, TOP).map((f) => ({
    feature: f,
    statistic: values[f] as number,
    ...(pValues ? { pValue: pValues[f] as number } : {}),
  }));
}

/** Per-feature results of one window. */
export interface FeatureScores {
  ksNumerator: Float64Array;
  ksStatistic: Float64Array;
  psi: Float64Array;
}

export class FeatureDrift {
  readonly features: number;
  readonly referenceSize: number;
  /** Sorted reference values, feature-major: feature f at [f·n, (f+1)·n). */
  private readonly sortedRef: Float32Array;
  private readonly edges: Float64Array[];
  private readonly refCounts: Float64Array[];
  private column: Float32Array;
  private readonly bins: number;
  private readonly epsilon: number;

  /** `rows` holds n reference examples of `features` values each, row-major. */
  constructor(rows: Float32Array, n: number, features: number, opts: { bins?: number; epsilon?: number } = {}) {
    this.features = features;
    this.referenceSize = n;
    this.bins = opts.bins ?? PSI_BINS;
    this.epsilon = opts.epsilon ?? PSI_EPSILON;
    this.sortedRef = new Float32Array(n * features);
    this.edges = [];
    this.refCounts = [];
    this.column = new Float32Array(Math.max(n, 1));
    for (let f = 0; f < features; f++) {
      const col = this.sortedRef.subarray(f * n, (f + 1) * n);
      for (let i = 0; i < n; i++) col[i] = rows[i * features + f] as number;
      col.sort();
      const edges = quantileEdges(col, this.bins);
      this.edges.push(edges);
      this.refCounts.push(binCounts(col, edges));
    }
  }

  /** Scratch for one window's per-feature results (fill with scoreFeatures, then summarise). */
  newScores(): FeatureScores {
    const d = this.features;
    return { ksNumerator: new Float64Array(d), ksStatistic: new Float64Array(d), psi: new Float64Array(d) };
  }

  /** Scores features [from, to) of the first `m` rows of `rows` against the reference, into `out`. */
  scoreFeatures(rows: Float32Array, m: number, from: number, to: number, out: FeatureScores): void {
    const n = this.referenceSize;
    const d = this.features;
    if (this.column.length < m) this.column = new Float32Array(m);
    const column = this.column.subarray(0, m);
    for (let f = from; f < to; f++) {
      for (let i = 0; i < m; i++) column[i] = rows[i * d + f] as number;
      out.psi[f] = psiFromCounts(
        this.refCounts[f] as Float64Array,
        binCounts(column, this.edges[f] as Float64Array),
        this.epsilon,
      );
      column.sort();
      const ks = ksStatisticSorted(this.sortedRef.subarray(f * n, (f + 1) * n), column, n, m);
      out.ksStatistic[f] = ks.statistic;
      out.ksNumerator[f] = ks.numerator;
    }
  }

  /** The KS (Bonferroni over the features) and PSI verdicts from a window's per-feature scores. */
  summarise(
    m: number,
    scores: FeatureScores,
    opts: { alpha: number; psiThreshold: number },
  ): { ks: KsSummary; psi: PsiSummary } {
    const n = this.referenceSize;
    const d = this.features;
    const exact = n * m <= KS_EXACT_MAX_PRODUCT;
    const cache = new Map<number, number>();
    const pValues = new Float64Array(d);
    for (let f = 0; f < d; f++) {
      const h = scores.ksNumerator[f] as number;
      let p = cache.get(h);
      if (p === undefined) {
        p = h === 0 ? 1 : exact ? ksExactPValue(h, n, m) : ksAsymptoticPValue(scores.ksStatistic[f] as number, n, m);
        cache.set(h, p);
      }
      pValues[f] = p;
    }
    const threshold = opts.alpha / d;
    const ksTop = topFeatures(scores.ksStatistic, pValues);
    const best = ksTop[0] as FeatureScore;
    let drifted = 0;
    for (const p of pValues) if (p < threshold) drifted++;
    let above = 0;
    let sum = 0;
    for (const v of scores.psi) {
      sum += v;
      if (v > opts.psiThreshold) above++;
    }
    const psiTop = topFeatures(scores.psi);
    return {
      ks: {
        statistic: best.statistic,
        pValue: best.pValue as number,
        threshold,
        features: d,
        driftedFeatures: drifted,
        method: exact ? 'exact' : 'asymptotic',
        top: ksTop,
        drift: drifted > 0,
      },
      psi: {
        statistic: (psiTop[0] as FeatureScore).statistic,
        meanPsi: sum / d,
        threshold: opts.psiThreshold,
        featuresAbove: above,
        bins: this.bins,
        epsilon: this.epsilon,
        top: psiTop,
        drift: above > 0,
      },
    };
  }

  /** Scores every feature and summarises (one call; the monitor slices the work with scoreFeatures instead). */
  evaluate(
    rows: Float32Array,
    m: number,
    opts: { alpha: number; psiThreshold: number },
  ): { ks: KsSummary; psi: PsiSummary } {
    const scores = this.newScores();
    this.scoreFeatures(rows, m, 0, this.features, scores);
    return this.summarise(m, scores, opts);
  }
}
