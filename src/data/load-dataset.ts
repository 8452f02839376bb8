/**
 * One entry point for "load the data at this path": picks the loader by keyword, directory,
 * extension, then content (zip → .npz, IDX magic raw or gzipped → IDX).
 * Keywords: `bundled` and `fashion-mnist` are the bundled Fashion-MNIST subset,
 * `fashion-mnist-full` is Debian's full set. They win over a same-named file; write
 * `./fashion-mnist` to mean a directory.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { AegisInputError } from '../core/errors.js';
import { loadCsvDataset } from './csv.js';
import { type Dataset, slice, validateDataset } from './dataset.js';
import {
  FASHION_MNIST_CLASSES,
  type FashionMnistSplit,
  loadFashionMnist,
  loadIdxImageDataset,
} from './fashion-mnist.js';
import { isGzip, looksLikeIdx, readIdx } from './idx.js';
import { isImageFolder, loadImageFolderDataset } from './image-folder.js';
import { loadNpzDataset } from './npz-dataset.js';
import type { TabularSchema } from './tabular-schema.js';

export const SUPPORTED_DATASET_FORMATS: readonly string[] = [
  '.npz (NumPy arrays x and y)',
  '.csv / .tsv (tabular, with a header row and a label column)',
  'IDX images file, raw or .gz (MNIST style; labels file found by name or given as labelsPath)',
  'a directory holding MNIST-style IDX files (train-/t10k-images-idx3-ubyte[.gz] and labels)',
  'an image folder: one subfolder per class holding .pgm images (e.g. the AT&T faces s1/1.pgm …)',
  "'bundled' or 'fashion-mnist' (the bundled Fashion-MNIST subset), 'fashion-mnist-full' (Debian's full set)",
];

export interface LoadDatasetOptions {
  /** Keep only the first N examples. */
  limit?: number;
  /** Class names in label order (default: from the file, Fashion-MNIST names, or '0', '1', …). */
  classNames?: string[];
  /** Which split of a Fashion-MNIST/MNIST directory or keyword; default 'test'. */
  split?: FashionMnistSplit;
  /** IDX: the labels file, when it is not named like the images file. */
  labelsPath?: string;
  /** CSV: label column (default `label` or the last column). */
  labelColumn?: string;
  /** CSV: encode with this fitted schema instead of fitting one. */
  schema?: TabularSchema;
  /** CSV: column type overrides and columns to ignore. */
  categorical?: string[];
  numeric?: string[];
  drop?: string[];
  name?: string;
  /** Image folders: shrink each side by this integer factor (block averaging). */
  downscale?: number;
}

export type DatasetFormat =
  | 'fashion-mnist'
  | 'fashion-mnist-full'
  | 'idx-dir'
  | 'image-folder'
  | 'npz'
  | 'csv'
  | 'tsv'
  | 'idx';

function unsupported(path: string, why: string): AegisInputError {
  return new AegisInputError(`${path}: ${why}. Supported: ${SUPPORTED_DATASET_FORMATS.join('; ')}`);
}

/** The first bytes of a file, decompressed when gzipped, without reading the whole file. */
function sniffFile(path: string): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    const bytes = head.subarray(0, n);
    if (!isGzip(bytes)) return bytes.subarray(0, 8);
    // Sync flush: inflate what these bytes hold instead of failing on the missing rest.
    return gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, 8);
  } catch {
    return new Uint8Array(0);
  } finally {
    closeSync(fd);
  }
}

/** Decides the format of `path` (keyword, directory, extension, then content). */
export function detectDatasetFormat(path: string): DatasetFormat {
  const word = path.toLowerCase();
  if (word === 'bundled' || word === 'fashion-mnist') return 'fashion-mnist';
  if (word === 'fashion-mnist-full') return 'fashion-mnist-full';
  if (!existsSync(path)) throw unsupported(path, 'no such file or directory');
  if (statSync(path).isDirectory()) return isImageFolder(path) ? 'image-folder' : 'idx-dir';
  const ext = extname(path).toLowerCase();
  if (ext === '.npz') return 'npz';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  if (/idx\d/i.test(basename(path))) return 'idx';
  const head = sniffFile(path);
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) return 'npz';
  if (looksLikeIdx(head)) return 'idx';
  throw unsupported(path, 'unknown dataset format');
}

