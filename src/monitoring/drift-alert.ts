/** The Alert a detector raises when it turns to drift: one readable line plus the figures behind it. */
import type { Alert } from '../gateway/types.js';
import type { DetectorResult } from './types.js';

export interface AlertContext {
  model: string;
  time: string;
  window: number;
  firstExample: number;
  windowExamples: number;
  referenceExamples: number;
  examplesSeen: number;
}

/** Short number for messages: 4 significant digits, exponent form below 1e-3. */
export function formatFigure(v: number): string {
  return Math.abs(v) >= 1e-3 || v === 0 ? String(Number(v.toPrecision(4))) : v.toExponential(2);
}

function describe(r: DetectorResult): string {
  const f = formatFigure;
  const d = r.detail;
  const against =
    r.thresholdOn === 'p-value' ? `p=${f(r.pValue as number)} < ${f(r.threshold)}` : `> ${f(r.threshold)}`;
  const top = (d.topFeatures as { feature: number }[] | undefined)?.[0]?.feature;
  switch (r.detector) {
    case 'ks':
      return `input drift: Kolmogorov-Smirnov D=${f(r.statistic)} on feature ${top} (${against}, Bonferroni over ${d.features} features; ${d.driftedFeatures} features drifted)`;
    case 'psi':
      return `input drift: PSI ${f(r.statistic)} on feature ${top} ${against} (${d.featuresAbove} features above)`;
    case 'mmd':
      return `input drift: MMD² ${f(r.statistic)} on the ${d.embedding} embedding (${against})`;
    case 'chi-square':
      return `prediction drift: χ²=${f(r.statistic)} on ${d.df} df over the predicted labels (${against})`;
    case 'confidence':
      return `confidence drift: mean top-class confidence fell by ${f(r.statistic)} (${f(d.referenceMean as number)} → ${f(d.currentMean as number)}) ${against}`;
  }
}

export function driftAlert(r: DetectorResult, ctx: AlertContext): Alert {
  const last = ctx.firstExample + ctx.windowExamples - 1;
  return {
    time: ctx.time,
    source: r.source,
    model: ctx.model,
    keyId: null,
    severity: 'warning',
    message: `${describe(r)} in window ${ctx.window} (examples ${ctx.firstExample}–${last}) of model '${ctx.model}'`,
    detail: {
      statistic: r.statistic,
      pValue: r.pValue,
      threshold: r.threshold,
      thresholdOn: r.thresholdOn,
      window: ctx.window,
      firstExample: ctx.firstExample,
      windowExamples: ctx.windowExamples,
      referenceExamples: ctx.referenceExamples,
      examplesSeen: ctx.examplesSeen,
      ...r.detail,
    },
  };
}
