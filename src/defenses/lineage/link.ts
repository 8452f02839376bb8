/** dataset → model in the lineage graph, from a manifest and a saved model (used by `lineage link` and `train --lineage`). */
import type { StoreDatabase } from '../../store/store.js';
import { type LineageNode, linkModelNode, recordManifestInGraph } from './graph.js';
import { readManifest } from './manifest.js';
import { modelIdentity } from './model-digest.js';

export async function linkModelToDataset(
  db: StoreDatabase,
  manifestPath: string,
  modelPath: string,
  name?: string,
): Promise<{ dataset: LineageNode; model: LineageNode }> {
  const { manifest, digest } = readManifest(manifestPath);
  const identity = await modelIdentity(modelPath, name);
  // The dataset may have been recorded into another store: add (or refresh) its chain here.
  const dataset = recordManifestInGraph(db, manifest, digest, manifestPath);
  const model = linkModelNode(db, dataset.id, identity);
  return { dataset, model };
}
