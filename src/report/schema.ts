/**
 * The report document: one JSON per run, versioned. Other report-producing features
 * (membership, extraction, poisoning, …) add attacks to the same `attacks[]` list with
 * their own row fields, so readers must tolerate extra keys.
 */
import type { ThreatModel } from '../core/threat-model.js';

export const REPORT_SCHEMA = 'aegis.report/1';

export interface ReportRow {
  eps?: number;
  accuracy?: number;
  successRate?: number;
  meanPerturbation?: number;
  queries?: number;
  seconds?: number;
  [metric: string]: number | undefined;
}

export interface ReportExamples {
  shape: number[];
  eps: number;
  /** Flat values per example, rounded for size. */
  clean: number[][];
  adversarial: number[][];
  labels: number[];
  cleanPredictions: number[];
  adversarialPredictions: number[];
  /** Names of the features of rank-1 (tabular) examples, for the feature-change table. */
  featureNames?: string[];
  /** Image grids of attacks whose pairs are not clean/adversarial (e.g. inversion: class mean beside reconstruction). */
  captions?: ExampleCaptions;
}

/** What the two images of a pair are, and whether to show their difference as a perturbation. */
export interface ExampleCaptions {
  /** Caption prefix of the first image's prediction line (default 'clean'). */
  clean: string;
  /** Of the second (default 'adv'). */
  adversarial: string;
  /** The sentence above the grid. */
  legend: string;
  /** Show the amplified difference panel (default true). */
  showDifference?: boolean;
}

/** A line chart an attack wants in the report (ROC curve, fidelity vs queries, …). */
export interface ReportChart {
  title: string;
  xTitle: string;
  yTitle: string;
  series: { name: string; points: { x: number; y: number }[] }[];
  logX?: boolean;
  logY?: boolean;
}

export interface ReportAttack {
  name: string;
  title: string;
  citation: string;
  /** MITRE ATLAS technique id, e.g. AML.T0043.000. */
  atlas: string;
  atlasName: string;
  threatModel: ThreatModel;
  threatModelText: string;
  rows: ReportRow[];
  examples?: ReportExamples;
  charts?: ReportChart[];
  /** ATLAS mitigations that counter this attack, e.g. [{id: 'AML.M0007', name: 'Sanitize Training Data'}]. */
  mitigations?: { id: string; name: string }[];
}

/** One cell of the defense matrix (`aegis assess`): one attack at one budget against one defense. */
export interface ReportDefenseCell {
  attack: string;
  eps: number;
  /** 'ok', or 'refused' / 'not-applicable' with a reason (e.g. a gradient attack against label-only). */
  status?: string;
  reason?: string;
  accuracy?: number;
  successRate?: number;
  detectionRate?: number | null;
  falsePositiveRate?: number;
  undetectedSuccessRate?: number;
}

/** One row of the defense matrix; 'none' (the undefended model) comes first. */
export interface ReportDefense {
  name: string;
  /** preprocessor, output, detector, training, or none. */
  kind: string;
  mitigations: { id: string; name: string }[];
  cleanAccuracy: number;
  /** Undefended clean accuracy minus this row's. */
  cleanAccuracyCost: number;
  threshold?: number;
  cells: ReportDefenseCell[];
}

/** A defender-side detector's evaluation on test data (`aegis nids eval`, `aegis phish eval`). */
export interface ReportDetector {
  /** Detector name, e.g. 'nids-combined'. */
  name: string;
  title: string;
  /** Domain: 'network', 'phishing', … */
  kind: string;
  citation?: string;
  /** Headline figures on the test data (accuracy, macroF1, auc, falsePositiveRate, …). */
  metrics: Record<string, number>;
  /** Per-class precision/recall/F1 (multi-class detectors). */
  perClass?: { name: string; precision: number; recall: number; f1: number; support: number }[];
  /** confusion.matrix[t][p]: test examples of true class t predicted as p. */
  confusion?: { classNames: string[]; matrix: number[][] };
  /** How the operating threshold(s) were chosen and their values. */
  operatingPoint?: Record<string, number | string>;
  /** Caveats the reader needs beside the figures (training subset, baselines …). */
  notes?: string[];
  charts?: ReportChart[];
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: 'aegis'; version: string };
  createdAt: string;
  /** Command line or API call that produced it. */
  command?: string;
  seed: number;
  runtime: { backend: string; node: string };
  model: {
    name: string;
    source?: string;
    sha256?: string;
    access: string;
    inputShape: number[];
    numClasses: number;
  };
  dataset: { name: string; source?: string; size: number; shape: number[]; classNames: string[] };
  clean: { accuracy: number; size: number };
  attacks: ReportAttack[];
  /** The defense matrix (`aegis assess`): defenses as rows, attack@eps as columns. */
  defenses?: ReportDefense[];
  /** Detector evaluations (AI for security: network, phishing …). */
  detectors?: ReportDetector[];
}
