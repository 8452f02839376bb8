/**
 * A tfjs-layers network as a white-box Model, and its on-disk form: a directory with the standard
 * tfjs files (model.json + weights.bin, readable by any tfjs) plus aegis.json (what the network
 * alone does not say: class names, input range, how it was trained, the tabular schema).
 *
 * Networks built by ./builders.ts end in a Dense layer without softmax, so their output is logits.
 * A network that ends in softmax (e.g. an imported Keras classifier) is accepted too: its logits
 * are log-probabilities, which give the same softmax and the same argmax.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { AegisInputError } from '../core/errors.js';
import { tf } from '../core/runtime.js';
import { labelsInSlices, scoresInSlices } from './batched-predict.js';
import { fileSystemHandler, MODEL_JSON, WEIGHTS_BIN } from './fs-io-handler.js';
import type { DifferentiableModel, ModelInfo } from './model.js';

export { PREDICT_BATCH } from './batched-predict.js';

export const AEGIS_JSON = 'aegis.json';

export const aegisMetaSchema = z.object({
  name: z.string().optional(),
  inputShape: z.array(z.number().int().positive()).min(1),
  numClasses: z.number().int().min(2),
  classNames: z.array(z.string()).optional(),
  inputRange: z.tuple([z.number(), z.number()]).default([0, 1]),
  /** Training summary (epochs, losses, seed, data) as written by the trainer. */
  training: z.record(z.string(), z.unknown()).optional(),
  /** Column schema of a model trained on CSV data, so new rows can be encoded the same way. */
  tabular: z.record(z.string(), z.unknown()).optional(),
});

/** Contents of aegis.json. */
export type AegisModelMeta = z.infer<typeof aegisMetaSchema>;

/** Shape of one input as the network declares it (without the batch dimension). */
export function networkInputShape(net: tfl.LayersModel): number[] {
  const shape = net.inputs[0]?.shape.slice(1) ?? [];
  if (net.inputs.length !== 1 || shape.some((d) => d === null)) {
    throw new AegisInputError(`model '${net.name}' must have one input with a fixed shape, got [${shape}]`);
  }
  return shape as number[];
}

/** Number of classes (size of the last output axis). */
export function networkNumClasses(net: tfl.LayersModel): number {
  const shape = net.outputs[0]?.shape ?? [];
  const k = shape[shape.length - 1];
  if (net.outputs.length !== 1 || shape.length !== 2 || typeof k !== 'number') {
    throw new AegisInputError(`model '${net.name}' must have one output of shape [batch, classes], got [${shape}]`);
  }
  return k;
}

/** True when the last layer applies softmax (so the output is probabilities, not logits). */
export function endsInSoftmax(net: tfl.LayersModel): boolean {
  const last = net.layers[net.layers.length - 1];
  if (!last) return false;
  return last.getClassName() === 'Softmax' || last.getConfig().activation === 'softmax';
}

/** The network's logits for `x` (synchronous, differentiable). `training` turns dropout on. */
export function networkLogits(
  net: tfl.LayersModel,
  x: tf.Tensor,
  training = false,
  softmaxOutput = false,
): tf.Tensor2D {
  return tf.tidy(() => {
    const out = net.apply(x, { training }) as tf.Tensor2D;
    return softmaxOutput ? tf.log(tf.clipByValue(out, 1e-30, 1)) : out;
  });
}

export class TfjsModel implements DifferentiableModel {
  readonly info: ModelInfo;
  private readonly softmaxOutput: boolean;

  /** `info` overrides what is derived from the network (name, classNames, inputRange, sha256 …). */
  constructor(
    readonly network: tfl.LayersModel,
    info: Partial<ModelInfo> = {},
    /** aegis.json fields that ModelInfo has no place for. */
    readonly meta: Pick<AegisModelMeta, 'training' | 'tabular'> = {},
  ) {
    const inputShape = networkInputShape(network);
    const numClasses = networkNumClasses(network);
    this.info = {
      name: network.name,
      inputRange: [0, 1],
      ...info,
      access: 'gradients',
      inputShape,
      numClasses,
    };
    if (this.info.classNames && this.info.classNames.length !== numClasses) {
      throw new AegisInputError(
        `model '${this.info.name}' has ${numClasses} outputs but ${this.info.classNames.length} class names`,
      );
    }
    this.softmaxOutput = endsInSoftmax(network);
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    this.checkInput(x);
    return networkLogits(this.network, x, false, this.softmaxOutput);
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    this.checkInput(x);
    return scoresInSlices(x, (b) => this.logits(b));
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    this.checkInput(x);
    return labelsInSlices(x, (b) => this.logits(b));
  }

