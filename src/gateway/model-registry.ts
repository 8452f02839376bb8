/**
 * The models a gateway serves, loaded once at startup: ONNX files through ONNX Runtime (scores
 * access) and saved Aegis/tfjs model directories. Each comes with its input schema from the
 * model's metadata (model-input-schema.ts: an explicit schema, the record schema of a model
 * trained on CSV, else the tensor schema of its input shape and range) and an optional
 * adversarial-input detector calibrated on clean data from the config.
 *
 * File paths stay inside this module: nothing here is ever put in a response.
 */
import { type Stats, statSync } from 'node:fs';
import { loadDataSpec } from '../cli/data-spec.js';
import { AegisInputError } from '../core/errors.js';
import { initRuntime, tf } from '../core/runtime.js';
import type { TabularSchema } from '../data/tabular-schema.js';
import type { ThresholdDetector } from '../defenses/detection/detecting-model.js';
import { fitFeatureSqueezingDetector } from '../defenses/detection/feature-squeezing.js';
import { fitMahalanobisDetector } from '../defenses/detection/mahalanobis.js';
import {
  schemaForModel,
  type TabularInputSchema,
  type TensorInputSchema,
} from '../defenses/validation/input-schema.js';
import { loadInputSchema } from '../defenses/validation/model-input-schema.js';
import { tabularSchemaOf } from '../models/load-model.js';
import type { Model, ModelInfo } from '../models/model.js';
import { loadOnnxModel, OnnxModel } from '../models/onnx-model.js';
import { loadTfjsModel } from '../models/tfjs-model.js';
import type { GatewayConfig, ModelConfig } from './config.js';

export interface ServedDetector {
  detector: ThresholdDetector;
  kind: 'feature-squeezing' | 'mahalanobis';
  action: 'reject' | 'log';
}

export interface ServedModel {
  /** The name in URLs (the config key). */
  readonly name: string;
  readonly info: ModelInfo;
  readonly model: Model;
  /** Values per example (product of info.inputShape). */
  readonly rowSize: number;
  /** Schema of numeric inputs: [any batch, ...inputShape] float32 in the model's input range. */
  readonly tensorSchema: TensorInputSchema;
  /** For models trained on CSV data: records are also accepted, validated and encoded as in training. */
  readonly records?: { schema: TabularInputSchema; tabular: TabularSchema };
  readonly detector?: ServedDetector;
  /** Class probabilities of n examples (row-major values), n×numClasses. */
  predict(rows: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/** Softmax of each row of logits, in place. */
function softmaxRows(values: Float32Array, k: number): Float32Array {
  for (let start = 0; start < values.length; start += k) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) max = Math.max(max, values[start + j] as number);
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const e = Math.exp((values[start + j] as number) - max);
      values[start + j] = e;
      sum += e;
    }
    for (let j = 0; j < k; j++) values[start + j] = (values[start + j] as number) / sum;
  }
  return values;
}

/** The fastest route to probabilities for each kind of model. */
function predictorOf(model: Model): (rows: Float32Array, n: number) => Promise<Float32Array> {
  const shape = model.info.inputShape;
  const k = model.info.numClasses;
  if (model instanceof OnnxModel) {
    // ONNX Runtime straight from the values: no tfjs tensor, transpose or softmax.
    return async (rows, n) => {
      const out = await model.predictRows(rows, n);
      return model.outputsProbabilities ? out : softmaxRows(out, k);
    };
  }
  return async (rows, n) => {
    const x = tf.tensor(rows, [n, ...shape], 'float32');
    try {
      const scores = await model.predictScores(x);
      try {
        return (await scores.data()) as Float32Array;
      } finally {
        scores.dispose();
      }
    } finally {
      x.dispose();
    }
  };
}

async function openModel(name: string, path: string): Promise<{ model: Model; directory: boolean }> {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch {
    throw new AegisInputError(`models.${name}.path: '${path}' does not exist`);
  }
  const directory = stats.isDirectory();
  if (directory) return { model: await loadTfjsModel(path), directory };
  // A FIFO or a device would block the read forever.
  if (!stats.isFile()) throw new AegisInputError(`models.${name}.path: '${path}' is not a regular file`);
  if (!path.toLowerCase().endsWith('.onnx')) {
    throw new AegisInputError(`models.${name}.path: '${path}' is neither an .onnx file nor a saved model directory`);
  }
  return { model: await loadOnnxModel(path, { name }), directory };
}

async function fitDetector(
  name: string,
  model: Model,
  config: NonNullable<ModelConfig['detector']>,
  tabular: TabularSchema | undefined,
): Promise<ThresholdDetector> {
  const flag = `models.${name}.detector.calibration`;
  const data = await loadDataSpec(flag, config.calibration, { schema: tabular });
  const fpr = config.targetFalsePositiveRate;
  try {
    return config.kind === 'feature-squeezing'
      ? await fitFeatureSqueezingDetector(model, data, { fpr })
      : await fitMahalanobisDetector(model, { calibration: data }, { fpr });
  } catch (error) {
    if (error instanceof AegisInputError) {
      throw new AegisInputError(`models.${name}.detector: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

/** Loads one configured model with its schema and detector. */
export async function loadServedModel(name: string, config: ModelConfig): Promise<ServedModel> {
  await initRuntime();
  const { model, directory } = await openModel(name, config.path);
  try {
    const info: ModelInfo = { ...model.info, name };
    let tensorSchema = schemaForModel(info);
    let records: ServedModel['records'];
    const tabular = directory ? tabularSchemaOf(config.path) : undefined;
    if (directory) {
      const declared = loadInputSchema(config.path);
      if (declared.kind === 'text') {
        throw new AegisInputError(`models.${name}: text input schemas are not served by the gateway yet`);
      }
      if (declared.kind === 'tabular' && tabular) records = { schema: declared, tabular };
      const sameShape = declared.kind === 'tensor' && declared.shape.slice(1).join(',') === info.inputShape.join(',');
      // An explicit float32 tensor schema (e.g. a narrower range) replaces the default one.
      if (declared.kind === 'tensor' && sameShape && declared.dtype === 'float32') tensorSchema = declared;
    }
    const detector: ServedDetector | undefined = config.detector
      ? {
          detector: await fitDetector(name, model, config.detector, tabular),
          kind: config.detector.kind,
          action: config.detector.action,
        }
      : undefined;
    const served: ServedModel = {
      name,
      info,
      model,
      rowSize: info.inputShape.reduce((a, b) => a * b, 1),
      tensorSchema,
      records,
      detector,
      predict: predictorOf(model),
      async dispose() {
        detector?.detector.dispose();
        await model.dispose();
      },
    };
    return served;
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

/** Every configured model, by name. */
export class ModelRegistry {
  private constructor(private readonly models: Map<string, ServedModel>) {}

  static async load(config: GatewayConfig): Promise<ModelRegistry> {
    const models = new Map<string, ServedModel>();
    try {
      for (const [name, modelConfig] of Object.entries(config.models)) {
        models.set(name, await loadServedModel(name, modelConfig));
      }
    } catch (error) {
      for (const m of models.values()) await m.dispose();
      throw error;
    }
    return new ModelRegistry(models);
  }

  /** The served model, or undefined (never touches the filesystem). */
  get(name: string): ServedModel | undefined {
    return this.models.get(name);
  }

  names(): string[] {
    return [...this.models.keys()];
  }

  all(): ServedModel[] {
    return [...this.models.values()];
  }

  get size(): number {
    return this.models.size;
  }

  async dispose(): Promise<void> {
    for (const m of this.models.values()) await m.dispose();
    this.models.clear();
  }
}
