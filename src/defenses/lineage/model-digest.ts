/**
 * The digest that names a model in the lineage graph: for a tfjs model folder the one its loader
 * reports (savedModelSha256: weights.bin then model.json), for any model file (.onnx, .safetensors …)
 * the SHA-256 of the file.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { savedModelSha256 } from '../../models/tfjs-model.js';
import { sha256File } from './digest.js';

export interface ModelIdentity {
  name: string;
  digest: string;
  format: 'tfjs' | 'onnx' | 'file';
  path: string;
}

export async function modelIdentity(path: string, name?: string): Promise<ModelIdentity> {
  if (!existsSync(path)) throw new AegisInputError(`model '${path}' does not exist`);
  if (statSync(path).isDirectory()) {
    const missing = ['model.json', 'weights.bin'].filter((f) => !existsSync(join(path, f)));
    if (missing.length > 0) {
      throw new AegisInputError(`'${path}' is not a tfjs model folder (no ${missing.join(' or ')})`);
    }
    return { name: name ?? basename(path), digest: savedModelSha256(path), format: 'tfjs', path };
  }
  const format = path.toLowerCase().endsWith('.onnx') ? 'onnx' : 'file';
  return { name: name ?? basename(path).replace(/\.[^.]*$/, ''), digest: await sha256File(path), format, path };
}
