/**
 * Builds the bundled Fashion-MNIST subset in data/fashion-mnist/ from Debian's full set
 * (`apt-get install dataset-fashion-mnist`): the first 4000 training and the first 1000 test
 * images and labels, as gzipped IDX with the original file names, plus a README with sha256.
 * Run: npx tsx scripts/make-bundled-data.ts
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  BUNDLED_FASHION_MNIST_DIR,
  DEBIAN_FASHION_MNIST_DIR,
  type FashionMnistSplit,
  fashionMnistFiles,
  isFullFashionMnistInstalled,
} from '../src/data/fashion-mnist.js';
import { type IdxArray, readIdx, writeIdx } from '../src/data/idx.js';

const COUNTS: Record<FashionMnistSplit, number> = { train: 4000, test: 1000 };

function firstN(array: IdxArray, n: number): IdxArray {
  const per = array.shape.slice(1).reduce((a, b) => a * b, 1);
  return { dtype: array.dtype, shape: [n, ...array.shape.slice(1)], data: array.data.slice(0, n * per) };
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function labelCounts(labels: IdxArray): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const label of labels.data) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

function main(): void {
  if (!isFullFashionMnistInstalled()) {
    throw new Error(`${DEBIAN_FASHION_MNIST_DIR} not found: apt-get install dataset-fashion-mnist`);
  }
  const rows: string[] = [];
  const perClass: string[] = [];
  for (const split of ['train', 'test'] as const) {
    const src = fashionMnistFiles(DEBIAN_FASHION_MNIST_DIR, split);
    const dst = fashionMnistFiles(BUNDLED_FASHION_MNIST_DIR, split);
    const n = COUNTS[split];
    const labels = firstN(readIdx(src.labels), n);
    writeIdx(dst.images, firstN(readIdx(src.images), n));
    writeIdx(dst.labels, labels);
    perClass.push(`- ${split}: ${labelCounts(labels).join(', ')}`);
    for (const path of [dst.images, dst.labels]) {
      const bytes = readFileSync(path).length;
      rows.push(`| \`${basename(path)}\` | ${split} | ${n} | ${bytes} | \`${sha256(path)}\` |`);
    }
  }
  const readme = readFileSync(join(BUNDLED_FASHION_MNIST_DIR, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- files -->');
  const end = readme.indexOf('<!-- /files -->');
  if (start < 0 || end < 0) throw new Error('README.md lacks the <!-- files --> markers');
  const table = [
    '| file | split | examples | bytes | sha256 |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    'Examples per class (labels 0-9):',
    '',
    ...perClass,
  ].join('\n');
  const updated = `${readme.slice(0, start)}<!-- files -->\n${table}\n${readme.slice(end)}`;
  writeFileSync(join(BUNDLED_FASHION_MNIST_DIR, 'README.md'), updated);
  console.log(table);
}

main();
