/**
 * Image-folder datasets: one subfolder per class holding grayscale PGM images, as in the AT&T
 * (ORL) faces (`s1/1.pgm … s40/10.pgm`, 92×112). Classes are the folder names in natural order
 * (s1, s2, …, s10, not s1, s10, s2), images within a class likewise. Result: NHWC [n, h, w, 1]
 * in [0, 1], optionally shrunk by an integer factor (block averaging).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { AegisInputError } from '../core/errors.js';
import { type Dataset, validateDataset } from './dataset.js';
import { pgmToUnit, readPgm } from './pgm.js';

export interface ImageFolderOptions {
  /** Dataset name (default: the folder name). */
  name?: string;
  /** Keep only the first N images (classes in natural order, then files). */
  limit?: number;
  /** Integer factor to shrink each side by, averaging factor×factor blocks (2: 112×92 → 56×46). Default 1. */
  downscale?: number;
}

const IMAGE_EXT = /\.pgm$/i;

/** Natural order: digit runs compare as numbers. */
export const naturalCompare = new Intl.Collator('en', { numeric: true, sensitivity: 'base' }).compare;

function subfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(naturalCompare);
}

function imagesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && IMAGE_EXT.test(e.name))
    .map((e) => e.name)
    .sort(naturalCompare);
}

/** True when `dir` is a directory with at least one subfolder holding .pgm images. */
export function isImageFolder(dir: string): boolean {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
  return subfolders(dir).some((sub) => imagesIn(join(dir, sub)).length > 0);
}

/** Averages factor×factor blocks of a [height, width] image (rows/columns past the last whole block are dropped). */
export function downscaleImage(pixels: Float32Array, height: number, width: number, factor: number): Float32Array {
  if (factor === 1) return pixels;
  const h = Math.floor(height / factor);
  const w = Math.floor(width / factor);
  const out = new Float32Array(h * w);
  const area = factor * factor;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      let sum = 0;
      for (let dr = 0; dr < factor; dr++) {
        const row = (r * factor + dr) * width + c * factor;
        for (let dc = 0; dc < factor; dc++) sum += pixels[row + dc] as number;
      }
      out[r * w + c] = sum / area;
    }
  }
  return out;
}

export function loadImageFolderDataset(dir: string, opts: ImageFolderOptions = {}): Dataset {
  const factor = opts.downscale ?? 1;
  if (!Number.isInteger(factor) || factor < 1) {
    throw new AegisInputError(`downscale must be a positive whole number, got ${factor}`);
  }
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new AegisInputError(`limit must be a positive integer, got ${opts.limit}`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AegisInputError(`image folder '${dir}' does not exist or is not a directory`);
  }
  const classNames = subfolders(dir).filter((sub) => imagesIn(join(dir, sub)).length > 0);
  if (classNames.length === 0) {
    throw new AegisInputError(`image folder '${dir}' has no subfolders with .pgm images (one subfolder per class)`);
  }
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  const images: Float32Array[] = [];
  const labels: number[] = [];
  let size: { height: number; width: number; file: string } | undefined;
  for (let k = 0; k < classNames.length && images.length < limit; k++) {
    const classDir = join(dir, classNames[k] as string);
    for (const file of imagesIn(classDir)) {
      if (images.length >= limit) break;
      const path = join(classDir, file);
      const image = readPgm(path);
      if (size === undefined) size = { height: image.height, width: image.width, file: path };
      else if (image.height !== size.height || image.width !== size.width) {
        throw new AegisInputError(
          `${path}: image is ${image.width}×${image.height} but ${size.file} is ${size.width}×${size.height}; all images must have one size`,
        );
      }
      images.push(downscaleImage(pgmToUnit(image), image.height, image.width, factor));
      labels.push(k);
    }
  }
  if (size === undefined) throw new AegisInputError(`image folder '${dir}' has no images`);
  const h = Math.floor(size.height / factor);
  const w = Math.floor(size.width / factor);
  if (h === 0 || w === 0) {
    throw new AegisInputError(`downscale ${factor} is larger than the ${size.width}×${size.height} images`);
  }
  const x = new Float32Array(images.length * h * w);
  images.forEach((img, i) => {
    x.set(img, i * h * w);
  });
  return validateDataset({
    name: opts.name ?? basename(resolve(dir)) + (factor > 1 ? `-${factor}x` : ''),
    x,
    shape: [images.length, h, w, 1],
    y: Int32Array.from(labels),
    classNames,
    source: resolve(dir),
  });
}
