/**
 * Victim training recipes (VictimTrainer): the same recipe trains the clean baseline, every
 * poisoned victim and (in the defenses) the victim retrained on filtered data, so differences
 * come from the data alone. Every victim of one run gets the same seed (same initial weights).
 */
import { AegisInputError } from '../../core/errors.js';
import { type Dataset, featureShape } from '../../data/dataset.js';
import { buildLogisticRegression } from '../../models/builders.js';
import { TfjsModel } from '../../models/tfjs-model.js';
import { trainModel } from '../../models/train.js';
import { type Architecture, parseArchitecture, trainClassifier } from '../../models/train-classifier.js';
import { type FeatureExtractor, TransferModel } from './feature-extractor.js';
import type { VictimTrainer } from './poisoning-attack.js';

export interface VictimRecipe {
  epochs: number;
  /** Default 64. */
  batchSize?: number;
  /** Adam step size. Default 1e-3. */
  learningRate?: number;
  /** Valid input domain recorded on the model. Default [0, 1]. */
  inputRange?: [number, number];
}

/** The recipe's training options, leaving unset ones to the trainer's defaults. */
function trainOptions(recipe: VictimRecipe): { epochs: number; batchSize?: number; learningRate?: number } {
  return {
    epochs: recipe.epochs,
    ...(recipe.batchSize !== undefined ? { batchSize: recipe.batchSize } : {}),
    ...(recipe.learningRate !== undefined ? { learningRate: recipe.learningRate } : {}),
  };
}

/** The architecture for data of this shape when none is named: the small CNN for images, else an MLP. */
export function defaultArchitecture(data: Dataset): Architecture {
  return featureShape(data).length === 3 ? 'cnn' : 'mlp';
}

/** Trains a fresh `arch` network (cnn, mlp, logistic) from scratch with Adam (trainClassifier). */
export function architectureVictim(arch: Architecture | string, recipe: VictimRecipe): VictimTrainer {
  const architecture = parseArchitecture(arch);
  return async (train, seed) => {
    const { model } = await trainClassifier(architecture, train, {
      ...trainOptions(recipe),
      seed,
      progress: false,
      name: `victim-${architecture}`,
    });
    if (!recipe.inputRange) return model;
    return new TfjsModel(model.network, { ...model.info, inputRange: recipe.inputRange });
  };
}

/**
 * Transfer learning: the extractor stays frozen; only a new final layer (softmax regression on the
 * extracted features) is trained on the given data. The victim model of feature collision.
 * Default learning rate 0.01 (not 1e-3): the head should fit its training data, as in the paper.
 */
export function transferVictim(extractor: FeatureExtractor, recipe: VictimRecipe): VictimTrainer {
  return async (train, seed) => {
    const shape = featureShape(train);
    if (shape.join(',') !== extractor.inputShape.join(',')) {
      throw new AegisInputError(
        `dataset '${train.name}' has examples [${shape}] but the feature extractor expects [${extractor.inputShape}]`,
      );
    }
    const features = await extractor.extract(train);
    const numClasses = train.classNames.length;
    const head = buildLogisticRegression({ inputShape: [extractor.dim], numClasses, seed, name: 'transfer-head' });
    try {
      // A softmax regression on fixed features converges slowly at Adam's usual 1e-3; the victim trains it to fit.
      await trainModel(head, features, {
        ...trainOptions({ ...recipe, learningRate: recipe.learningRate ?? 0.01 }),
        seed,
        progress: false,
      });
    } catch (error) {
      head.dispose();
      throw error;
    }
    return new TransferModel(extractor, head, {
      name: `transfer-${extractor.network.name}`,
      numClasses,
      classNames: train.classNames,
      inputRange: recipe.inputRange ?? [0, 1],
    });
  };
}
