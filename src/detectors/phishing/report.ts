/**
 * A phishing evaluation as an Aegis report (schema aegis.report/1): the detector's figures in the
 * `detectors` section (metrics, operating point, ROC curve, caveats) and, when it was run, the
 * text evasion attack in `attacks` with its threat model — score access, edit budget in words —
 * and MITRE ATLAS technique (AML.T0043.001 Craft Adversarial Data: Black-Box Optimization, used to
 * Evade AI Model, AML.T0015), mitigated by AML.M0003 Model Hardening (adversarial training) and
 * AML.M0010 Input Restoration (the homoglyph fold).
 */
import { makeThreatModel } from '../../core/threat-model.js';
import { type AttackResultLike, buildReport } from '../../report/build-report.js';
import type { Report, ReportDetector } from '../../report/schema.js';
import type { PhishEvaluation } from './evaluate.js';
import { TEXT_EVASION, type TextEvasionResult } from './evasion/text-attack.js';
import type { PhishingDetector } from './phishing-detector.js';

export function phishNotes(detector: PhishingDetector): string[] {
  return [
    `The operating threshold flags at most ${detector.info.targetFpr} of the legitimate TRAINING messages, scored out-of-fold (${String(detector.info.training.folds ?? 5)}-fold); it was never tuned on test data.`,
    'recallAtFpr001 / recallAtFpr01 are read off the TEST ROC for comparison with published figures only; they are not operating points.',
    'Collection artefacts (dates, Received hop counts, header-name sets, mbox envelopes, recipient rewrites) are not features; see docs/phishing-detection.md for the cross-corpus and artefact-only figures.',
    // Saved models from before training warnings existed have none.
    ...((detector.info.training.warnings as string[] | undefined) ?? []).map((w) => `Training warning: ${w}`),
  ];
}

export function phishDetectorSection(detector: PhishingDetector, e: PhishEvaluation): ReportDetector {
  return {
    name: detector.name,
    title: `Phishing detection (${detector.mode} mode)`,
    kind: 'phishing',
    citation:
      'Logistic regression over PILFER-style signals (Fette, Sadeh & Tomasic 2007) and hashed n-grams (Weinberger et al. 2009)',
    metrics: {
      messages: e.size,
      phishing: e.phishing,
      legitimate: e.legitimate,
      precision: e.precision,
      recall: e.recall,
      f1: e.f1,
      falsePositiveRate: e.falsePositiveRate,
      accuracy: e.accuracy,
      auc: e.auc,
      recallAtFpr001: e.recallAtFpr001,
      recallAtFpr01: e.recallAtFpr01,
      eventsPerSecond: e.eventsPerSecond,
    },
    operatingPoint: {
      threshold: e.threshold,
      targetFpr: detector.info.targetFpr,
      chosenOn: 'out-of-fold scores of the legitimate training messages',
    },
    notes: phishNotes(detector),
    charts: [
      {
        title: 'ROC of the phishing score',
        xTitle: 'false-positive rate',
        yTitle: 'detection rate',
        series: [{ name: detector.name, points: e.roc.map((p) => ({ x: p.fpr, y: p.tpr })) }],
      },
    ],
  };
}

export function textEvasionAttack(result: TextEvasionResult, detector: PhishingDetector): AttackResultLike {
  return {
    attack: TEXT_EVASION.name,
    title: `${TEXT_EVASION.title} (${result.transformations.join(', ')})`,
    citation: TEXT_EVASION.citation,
    atlas: TEXT_EVASION.atlas,
    threatModel: makeThreatModel({
      access: 'scores',
      epsilons: result.rows.map((r) => r.eps),
      inputRange: [0, 1],
      knowledge:
        `queries the detector's score; rewrites only the wording of its own phishing (${result.transformations.join(', ')}), ` +
        `ε = the fraction of its ${result.unit} it may change (an edit budget, not an Lp norm), links and addresses intact; homoglyph fold ${detector.featurizer.config.foldHomoglyphs ? 'on' : 'off'}`,
    }),
    rows: result.rows.map((r) => ({
      eps: r.eps,
      accuracy: r.robustRecall,
      successRate: r.evasionRate,
      cleanRecall: r.cleanRecall,
      meanEdits: r.meanEdits,
      queries: r.meanQueries,
    })),
    mitigations: ['AML.M0003', 'AML.M0010'],
  };
}

export interface PhishReportInput {
  detector: PhishingDetector;
  evaluation: PhishEvaluation;
  testName: string;
  evasion?: TextEvasionResult;
  seed: number;
  command?: string;
}

export function buildPhishReport(input: PhishReportInput): Report {
  const { detector, evaluation } = input;
  return buildReport({
    model: {
      name: detector.name,
      access: 'scores',
      inputShape: [detector.featurizer.denseNames.length + detector.featurizer.hasher.buckets],
      numClasses: 2,
      inputRange: [0, 1],
    },
    dataset: {
      name: input.testName,
      size: evaluation.size,
      shape: [evaluation.size],
      classNames: [detector.mode === 'url' ? 'legitimate' : 'ham', 'phishing'],
    },
    cleanAccuracy: evaluation.accuracy,
    seed: input.seed,
    backend: 'none (TypeScript linear model)',
    ...(input.command ? { command: input.command } : {}),
    attacks: input.evasion ? [textEvasionAttack(input.evasion, detector)] : [],
    detectors: [phishDetectorSection(detector, evaluation)],
  });
}