  dispose(): void {
    this.network.dispose();
  }

  private checkInput(x: tf.Tensor): void {
    const got = x.shape.slice(1);
    const want = this.info.inputShape;
    if (got.length !== want.length || got.some((d, i) => d !== want[i])) {
      throw new AegisInputError(`model '${this.info.name}' expects inputs of shape [batch, ${want}], got [${x.shape}]`);
    }
  }
}

/**
 * SHA-256 identifying a saved model: the bytes of weights.bin followed by the bytes of model.json.
 * (Weights first, so two models differing only in topology or only in weights both differ here.)
 */
export function savedModelSha256(dir: string): string {
  const hash = createHash('sha256');
  hash.update(readFileSync(join(dir, WEIGHTS_BIN)));
  hash.update(readFileSync(join(dir, MODEL_JSON)));
  return hash.digest('hex');
}

/**
 * Writes model.json + weights.bin (standard tfjs) and aegis.json to `dir` (created if needed).
 * Fields missing from `meta` come from the model. Returns the saved model's SHA-256.
 */
export async function saveTfjsModel(
  model: TfjsModel | tfl.LayersModel,
  dir: string,
  meta: Partial<AegisModelMeta> = {},
): Promise<{ dir: string; sha256: string; meta: AegisModelMeta }> {
  const wrapped = model instanceof TfjsModel ? model : new TfjsModel(model);
  const full = parseMeta(
    {
      name: wrapped.info.name,
      inputShape: wrapped.info.inputShape,
      numClasses: wrapped.info.numClasses,
      classNames: wrapped.info.classNames,
      inputRange: wrapped.info.inputRange,
      ...wrapped.meta,
      ...meta,
    },
    dir,
  );
  checkMetaMatches(full, wrapped, dir);
  await wrapped.network.save(fileSystemHandler(dir));
  await writeFile(join(dir, AEGIS_JSON), `${JSON.stringify(full, null, 2)}\n`);
  return { dir, sha256: savedModelSha256(dir), meta: full };
}

/**
 * Loads a directory written by saveTfjsModel (or any tfjs layers model directory; without
 * aegis.json the input range defaults to [0, 1]). Missing or corrupt files raise AegisInputError.
 */
export async function loadTfjsModel(dir: string): Promise<TfjsModel> {
  let network: tfl.LayersModel;
  try {
    network = await tfl.loadLayersModel(fileSystemHandler(dir));
  } catch (error) {
    if (error instanceof AegisInputError) throw error;
    throw new AegisInputError(`cannot load the tfjs model in '${dir}': ${(error as Error).message}`, {
      cause: error,
    });
  }
  try {
    const metaPath = join(dir, AEGIS_JSON);
    const meta = existsSync(metaPath) ? parseMeta(readJson(metaPath), dir) : undefined;
    const model = new TfjsModel(
      network,
      {
        name: meta?.name ?? network.name,
        classNames: meta?.classNames,
        inputRange: meta?.inputRange ?? [0, 1],
        sha256: savedModelSha256(dir),
        source: dir,
      },
      { training: meta?.training, tabular: meta?.tabular },
    );
    if (meta) checkMetaMatches(meta, model, dir);
    return model;
  } catch (error) {
    network.dispose();
    throw error;
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AegisInputError(`'${path}' is not valid JSON: ${(error as Error).message}`);
  }
}

function parseMeta(value: unknown, dir: string): AegisModelMeta {
  const parsed = aegisMetaSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AegisInputError(`${join(dir, AEGIS_JSON)}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const [low, high] = parsed.data.inputRange;
  if (!(high > low)) throw new AegisInputError(`${join(dir, AEGIS_JSON)}: inputRange [${low}, ${high}] is empty`);
  return parsed.data;
}

/** aegis.json must describe the network it sits next to. */
function checkMetaMatches(meta: AegisModelMeta, model: TfjsModel, dir: string): void {
  const { inputShape, numClasses } = model.info;
  if (meta.inputShape.join(',') !== inputShape.join(',') || meta.numClasses !== numClasses) {
    throw new AegisInputError(
      `${join(dir, AEGIS_JSON)} says input [${meta.inputShape}] and ${meta.numClasses} classes, ` +
        `but the network has input [${inputShape}] and ${numClasses} classes`,
    );
  }
  if (meta.classNames && meta.classNames.length !== numClasses) {
    throw new AegisInputError(
      `${join(dir, AEGIS_JSON)} lists ${meta.classNames.length} class names for ${numClasses} classes`,
    );
  }
}
