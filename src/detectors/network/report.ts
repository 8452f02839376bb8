/**
 * A NIDS evaluation as an Aegis report (schema aegis.report/1): the detector's figures in the
 * `detectors` section (metrics, per-class table, confusion matrix, operating point, ROC curve,
 * caveats) and, when it was run, the constrained evasion attack in `attacks` with its threat model
 * and MITRE ATLAS technique (AML.T0043.000 Craft Adversarial Data: White-Box Optimization, used to
 * Evade AI Model, AML.T0015), mitigated by AML.M0003 Model Hardening (constrained adversarial training).
 */
import { makeThreatModel } from '../../core/threat-model.js';
import { type AttackResultLike, buildReport } from '../../report/build-report.js';
import type { Report, ReportDetector } from '../../report/schema.js';
import type { NidsEvaluation } from './evaluate.js';
import { CONSTRAINED_EVASION, type ConstrainedEvasionResult } from './evasion/constrained-evasion.js';
import type { NidsDetector } from './nids-detector.js';

/** Notes every NSL-KDD figure needs beside it. */
export function nidsNotes(detector: NidsDetector): string[] {
  const c = detector.meta.combination;
  const notes = [
    c
      ? `Each component's score is turned into evidence against the benign flows of a validation split of the training file (−log10 of its benign tail p-value); a flow is flagged when the weighted sum (${Object.entries(
          c.weights,
        )
          .map(([k, w]) => `${k} ${Number(w.toFixed(3))}`)
          .join(
            ', ',
          )}) exceeds the sum that flags ${c.fpr} of those benign flows: calibrated on the training file, never on test data.`
      : `Thresholds were chosen on a benign validation split of the training file (novelty detectors at ${detector.meta.targetFpr} FPR each, classifier at ${detector.meta.supervisedFpr}), never on test data.`,
    'accuracy, precision, recall, F1, falsePositiveRate and auc are normal-vs-attack figures of the combined detector; macroF1 and multiclassAccuracy are those of its class decision.',
  ];
  if (detector.meta.layout === 'nsl-kdd') {
    notes.push(
      'Published NSL-KDD baselines (Tavallaee et al. 2009; Yin et al. 2017) trained on the full KDDTrain+ (125,973 flows); a model trained on KDDTrain+_20Percent (25,192) is not directly comparable.',
    );
  }
  return notes;
}

/** The `detectors` entry of the report. */
export function nidsDetectorSection(detector: NidsDetector, e: NidsEvaluation): ReportDetector {
  const components = Object.fromEntries(
    Object.entries(e.components).flatMap(([name, c]) => [
      [`${name}Auc`, c.auc],
      [`${name}Recall`, c.recall],
      [`${name}FalsePositiveRate`, c.falsePositiveRate],
    ]),
  );
  return {
    name: detector.name,
    title: `Network intrusion detection (${detector.meta.layout}, ${detector.meta.mode})`,
    kind: 'network',
    citation:
      'MLP classifier + autoencoder reconstruction error (Sakurada & Yairi 2014) + isolation forest (Liu, Ting & Zhou 2008) on normal traffic',
    metrics: {
      flows: e.flows,
      attacks: e.attacks,
      accuracy: e.accuracy,
      precision: e.precision,
      recall: e.recall,
      f1: e.f1,
      falsePositiveRate: e.falsePositiveRate,
      auc: e.auc,
      macroF1: e.macroF1,
      multiclassAccuracy: e.multiclassAccuracy,
      classifierArgmaxAccuracy: e.classifierArgmax.accuracy,
      flowsPerSecond: e.flowsPerSecond,
      ...(e.seenAttacks ? { seenAttackRecall: e.seenAttacks.recall } : {}),
      ...(e.unseenAttacks
        ? { unseenAttackRecall: e.unseenAttacks.recall, unseenAttackNames: e.unseenAttacks.names }
        : {}),
      ...components,
    },
    perClass: e.multiclass.perClass,
    confusion: { classNames: detector.classNames, matrix: e.multiclass.confusion },
    operatingPoint: {
      supervised: detector.thresholds.supervised,
      ...(detector.thresholds.autoencoder !== undefined ? { autoencoder: detector.thresholds.autoencoder } : {}),
      ...(detector.thresholds.iforest !== undefined ? { iforest: detector.thresholds.iforest } : {}),
      ...(detector.meta.combination
        ? {
            combine: 'evidence',
            evidenceThreshold: detector.meta.combination.threshold,
            benignFpr: detector.meta.combination.fpr,
            ...Object.fromEntries(Object.entries(detector.meta.combination.weights).map(([k, w]) => [`${k}Weight`, w])),
          }
        : { combine: 'any' }),
      chosenOn: 'benign validation split of the training file',
    },
    notes: nidsNotes(detector),
    charts: [
      {
        title: 'ROC of the combined score',
        xTitle: 'false-positive rate',
        yTitle: 'detection rate',
        series: [{ name: 'combined', points: e.roc.map((p) => ({ x: p.fpr, y: p.tpr })) }],
      },
    ],
  };
}

/** The evasion result in the shape the report's attack list takes (finite budgets only). */
export function evasionAttack(result: ConstrainedEvasionResult, detector: NidsDetector): AttackResultLike {
  const rows = result.rows.filter((r) => Number.isFinite(r.eps));
  return {
    attack: CONSTRAINED_EVASION.name,
    title: `${CONSTRAINED_EVASION.title}, goal: ${result.goal === 'combined' ? 'evade the whole detector' : 'evade the classifier'}`,
    citation: CONSTRAINED_EVASION.citation,
    atlas: CONSTRAINED_EVASION.atlas,
    threatModel: makeThreatModel({
      access: 'gradients',
      norm: 'linf',
      epsilons: rows.map((r) => r.eps),
      inputRange: detector.classifier.info.inputRange,
      knowledge:
        `the model; changes only its own traffic (${result.transformations.map((t) => t.name).join(', ')}) ` +
        `under ${result.constraints.length} constraints; budget ε in standardised units per knob`,
    }),
    rows: rows.map((r) => ({
      eps: r.eps,
      accuracy: r.classifierRecall,
      successRate: r.evasionRate,
      classifierRecallClean: r.classifierRecallClean,
      combinedRecallClean: r.combinedRecallClean,
      combinedRecall: r.combinedRecall,
      constraintViolations: r.constraintViolations,
      attacks: r.attacks,
      seconds: r.seconds,
    })),
    mitigations: ['AML.M0003'],
  };
}

export interface NidsReportInput {
  detector: NidsDetector;
  evaluation: NidsEvaluation;
  testName: string;
  testSource: string;
  evasion?: ConstrainedEvasionResult[];
  seed: number;
  backend: string;
  command?: string;
}

export function buildNidsReport(input: NidsReportInput): Report {
  const { detector, evaluation } = input;
  return buildReport({
    model: {
      ...detector.classifier.info,
      name: `${detector.name} (${detector.classifier.info.name})`,
    },
    dataset: {
      name: input.testName,
      source: input.testSource,
      size: evaluation.flows,
      shape: [evaluation.flows, detector.encoder.dimension],
      classNames: detector.classNames,
    },
    cleanAccuracy: evaluation.accuracy,
    seed: input.seed,
    backend: input.backend,
    ...(input.command ? { command: input.command } : {}),
    attacks: (input.evasion ?? []).map((r) => evasionAttack(r, detector)),
    detectors: [nidsDetectorSection(detector, evaluation)],
  });
}
