/** Aegis's public API: the nouns, loaders, adapters, attacks and reports. */

export type { AttackOptions, EvasionAttack, EvasionResult, EvasionRow } from './attacks/evasion/evasion-attack.js';
export { EVASION_ATTACKS, getEvasionAttack } from './attacks/evasion/registry.js';
export { runEvasionSuite } from './attacks/evasion/run-evasion.js';
export { EXTRACTION_ATTACKS, runExtractionSuite } from './attacks/extraction/run-extraction.js';
export { transferAttack } from './attacks/extraction/transfer.js';
export { invertClasses, runInversion } from './attacks/inversion/run-inversion.js';
export { ssim } from './attacks/inversion/ssim.js';
export { membershipMetrics, rocCurve } from './attacks/membership/roc.js';
export { MEMBERSHIP_ATTACKS, runMembershipSuite } from './attacks/membership/run-membership.js';
export { badNets } from './attacks/poisoning/badnets.js';
export { featureCollision } from './attacks/poisoning/feature-collision.js';
export { FeatureExtractor } from './attacks/poisoning/feature-extractor.js';
export { labelFlip } from './attacks/poisoning/label-flip.js';
export type {
  PoisonedTrainingSet,
  PoisoningAttack,
  PoisoningRow,
  VictimTrainer,
} from './attacks/poisoning/poisoning-attack.js';
export { runPoisoning } from './attacks/poisoning/run-poisoning.js';
export { applyTrigger, type Trigger } from './attacks/poisoning/triggers.js';
export { architectureVictim, transferVictim } from './attacks/poisoning/victims.js';
export { AccessError, AegisInputError, isInputError } from './core/errors.js';
export { Rng } from './core/rng.js';
export { type BackendName, initRuntime, tf } from './core/runtime.js';
export {
  type Access,
  accessCovers,
  describeThreatModel,
  makeThreatModel,
  type Norm,
  type ThreatModel,
} from './core/threat-model.js';
export { loadCsvDataset } from './data/csv.js';
export * from './data/dataset.js';
export { FASHION_MNIST_CLASSES, loadFashionMnist } from './data/fashion-mnist.js';
export { hashingVectorizer, murmurhash3_32, vectorizeTextDataset } from './data/hashing-vectorizer.js';
export { loadImageFolderDataset } from './data/image-folder.js';
export { loadDataset } from './data/load-dataset.js';
export { readNpzFile, writeNpzFile } from './data/npz.js';
export { loadTextDataset, type TextDataset } from './data/text-dataset.js';
export { assessDefenses } from './defenses/assess.js';
export type { Defense, DefenseContext, DetectingModel } from './defenses/defense.js';
export { recordDataset } from './defenses/lineage/record.js';
export { signArtifact } from './defenses/lineage/sign-artifact.js';
export { generateSigningKeyPair, readPrivateKey, readPublicKey } from './defenses/lineage/signing-keys.js';
export { verifyDataset } from './defenses/lineage/verify.js';
export { verifyArtifact } from './defenses/lineage/verify-artifact.js';
export type { FileScan, Finding } from './defenses/model-scan/finding.js';
export { scanPath } from './defenses/model-scan/scan-path.js';
export { defendAgainstPoison, detectPoison } from './defenses/poison/run-poison-defense.js';
export { DEFENSES, getDefense } from './defenses/registry.js';
export { parseInputSchema } from './defenses/validation/input-schema.js';
export { assertValidInput, validateInput } from './defenses/validation/validate-input.js';
export type { Detector, Reason, TrainableDetector, Verdict } from './detectors/detector.js';
export { binaryMetrics, multiclassMetrics, rocAuc, thresholdAtFpr } from './detectors/metrics.js';
export { evaluateNids } from './detectors/network/evaluate.js';
export { constrainedAdversarialTraining } from './detectors/network/evasion/adversarial-training.js';
export { constrainedEvasion } from './detectors/network/evasion/constrained-evasion.js';
export { NidsDetector } from './detectors/network/nids-detector.js';
export { parseFlows, readFlows } from './detectors/network/read-flows.js';
export { listAlerts, recordAlert } from './gateway/alerts.js';
export { AuditJournal, readJournal } from './gateway/audit/audit-journal.js';
export { AuditLog } from './gateway/audit/audit-log.js';
export { JournaledAudit } from './gateway/audit/journaled-audit.js';
export { ApiKeyStore } from './gateway/auth/api-keys.js';
export { authorize, createAuthenticator } from './gateway/auth/authenticate.js';
export { createJwtVerifier } from './gateway/auth/jwt.js';
export { type GatewayConfig, loadGatewayConfig, parseGatewayConfig } from './gateway/config.js';
export { ExtractionMonitor } from './gateway/extraction/extraction-monitor.js';
export { PradaDetector } from './gateway/extraction/prada.js';
export { shapiroWilk } from './gateway/extraction/shapiro-wilk.js';
export { createLimits, type Limits } from './gateway/limits/limits.js';
export { buildGateway, startGateway } from './gateway/server.js';
export type { Alert, AuditEntry, Principal, Scope } from './gateway/types.js';
export { buildLogisticRegression, buildMlp, buildSmallCnn } from './models/builders.js';
export { evaluateAccuracy, predictDataset } from './models/evaluate.js';
export { HttpModel } from './models/http-model.js';
export { loadModel } from './models/load-model.js';
export { type DifferentiableModel, isDifferentiable, type Model, type ModelInfo } from './models/model.js';
export { importOnnxModel } from './models/onnx-import.js';
export { loadOnnxModel } from './models/onnx-model.js';
export { QueryCountingModel } from './models/query-counter.js';
export { loadTfjsModel, saveTfjsModel, TfjsModel } from './models/tfjs-model.js';
export { trainModel } from './models/train.js';
export { trainClassifier } from './models/train-classifier.js';
export { chiSquareHomogeneity } from './monitoring/chi-square.js';
export { ks2Sample } from './monitoring/ks.js';
export { mmdTest } from './monitoring/mmd.js';
export { createModelMonitor, type ModelMonitor, type MonitoringReport } from './monitoring/model-monitor.js';
export { populationStabilityIndex } from './monitoring/psi.js';
export { createWorkerMonitor } from './monitoring/worker-monitor.js';
export { buildReport, validateReport, writeReport } from './report/build-report.js';
export { renderHtml } from './report/render-html.js';
export type { Report } from './report/schema.js';
export { openStore } from './store/store.js';
