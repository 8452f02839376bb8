/**
 * Builds the versioned report document (schema aegis.report/1) from attack results,
 * validates documents read back from disk, and writes report.json + report.html.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AegisInputError } from '../core/errors.js';
import { describeThreatModel, type ThreatModel, threatModelSchema } from '../core/threat-model.js';
import { packageVersion } from '../core/version.js';
import type { Dataset } from '../data/dataset.js';
import type { ModelInfo } from '../models/model.js';
import { atlasMitigationInfo, atlasName } from './atlas.js';
import { renderHtml } from './render-html.js';
import {
  type ExampleCaptions,
  REPORT_SCHEMA,
  type Report,
  type ReportAttack,
  type ReportChart,
  type ReportDefense,
  type ReportDetector,
  type ReportExamples,
  type ReportRow,
} from './schema.js';

/** Significant digits kept for metrics; pixel values keep 3 decimals. */
const METRIC_DIGITS = 5;

/** Any attack family's result: EvasionResult fits, and so do membership, extraction, … */
export interface AttackResultLike {
  attack: string;
  title: string;
  citation: string;
  atlas: string;
  threatModel: ThreatModel;
  /** One object of numeric metrics per row (eps, accuracy, auc, …). */
  rows: readonly object[];
  examples?: {
    shape: number[];
    eps: number;
    clean: ArrayLike<number>[];
    adversarial: ArrayLike<number>[];
    labels: ArrayLike<number>;
    cleanPredictions: ArrayLike<number>;
    adversarialPredictions: ArrayLike<number>;
    featureNames?: string[];
    captions?: ExampleCaptions;
  };
  charts?: ReportChart[];
  /** ATLAS mitigation ids (AML.M…) that counter this attack. */
  mitigations?: readonly string[];
}

export interface BuildReportInput {
  model: ModelInfo;
  dataset: { name: string; source?: string; size: number; shape: number[]; classNames: string[] };
  cleanAccuracy: number;
  /** Examples the clean accuracy was measured on (default: dataset.size). */
  cleanSize?: number;
  seed: number;
  backend: string;
  command?: string;
  attacks: AttackResultLike[];
  /** Defaults to now; pass one for reproducible documents. */
  createdAt?: Date | string;
  /** The defense matrix (`aegis assess`); mitigation ids are expanded to {id, name}. */
  defenses?: (Omit<ReportDefense, 'mitigations'> & { mitigations: readonly string[] })[];
  /** Detector evaluations (metrics are rounded like attack rows). */
  detectors?: ReportDetector[];
}

/** Integers stay exact (query counts); other numbers keep `digits` significant digits. */
export function roundSignificant(x: number, digits = METRIC_DIGITS): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  return Number(x.toPrecision(digits));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000 || 0; // `|| 0` turns -0 into 0
}

function buildRow(row: object, where: string): ReportRow {
  const out: ReportRow = {};
  for (const [key, value] of Object.entries(row)) {
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new AegisInputError(`${where}: metric '${key}' is not a number (${value})`);
    out[key] = roundSignificant(value);
  }
  return out;
}

function buildExamples(examples: NonNullable<AttackResultLike['examples']>): ReportExamples {
  const out: ReportExamples = {
    shape: [...examples.shape],
    eps: roundSignificant(examples.eps),
    clean: examples.clean.map((x) => Array.from(x, round3)),
    adversarial: examples.adversarial.map((x) => Array.from(x, round3)),
    labels: Array.from(examples.labels),
    cleanPredictions: Array.from(examples.cleanPredictions),
    adversarialPredictions: Array.from(examples.adversarialPredictions),
  };
  if (examples.featureNames) out.featureNames = [...examples.featureNames];
  if (examples.captions) out.captions = { ...examples.captions };
  return out;
}

function buildAttack(result: AttackResultLike): ReportAttack {
  const attack: ReportAttack = {
    name: result.attack,
    title: result.title,
    citation: result.citation,
    atlas: result.atlas,
    atlasName: atlasName(result.atlas),
    threatModel: result.threatModel,
    threatModelText: describeThreatModel(result.threatModel),
    rows: result.rows.map((row, i) => buildRow(row, `attack '${result.attack}' row ${i}`)),
  };
  if (result.examples) attack.examples = buildExamples(result.examples);
  if (result.mitigations) {
    attack.mitigations = result.mitigations.map((id) => ({ id, name: atlasMitigationInfo(id).name }));
  }
  if (result.charts) {
    attack.charts = result.charts.map((chart) => ({
      ...chart,
      series: chart.series.map((s) => ({
        name: s.name,
        points: s.points.map((p) => ({ x: roundSignificant(p.x), y: roundSignificant(p.y) })),
      })),
    }));
  }
  return attack;
}