/** `…images-idx3-ubyte[.gz]` → the existing `…labels-idx1-ubyte[.gz]` next to it, if any. */
export function idxLabelsPathFor(imagesPath: string): string | undefined {
  const name = basename(imagesPath);
  const stem = name.replace(/\.gz$/i, '');
  const labels = stem.replace(/images/i, 'labels').replace(/idx3/i, 'idx1');
  if (labels === stem) return undefined;
  return [labels, `${labels}.gz`].map((n) => join(dirname(imagesPath), n)).find((p) => existsSync(p));
}

const IMAGES_FILE = /^(train|t10k|test)[-_.]images[-_.]idx3[-_.]ubyte(\.gz)?$/i;

/** The images file of `split` in an MNIST-style directory. */
function idxImagesInDir(dir: string, split: FashionMnistSplit): string {
  const files = readdirSync(dir).filter((f) => IMAGES_FILE.test(f));
  const wanted = split === 'train' ? ['train'] : ['t10k', 'test'];
  const match = files.find((f) => wanted.includes(f.split(/[-_.]/)[0]!.toLowerCase()));
  if (match === undefined) {
    throw unsupported(
      dir,
      `no ${split} images file (${wanted.join('/')}-images-idx3-ubyte[.gz]) in this directory${files.length ? `; found ${files.join(', ')}` : ''}`,
    );
  }
  return join(dir, match);
}

/** Fashion-MNIST names when the path says so, else '0' … 'max label'. */
function defaultIdxClassNames(imagesPath: string, labelsPath: string): string[] {
  if (/fashion/i.test(resolve(imagesPath))) return [...FASHION_MNIST_CLASSES];
  const labels = readIdx(labelsPath);
  let max = 0;
  for (const v of labels.data) max = Math.max(max, v);
  return Array.from({ length: max + 1 }, (_, k) => String(k));
}

function loadIdx(imagesPath: string, opts: LoadDatasetOptions, name: string): Dataset {
  const labelsPath = opts.labelsPath ?? idxLabelsPathFor(imagesPath);
  if (labelsPath === undefined) {
    throw new AegisInputError(
      `${imagesPath}: no labels file found next to it (expected a name like …labels-idx1-ubyte[.gz]); pass labelsPath`,
    );
  }
  const classNames = opts.classNames ?? defaultIdxClassNames(imagesPath, labelsPath);
  return loadIdxImageDataset(imagesPath, labelsPath, { name, classNames, limit: opts.limit });
}

function withOverrides(data: Dataset, opts: LoadDatasetOptions): Dataset {
  if (opts.classNames === undefined && opts.name === undefined) return data;
  return validateDataset({ ...data, name: opts.name ?? data.name, classNames: opts.classNames ?? data.classNames });
}

function stemOf(path: string): string {
  return basename(path)
    .replace(/\.gz$/i, '')
    .replace(/\.[^.]*$/, '');
}

/** Loads a dataset from a path or keyword; see SUPPORTED_DATASET_FORMATS. */
export async function loadDataset(path: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const split = opts.split ?? 'test';
  if (split !== 'train' && split !== 'test') {
    throw new AegisInputError(`split must be 'train' or 'test', got '${split}'`);
  }
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new AegisInputError(`limit must be a positive integer, got ${opts.limit}`);
  }
  const format = detectDatasetFormat(path);
  switch (format) {
    case 'fashion-mnist':
    case 'fashion-mnist-full': {
      const source = format === 'fashion-mnist' ? 'bundled' : 'full';
      return withOverrides(loadFashionMnist({ split, source, limit: opts.limit }), opts);
    }
    case 'idx-dir': {
      const images = idxImagesInDir(path, split);
      return loadIdx(images, opts, opts.name ?? `${basename(resolve(path))}-${split}`);
    }
    case 'image-folder':
      return withOverrides(
        loadImageFolderDataset(path, { name: opts.name, limit: opts.limit, downscale: opts.downscale }),
        opts,
      );
    case 'idx':
      return loadIdx(path, opts, opts.name ?? stemOf(path));
    case 'csv':
    case 'tsv':
      return loadCsvDataset(path, {
        labelColumn: opts.labelColumn,
        schema: opts.schema,
        categorical: opts.categorical,
        numeric: opts.numeric,
        drop: opts.drop,
        classNames: opts.classNames,
        limit: opts.limit,
        name: opts.name,
        delimiter: format === 'tsv' ? '\t' : ',',
      });
    case 'npz': {
      const data = await loadNpzDataset(path, {
        ...(opts.classNames ? { classNames: opts.classNames } : {}),
        ...(opts.name ? { name: opts.name } : {}),
      });
      return opts.limit !== undefined ? slice(data, 0, opts.limit) : data;
    }
  }
}
