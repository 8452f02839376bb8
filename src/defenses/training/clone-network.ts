/**
 * A new network with the same architecture as a given tfjs-layers one: the topology goes through
 * its JSON form (tfjs-layers' modelFromJSON, any layer tfjs can serialise), and every seeded
 * initializer gets a fresh seed derived from one seed, so the new weights are reproducible and
 * differ from the original's. With copyWeights the original's weights are copied instead (fine-tuning).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng } from '../../core/rng.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Replaces the `seed` of every initializer config (Keras JSON: {class_name, config: {seed}}) with a new one. */
function reseed(node: Json, next: () => number): Json {
  if (Array.isArray(node)) return node.map((v) => reseed(v, next));
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) out[key] = reseed(value, next);
  if (typeof out.class_name === 'string' && isObject(out.config) && 'seed' in out.config) {
    out.config = { ...out.config, seed: next() };
  }
  return out;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export async function cloneNetwork(
  network: tfl.LayersModel,
  options: { seed: number; copyWeights?: boolean; name?: string },
): Promise<tfl.LayersModel> {
  const rng = new Rng(options.seed);
  const topology = reseed(network.toJSON(null, false) as unknown as Json, () => rng.uint32() & 0x7fffffff);
  if (options.name && isObject(topology) && isObject(topology.config)) {
    topology.config.name = options.name;
  }
  const artifacts = { modelTopology: topology } as unknown as Parameters<typeof tfl.models.modelFromJSON>[0];
  const clone = await tfl.models.modelFromJSON(artifacts);
  if (options.copyWeights) clone.setWeights(network.getWeights());
  return clone;
}