function buildDetector(d: ReportDetector): ReportDetector {
  const r = roundSignificant;
  return {
    ...d,
    metrics: Object.fromEntries(Object.entries(d.metrics).map(([k, v]) => [k, r(v)])),
    ...(d.perClass
      ? {
          perClass: d.perClass.map((c) => ({
            ...c,
            precision: r(c.precision),
            recall: r(c.recall),
            f1: r(c.f1),
          })),
        }
      : {}),
    ...(d.charts
      ? {
          charts: d.charts.map((chart) => ({
            ...chart,
            series: chart.series.map((s) => ({
              name: s.name,
              points: s.points.map((p) => ({ x: r(p.x), y: r(p.y) })),
            })),
          })),
        }
      : {}),
  };
}

function buildDefense(d: NonNullable<BuildReportInput['defenses']>[number]): ReportDefense {
  const r = (x: number | undefined) => (x === undefined ? undefined : roundSignificant(x));
  return {
    ...d,
    mitigations: d.mitigations.map((id) => ({ id, name: atlasMitigationInfo(id).name })),
    cleanAccuracy: roundSignificant(d.cleanAccuracy),
    cleanAccuracyCost: roundSignificant(d.cleanAccuracyCost),
    ...(d.threshold !== undefined ? { threshold: roundSignificant(d.threshold) } : {}),
    cells: d.cells.map((c) => ({
      ...c,
      accuracy: r(c.accuracy),
      successRate: r(c.successRate),
      detectionRate: c.detectionRate === null ? null : r(c.detectionRate),
      falsePositiveRate: r(c.falsePositiveRate),
      undetectedSuccessRate: r(c.undetectedSuccessRate),
    })),
  };
}

/** The report's description of a dataset. */
export function datasetSummary(data: Dataset): BuildReportInput['dataset'] {
  return {
    name: data.name,
    source: data.source,
    size: data.shape[0] ?? 0,
    shape: data.shape,
    classNames: data.classNames,
  };
}

/** Assembles and validates the report document. */
export function buildReport(input: BuildReportInput): Report {
  const { model, dataset } = input;
  const createdAt = input.createdAt ?? new Date();
  const report: Report = {
    schema: REPORT_SCHEMA,
    tool: { name: 'aegis', version: packageVersion() },
    createdAt: typeof createdAt === 'string' ? createdAt : createdAt.toISOString(),
    ...(input.command !== undefined ? { command: input.command } : {}),
    seed: input.seed,
    runtime: { backend: input.backend, node: process.version },
    model: {
      name: model.name,
      ...(model.source !== undefined ? { source: model.source } : {}),
      ...(model.sha256 !== undefined ? { sha256: model.sha256 } : {}),
      access: model.access,
      inputShape: [...model.inputShape],
      numClasses: model.numClasses,
    },
    dataset: {
      name: dataset.name,
      ...(dataset.source !== undefined ? { source: dataset.source } : {}),
      size: dataset.size,
      shape: [...dataset.shape],
      classNames: [...dataset.classNames],
    },
    clean: { accuracy: roundSignificant(input.cleanAccuracy), size: input.cleanSize ?? dataset.size },
    attacks: input.attacks.map(buildAttack),
    ...(input.defenses ? { defenses: input.defenses.map(buildDefense) } : {}),
    ...(input.detectors ? { detectors: input.detectors.map(buildDetector) } : {}),
  };
  // Catch NaN metrics and inconsistent examples here rather than in a reader later.
  return validateReport(report);
}

// ---------------------------------------------------------------------------------------
// Validation

const finite = z.number().finite();
const count = z.number().int().nonnegative();
const shape = z.array(z.number().int().positive());

const rowSchema = z
  .object({
    eps: finite.nonnegative().optional(),
    accuracy: finite.min(0).max(1).optional(),
    successRate: finite.min(0).max(1).optional(),
    meanPerturbation: finite.nonnegative().optional(),
    queries: finite.nonnegative().optional(),
    seconds: finite.nonnegative().optional(),
  })
  .catchall(finite);

const examplesSchema = z
  .object({
    shape,
    eps: finite.nonnegative(),
    clean: z.array(z.array(finite)),
    adversarial: z.array(z.array(finite)),
    labels: z.array(count),
    cleanPredictions: z.array(count),
    adversarialPredictions: z.array(count),
    featureNames: z.array(z.string()).optional(),
    captions: z
      .object({
        clean: z.string(),
        adversarial: z.string(),
        legend: z.string(),
        showDifference: z.boolean().optional(),
      })
      .optional(),
  })
  .superRefine((ex, ctx) => {
    const n = ex.clean.length;
    const per = ex.shape.reduce((a, b) => a * b, 1);
    for (const key of ['adversarial', 'labels', 'cleanPredictions', 'adversarialPredictions'] as const) {
      if (ex[key].length !== n)
        ctx.addIssue({ code: 'custom', path: [key], message: `has ${ex[key].length} entries, clean has ${n}` });
    }
    for (const key of ['clean', 'adversarial'] as const) {
      ex[key].forEach((values, i) => {
        if (values.length !== per) {
          ctx.addIssue({
            code: 'custom',
            path: [key, i],
            message: `has ${values.length} values, shape [${ex.shape}] needs ${per}`,
          });
        }
      });
    }
  });

