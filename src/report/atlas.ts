/**
 * The MITRE ATLAS techniques Aegis findings map to (https://atlas.mitre.org), with the
 * names ATLAS publishes (recent ATLAS renamed "ML" to "AI"). Look-ups of unknown ids throw,
 * so a typo in an attack's `atlas` field fails its tests instead of printing a dead link.
 */
import { AegisInputError } from '../core/errors.js';

export interface AtlasTechnique {
  id: string;
  name: string;
  /** The ATLAS tactic the technique serves (the first, when ATLAS lists several). */
  tactic: string;
  url: string;
}

const ATLAS_BASE = 'https://atlas.mitre.org/techniques/';

/** Technique page: sub-techniques live under their parent, e.g. AML.T0043/000. */
export function atlasUrl(id: string): string {
  return ATLAS_BASE + id.replace(/^(AML\.T\d{4})\.(\d{3})$/, '$1/$2');
}

/** [id, name, tactic]; sub-techniques without a tactic inherit their parent's. */
const TABLE: ReadonlyArray<readonly [string, string, string?]> = [
  ['AML.T0005', 'Create Proxy AI Model', 'AI Attack Staging'],
  ['AML.T0005.001', 'Train Proxy via Replication'],
  ['AML.T0010', 'AI Supply Chain Compromise', 'Initial Access'],
  ['AML.T0010.002', 'Data'],
  ['AML.T0010.003', 'Model'],
  ['AML.T0011', 'User Execution', 'Execution'],
  ['AML.T0011.000', 'Unsafe AI Artifacts'],
  ['AML.T0015', 'Evade AI Model', 'Defense Evasion'],
  ['AML.T0018', 'Manipulate AI Model', 'Persistence'],
  ['AML.T0018.000', 'Poison AI Model'],
  ['AML.T0019', 'Publish Poisoned Datasets', 'Resource Development'],
  ['AML.T0020', 'Poison Training Data', 'Resource Development'],
  ['AML.T0024', 'Exfiltration via AI Inference API', 'Exfiltration'],
  ['AML.T0024.000', 'Infer Training Data Membership'],
  ['AML.T0024.001', 'Invert AI Model'],
  ['AML.T0024.002', 'Extract AI Model'],
  ['AML.T0029', 'Denial of AI Service', 'Impact'],
  ['AML.T0031', 'Erode AI Model Integrity', 'Impact'],
  ['AML.T0040', 'AI Model Inference API Access', 'AI Model Access'],
  ['AML.T0043', 'Craft Adversarial Data', 'AI Attack Staging'],
  ['AML.T0043.000', 'White-Box Optimization'],
  ['AML.T0043.001', 'Black-Box Optimization'],
  ['AML.T0043.002', 'Black-Box Transfer'],
  ['AML.T0043.003', 'Manual Modification'],
  ['AML.T0043.004', 'Insert Backdoor Trigger'],
  ['AML.T0044', 'Full AI Model Access', 'AI Model Access'],
];

/** ATLAS mitigations (https://atlas.mitre.org/mitigations) that Aegis defenses implement or reports recommend. */
const MITIGATIONS: ReadonlyArray<readonly [string, string]> = [
  ['AML.M0002', 'Passive AI Output Obfuscation'],
  ['AML.M0003', 'Model Hardening'],
  ['AML.M0004', 'Restrict Number of AI Model Queries'],
  ['AML.M0005', 'Control Access to AI Models and Data at Rest'],
  ['AML.M0007', 'Sanitize Training Data'],
  ['AML.M0008', 'Validate AI Model'],
  ['AML.M0010', 'Input Restoration'],
  ['AML.M0013', 'Code Signing'],
  ['AML.M0014', 'Verify AI Artifacts'],
  ['AML.M0015', 'Adversarial Input Detection'],
  ['AML.M0016', 'Vulnerability Scanning'],
  ['AML.M0023', 'AI Bill of Materials'],
  ['AML.M0025', 'Maintain AI Dataset Provenance'],
];

export interface AtlasMitigation {
  id: string;
  name: string;
  url: string;
}

export const ATLAS_MITIGATIONS: ReadonlyMap<string, AtlasMitigation> = new Map(
  MITIGATIONS.map(([id, name]) => [id, { id, name, url: `https://atlas.mitre.org/mitigations/${id}` }]),
);

/** The mitigation with this id; throws AegisInputError for ids Aegis does not know. */
export function atlasMitigationInfo(id: string): AtlasMitigation {
  const mitigation = ATLAS_MITIGATIONS.get(id);
  if (!mitigation) {
    throw new AegisInputError(
      `unknown MITRE ATLAS mitigation '${id}' (known: ${[...ATLAS_MITIGATIONS.keys()].join(', ')})`,
    );
  }
  return mitigation;
}

function buildTechniques(): ReadonlyMap<string, AtlasTechnique> {
  const map = new Map<string, AtlasTechnique>();
  for (const [id, name, tactic] of TABLE) {
    const parent = map.get(id.slice(0, 'AML.T0000'.length));
    const resolved = tactic ?? parent?.tactic;
    if (!resolved) throw new Error(`atlas table: ${id} has no tactic and no parent listed before it`);
    map.set(id, { id, name, tactic: resolved, url: atlasUrl(id) });
  }
  return map;
}

export const ATLAS_TECHNIQUES: ReadonlyMap<string, AtlasTechnique> = buildTechniques();

/** The technique with this id; throws AegisInputError for ids Aegis does not know. */
export function atlasTechniqueInfo(id: string): AtlasTechnique {
  const technique = ATLAS_TECHNIQUES.get(id);
  if (!technique) {
    throw new AegisInputError(
      `unknown MITRE ATLAS technique '${id}' (known: ${[...ATLAS_TECHNIQUES.keys()].join(', ')})`,
    );
  }
  return technique;
}

export function atlasName(id: string): string {
  return atlasTechniqueInfo(id).name;
}

/** "Craft Adversarial Data: White-Box Optimization" — parent name first for sub-techniques. */
export function atlasFullName(id: string): string {
  const technique = atlasTechniqueInfo(id);
  const parentId = id.slice(0, 'AML.T0000'.length);
  return parentId === id ? technique.name : `${atlasName(parentId)}: ${technique.name}`;
}
