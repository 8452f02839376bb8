/**
 * The defense matrix in the standard report: one report entry per (defense, attack) whose rows are
 * the budgets (robust accuracy, success rate, detection figures, the defense's clean accuracy and
 * its cost), with the attack's ATLAS technique and the defense's ATLAS mitigations; plus the
 * matrix itself as the report's `defenses` section (defenses as rows, attack@eps as columns).
 */

import { atlasTechnique } from '../attacks/evasion/evasion-attack.js';
import { getEvasionAttack } from '../attacks/evasion/registry.js';
import { makeThreatModel } from '../core/threat-model.js';
import type { AttackResultLike, BuildReportInput } from '../report/build-report.js';
import { ADAPTIVE_ATTACK, type DefenseMatrix } from './assess.js';
import { adaptiveDetectorAttack } from './detection/adaptive-attack.js';

function attackInfo(name: string) {
  return name === ADAPTIVE_ATTACK ? adaptiveDetectorAttack : getEvasionAttack(name);
}

/** Report entries for the cells that ran (refused and not-applicable cells live in `defenses`). */
export function matrixAttackResults(matrix: DefenseMatrix, inputRange: [number, number]): AttackResultLike[] {
  const out: AttackResultLike[] = [];
  for (const row of matrix.rows) {
    for (const name of matrix.attacks) {
      const cells = row.cells.filter((c) => c.attack === name && c.status === 'ok');
      if (cells.length === 0) continue;
      const attack = attackInfo(name);
      out.push({
        attack: `${row.defense} / ${name}`,
        title: `${attack.title} against ${row.defense === 'none' ? 'the undefended model' : row.title}`,
        citation: attack.citation,
        atlas: atlasTechnique(attack.access),
        threatModel: makeThreatModel({
          access: attack.access,
          norm: matrix.norm,
          epsilons: cells.map((c) => c.eps),
          inputRange,
        }),
        rows: cells.map((c) => ({
          eps: c.eps,
          cleanAccuracy: row.cleanAccuracy,
          cleanAccuracyCost: row.cleanAccuracyCost,
          accuracy: c.accuracy,
          successRate: c.successRate,
          meanPerturbation: c.meanPerturbation,
          queries: c.queries,
          detectionRate: c.detectionRate ?? undefined,
          falsePositiveRate: c.falsePositiveRate,
          undetectedSuccessRate: c.undetectedSuccessRate,
          seconds: c.seconds,
        })),
        mitigations: row.mitigations,
      });
    }
  }
  return out;
}

/** The report's `defenses` section. */
export function matrixDefenses(matrix: DefenseMatrix): NonNullable<BuildReportInput['defenses']> {
  return matrix.rows.map((row) => ({
    name: row.defense,
    kind: row.kind,
    mitigations: row.mitigations,
    cleanAccuracy: row.cleanAccuracy,
    cleanAccuracyCost: row.cleanAccuracyCost,
    ...(row.threshold !== undefined ? { threshold: row.threshold } : {}),
    cells: row.cells.map((c) => ({
      attack: c.attack,
      eps: c.eps,
      status: c.status,
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      ...(c.accuracy !== undefined ? { accuracy: c.accuracy } : {}),
      ...(c.successRate !== undefined ? { successRate: c.successRate } : {}),
      ...(c.detectionRate !== undefined ? { detectionRate: c.detectionRate } : {}),
      ...(c.falsePositiveRate !== undefined ? { falsePositiveRate: c.falsePositiveRate } : {}),
      ...(c.undetectedSuccessRate !== undefined ? { undetectedSuccessRate: c.undetectedSuccessRate } : {}),
    })),
  }));
}