const chartSchema = z.object({
  title: z.string(),
  xTitle: z.string(),
  yTitle: z.string(),
  series: z.array(z.object({ name: z.string(), points: z.array(z.object({ x: finite, y: finite })) })),
  logX: z.boolean().optional(),
  logY: z.boolean().optional(),
});

const attackSchema = z
  .looseObject({
    name: z.string().min(1),
    title: z.string(),
    citation: z.string(),
    atlas: z.string().regex(/^AML\.T\d{4}(\.\d{3})?$/, 'must be a MITRE ATLAS technique id like AML.T0043.000'),
    atlasName: z.string(),
    threatModel: threatModelSchema,
    threatModelText: z.string(),
    rows: z.array(rowSchema),
    examples: examplesSchema.optional(),
    charts: z.array(chartSchema).optional(),
  })
  .superRefine((attack, ctx) => {
    // Attacks with budgets (evasion) report one row per budget, so each row needs its eps.
    if (attack.threatModel.epsilons.length === 0) return;
    attack.rows.forEach((row, i) => {
      if (row.eps === undefined) {
        ctx.addIssue({ code: 'custom', path: ['rows', i, 'eps'], message: 'missing: the threat model sets budgets' });
      }
    });
  });

const rate = finite.min(0).max(1);

const defenseSchema = z.looseObject({
  name: z.string().min(1),
  kind: z.string(),
  mitigations: z.array(z.object({ id: z.string(), name: z.string() })),
  cleanAccuracy: rate,
  cleanAccuracyCost: finite.min(-1).max(1),
  threshold: finite.optional(),
  cells: z.array(
    z.looseObject({
      attack: z.string().min(1),
      eps: finite.nonnegative(),
      status: z.string().optional(),
      reason: z.string().optional(),
      accuracy: rate.optional(),
      successRate: rate.optional(),
      detectionRate: rate.nullable().optional(),
      falsePositiveRate: rate.optional(),
      undetectedSuccessRate: rate.optional(),
    }),
  ),
});

const detectorSchema = z.looseObject({
  name: z.string().min(1),
  title: z.string(),
  kind: z.string(),
  citation: z.string().optional(),
  metrics: z.record(z.string(), finite),
  perClass: z.array(z.object({ name: z.string(), precision: rate, recall: rate, f1: rate, support: count })).optional(),
  confusion: z.object({ classNames: z.array(z.string()), matrix: z.array(z.array(count)) }).optional(),
  operatingPoint: z.record(z.string(), z.union([finite, z.string()])).optional(),
  notes: z.array(z.string()).optional(),
  charts: z.array(chartSchema).optional(),
});

export const reportSchema = z.looseObject({
  schema: z.literal(REPORT_SCHEMA),
  tool: z.object({ name: z.literal('aegis'), version: z.string() }),
  createdAt: z.string().min(1),
  command: z.string().optional(),
  seed: z.number().int(),
  runtime: z.object({ backend: z.string(), node: z.string() }),
  model: z.looseObject({
    name: z.string(),
    source: z.string().optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits')
      .optional(),
    access: z.string(),
    inputShape: z.array(count),
    numClasses: z.number().int().positive(),
  }),
  dataset: z.looseObject({
    name: z.string(),
    source: z.string().optional(),
    size: count,
    shape: z.array(count),
    classNames: z.array(z.string()),
  }),
  clean: z.object({ accuracy: finite.min(0).max(1), size: count }),
  attacks: z.array(attackSchema),
  defenses: z.array(defenseSchema).optional(),
  detectors: z.array(detectorSchema).optional(),
});

/** Checks a parsed report.json; throws AegisInputError naming the first bad field. */
export function validateReport(json: unknown): Report {
  const parsed = reportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(document)';
    throw new AegisInputError(`invalid report: ${path}: ${issue?.message}`);
  }
  return parsed.data as Report;
}

// ---------------------------------------------------------------------------------------
// Writing

/** Pretty JSON, but arrays of numbers stay on one line (example pixels would run to 10k lines). */
export function reportToJson(report: Report): string {
  return `${JSON.stringify(report, null, 2).replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g, (_m, body: string) => `[${body.replace(/\s+/g, '')}]`)}\n`;
}

/** Writes report.json and report.html into `dir` (created if missing); returns both paths. */
export async function writeReport(dir: string, report: Report): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  await writeFile(json, reportToJson(report));
  await writeFile(html, await renderHtml(report));
  return { json, html };
}
