/** The poison detectors by CLI name, and the parser of a `--methods` list. */
import { AegisInputError } from '../../core/errors.js';
import {
  ACTIVATION_CLUSTERING_CITATION,
  type ActivationClusteringOptions,
  activationClustering,
} from './activation-clustering.js';
import { LABEL_CONSISTENCY_CITATION, type LabelConsistencyOptions, labelConsistency } from './label-consistency.js';
import type { PoisonDetector } from './poison-detector.js';
import {
  SPECTRAL_SIGNATURES_CITATION,
  type SpectralSignaturesOptions,
  spectralSignatures,
} from './spectral-signatures.js';

export const POISON_DETECTOR_NAMES = ['spectral-signatures', 'activation-clustering', 'label-consistency'] as const;
export type PoisonDetectorName = (typeof POISON_DETECTOR_NAMES)[number];

/** Per-detector options, keyed by detector. */
export interface PoisonDetectorOptions {
  spectralSignatures?: SpectralSignaturesOptions;
  activationClustering?: ActivationClusteringOptions;
  labelConsistency?: LabelConsistencyOptions;
}

export interface PoisonDetectorEntry {
  citation: string;
  /** What the detector reads besides the representations. */
  needs: 'representations' | 'probabilities';
  create(options?: PoisonDetectorOptions): PoisonDetector;
}

export const POISON_DETECTORS: Readonly<Record<PoisonDetectorName, PoisonDetectorEntry>> = Object.freeze({
  'spectral-signatures': {
    citation: SPECTRAL_SIGNATURES_CITATION,
    needs: 'representations',
    create: (o) => spectralSignatures(o?.spectralSignatures),
  },
  'activation-clustering': {
    citation: ACTIVATION_CLUSTERING_CITATION,
    needs: 'representations',
    create: (o) => activationClustering(o?.activationClustering),
  },
  'label-consistency': {
    citation: LABEL_CONSISTENCY_CITATION,
    needs: 'probabilities',
    create: (o) => labelConsistency(o?.labelConsistency),
  },
});

export function isPoisonDetectorName(name: string): name is PoisonDetectorName {
  return (POISON_DETECTOR_NAMES as readonly string[]).includes(name);
}

/** Names (a list or comma-separated text) → detector names, in order, without repeats; unknown → AegisInputError. */
export function parsePoisonDetectors(names: readonly string[] | string): PoisonDetectorName[] {
  const list = (typeof names === 'string' ? names.split(',') : names)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (list.length === 0) {
    throw new AegisInputError(`no poison detection method given; choose from ${POISON_DETECTOR_NAMES.join(', ')}`);
  }
  const out: PoisonDetectorName[] = [];
  for (const name of list) {
    if (!isPoisonDetectorName(name)) {
      throw new AegisInputError(
        `unknown poison detection method '${name}'; choose from ${POISON_DETECTOR_NAMES.join(', ')}`,
      );
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** A detector by name with its options. */
export function createPoisonDetector(name: string, options?: PoisonDetectorOptions): PoisonDetector {
  const [parsed] = parsePoisonDetectors([name]);
  return POISON_DETECTORS[parsed as PoisonDetectorName].create(options);
}
