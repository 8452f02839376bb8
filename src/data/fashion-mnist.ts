/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747) and any MNIST-style pair of
 * IDX files (images [n, h, w] ubyte + labels [n] ubyte) as a Dataset.
 * The full set comes from Debian's `dataset-fashion-mnist`; a small subset ships in data/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AegisInputError } from '../core/errors.js';
import { type Dataset, validateDataset } from './dataset.js';
import { type IdxArray, readIdx } from './idx.js';

export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Where Debian's `dataset-fashion-mnist` installs the full set. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The subset shipped with Aegis (first 4000 training and first 1000 test images). */
export const BUNDLED_FASHION_MNIST_DIR = fileURLToPath(new URL('../../data/fashion-mnist/', import.meta.url));

export type FashionMnistSplit = 'train' | 'test';

/** File names of one split, as Zalando and Debian name them. */
export function fashionMnistFiles(dir: string, split: FashionMnistSplit): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return {
    images: join(dir, `${prefix}-images-idx3-ubyte.gz`),
    labels: join(dir, `${prefix}-labels-idx1-ubyte.gz`),
  };
}

export interface IdxImageDatasetOptions {
  name: string;
  classNames: readonly string[];
  /** Keep only the first `limit` examples. */
  limit?: number;
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new AegisInputError(`limit must be a positive integer, got ${limit}`);
  }
}

/** Images [n, h, w] or [n, h, w, c] → NHWC float32 in [0, 1] (ubyte / 255; float types kept as is). */
function imagesToFloat(images: IdxArray, n: number, path: string): { x: Float32Array; shape: number[] } {
  const { shape, dtype, data } = images;
  if (shape.length !== 3 && shape.length !== 4) {
    throw new AegisInputError(
      `${path}: image IDX file must have 3 dims [n, height, width] or 4 [n, height, width, channels], got [${shape.join(', ')}]`,
    );
  }
  const perImage = shape.slice(1).reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * perImage);
  if (dtype === 'uint8') {
    for (let i = 0; i < x.length; i++) x[i] = data[i]! / 255;
  } else if (dtype === 'float32' || dtype === 'float64') {
    for (let i = 0; i < x.length; i++) {
      const v = data[i]!;
      if (!(v >= 0 && v <= 1)) {
        throw new AegisInputError(
          `${path}: float pixel ${v} of image ${Math.floor(i / perImage)} is outside [0, 1]; scale images to [0, 1] first`,
        );
      }
      x[i] = v;
    }
  } else {
    throw new AegisInputError(`${path}: image pixels must be ubyte (0-255) or float in [0, 1], got ${dtype}`);
  }
  const [, h, w, c = 1] = shape;
  return { x, shape: [n, h!, w!, c] };
}

function labelsToInt(labels: IdxArray, n: number, path: string, classCount: number): Int32Array {
  if (labels.shape.length !== 1) {
    throw new AegisInputError(`${path}: label IDX file must have 1 dim [n], got [${labels.shape.join(', ')}]`);
  }
  if (labels.dtype === 'float32' || labels.dtype === 'float64') {
    throw new AegisInputError(`${path}: labels must be an integer IDX type, got ${labels.dtype}`);
  }
  const y = Int32Array.from(labels.data.subarray(0, n));
  for (let i = 0; i < n; i++) {
    if (y[i]! < 0 || y[i]! >= classCount) {
      throw new AegisInputError(
        `${path}: label ${y[i]} of example ${i} is outside [0, ${classCount - 1}] (${classCount} class names given)`,
      );
    }
  }
  return y;
}

/** A pair of IDX files (images + labels) → Dataset NHWC [n, h, w, c] float32 in [0, 1], labels int32. */
export function loadIdxImageDataset(imagesPath: string, labelsPath: string, options: IdxImageDatasetOptions): Dataset {
  checkLimit(options.limit);
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  const total = images.shape[0] ?? 0;
  if (labels.shape[0] !== total) {
    throw new AegisInputError(
      `${imagesPath} has ${total} images but ${labelsPath} has ${labels.shape[0]} labels; they must match`,
    );
  }
  if (total === 0) throw new AegisInputError(`${imagesPath}: contains no images`);
  const n = Math.min(total, options.limit ?? total);
  const { x, shape } = imagesToFloat(images, n, imagesPath);
  const y = labelsToInt(labels, n, labelsPath, options.classNames.length);
  return validateDataset({ name: options.name, x, shape, y, classNames: [...options.classNames], source: imagesPath });
}

export interface FashionMnistOptions {
  split: FashionMnistSplit;
  /** 'full' = Debian's files, 'bundled' = the subset in data/, 'auto' (default) = full when installed. */
  source?: 'bundled' | 'full' | 'auto';
  limit?: number;
}

export function isFullFashionMnistInstalled(dir = DEBIAN_FASHION_MNIST_DIR): boolean {
  const files = [fashionMnistFiles(dir, 'train'), fashionMnistFiles(dir, 'test')];
  return files.every((f) => existsSync(f.images) && existsSync(f.labels));
}

export function loadFashionMnist(options: FashionMnistOptions): Dataset {
  const source = options.source ?? 'auto';
  if (options.split !== 'train' && options.split !== 'test') {
    throw new AegisInputError(`Fashion-MNIST split must be 'train' or 'test', got '${options.split}'`);
  }
  const full = isFullFashionMnistInstalled();
  if (source === 'full' && !full) {
    throw new AegisInputError(
      `the full Fashion-MNIST set is not installed at ${DEBIAN_FASHION_MNIST_DIR}; run \`apt-get install dataset-fashion-mnist\` (or use the bundled subset)`,
    );
  }
  const useFull = source === 'full' || (source === 'auto' && full);
  const dir = useFull ? DEBIAN_FASHION_MNIST_DIR : BUNDLED_FASHION_MNIST_DIR;
  const files = fashionMnistFiles(dir, options.split);
  const name = `fashion-mnist${useFull ? '' : '-bundled'}-${options.split}`;
  return loadIdxImageDataset(files.images, files.labels, {
    name,
    classNames: FASHION_MNIST_CLASSES,
    limit: options.limit,
  });
}
