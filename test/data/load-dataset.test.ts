import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AegisInputError } from '../../src/core/errors.js';
import { BUNDLED_FASHION_MNIST_DIR, FASHION_MNIST_CLASSES, loadFashionMnist } from '../../src/data/fashion-mnist.js';
import { encodeIdx, writeIdx } from '../../src/data/idx.js';
import { detectDatasetFormat, idxLabelsPathFor, loadDataset } from '../../src/data/load-dataset.js';
import { writeNpzFile } from '../../src/data/npz.js';
import type { TabularDataset } from '../../src/data/tabular-schema.js';
import { sharedPath } from '../helpers/shared-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-load-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function inputError(pattern: RegExp) {
  return (error: unknown) => error instanceof AegisInputError && pattern.test(error.message);
}

/** Writes an MNIST-style pair with `n` 2x2 images whose pixels equal their label * 50. */
function writeMnistPair(folder: string, prefix: string, n: number, sep = '-', gz = false): string {
  mkdirSync(folder, { recursive: true });
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
  const images = Uint8Array.from({ length: n * 4 }, (_, i) => labels[Math.floor(i / 4)]! * 50);
  const ext = gz ? '.gz' : '';
  const imagesPath = join(folder, `${prefix}-images${sep}idx3-ubyte${ext}`);
  writeIdx(imagesPath, { dtype: 'uint8', shape: [n, 2, 2], data: images });
  writeIdx(join(folder, `${prefix}-labels${sep}idx1-ubyte${ext}`), { dtype: 'uint8', shape: [n], data: labels });
  return imagesPath;
}

describe('loadDataset', () => {
  it("loads the bundled subset for 'bundled' and 'fashion-mnist', test split by default", async () => {
    const test = await loadDataset('bundled');
    assert.deepEqual(test.shape, [1000, 28, 28, 1]);
    assert.equal(test.name, 'fashion-mnist-bundled-test');
    const train = await loadDataset('fashion-mnist', { split: 'train', limit: 50 });
    assert.deepEqual(train.shape, [50, 28, 28, 1]);
    assert.deepEqual(train.classNames, [...FASHION_MNIST_CLASSES]);
    await assert.rejects(
      loadDataset('bundled', { split: 'val' as 'test' }),
      inputError(/split must be 'train' or 'test'/),
    );
  });

  it('loads a Fashion-MNIST/MNIST directory by split', async () => {
    const data = await loadDataset(BUNDLED_FASHION_MNIST_DIR, { split: 'train', limit: 7 });
    assert.deepEqual(data.shape, [7, 28, 28, 1]);
    assert.deepEqual(data.classNames, [...FASHION_MNIST_CLASSES]);
    assert.deepEqual(data.y, loadFashionMnist({ split: 'train', source: 'bundled', limit: 7 }).y);
    // Kaggle-style names (dot before idx) and digit class names when nothing says "fashion".
    const mnist = join(dir, 'digits');
    writeMnistPair(mnist, 't10k', 6, '.');
    const digits = await loadDataset(mnist);
    assert.equal(digits.name, 'digits-test');
    assert.deepEqual(digits.classNames, ['0', '1', '2']);
    assert.deepEqual(Array.from(digits.y), [0, 1, 2, 0, 1, 2]);
    assert.equal(digits.x[4], Math.fround(50 / 255));
    await assert.rejects(
      loadDataset(mnist, { split: 'train' }),
      inputError(/no train images file .* found t10k-images\.idx3-ubyte/),
    );
  });

  it('loads an IDX images file, finding its labels file by name or taking labelsPath', async () => {
    const images = writeMnistPair(join(dir, 'pair'), 'train', 5, '-', true);
    assert.equal(idxLabelsPathFor(images), join(dir, 'pair', 'train-labels-idx1-ubyte.gz'));
    const data = await loadDataset(images, { classNames: ['a', 'b', 'c'], limit: 4 });
    assert.deepEqual(data.shape, [4, 2, 2, 1]);
    assert.deepEqual(data.classNames, ['a', 'b', 'c']);
    assert.equal(data.name, 'train-images-idx3-ubyte');
    // A gzipped IDX file with an arbitrary name is recognised by content.
    const odd = join(dir, 'pixels.bin');
    writeFileSync(odd, gzipSync(encodeIdx({ dtype: 'uint8', shape: [2, 1, 1], data: Uint8Array.from([0, 255]) })));
    const tags = join(dir, 'tags.bin');
    writeFileSync(tags, encodeIdx({ dtype: 'uint8', shape: [2], data: Uint8Array.from([1, 0]) }));
    assert.equal(detectDatasetFormat(odd), 'idx');
    const byContent = await loadDataset(odd, { labelsPath: tags });
    assert.deepEqual(Array.from(byContent.x), [0, 1]);
    assert.deepEqual(Array.from(byContent.y), [1, 0]);
    await assert.rejects(
      loadDataset(odd),
      inputError(/pixels\.bin: no labels file found next to it .*pass labelsPath/),
    );
  });

  it('loads CSV and TSV through a fitted schema', async () => {
    const csv = join(dir, 'table.csv');
    writeFileSync(csv, 'x1,colour,target\n0,red,yes\n5,blue,no\n10,red,yes\n');
    const data = (await loadDataset(csv, { labelColumn: 'target' })) as TabularDataset;
    assert.deepEqual(data.shape, [3, 3]);
    assert.deepEqual(data.schema.featureNames, ['x1', 'colour=blue', 'colour=red']);
    assert.deepEqual(Array.from(data.x), [0, 0, 1, 0.5, 1, 0, 1, 0, 1]);
    assert.deepEqual(data.classNames, ['no', 'yes']);
    const again = await loadDataset(csv, { schema: data.schema, limit: 1 });
    assert.deepEqual(Array.from(again.x), [0, 0, 1]);
    const tsv = join(dir, 'table.tsv');
    writeFileSync(tsv, 'a\tlabel\n1\tp\n3\tq\n');
    const t = await loadDataset(tsv);
    assert.deepEqual(Array.from(t.x), [0, 1]);
  });

  it('loads .npz through loadNpzDataset, with limit', async () => {
    const npz = join(dir, 'arrays.npz');
    writeNpzFile(npz, {
      x: { dtype: 'float32', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i / 12) },
      y: { dtype: 'int32', shape: [3], data: Int32Array.from([2, 0, 1]) },
    });
    assert.equal(detectDatasetFormat(npz), 'npz');
    const data = await loadDataset(npz, { limit: 2, classNames: ['p', 'q', 'r'] });
    assert.deepEqual(data.shape, [2, 4]);
    assert.deepEqual(Array.from(data.y), [2, 0]);
    assert.deepEqual(data.classNames, ['p', 'q', 'r']);
  });

  const baseline = sharedPath('baseline', 'fmnist_test1000.npz');
  it('the baseline npz holds exactly the bundled first 1000 test images', {
    skip: existsSync(baseline) ? false : `${baseline} absent`,
  }, async () => {
    const fromNpz = await loadDataset(baseline);
    const bundled = await loadDataset('bundled');
    assert.deepEqual(fromNpz.shape, bundled.shape);
    assert.deepEqual(fromNpz.y, bundled.y);
    assert.deepEqual(fromNpz.x, bundled.x);
  });

  it('rejects unknown formats and missing paths, listing the supported ones', async () => {
    const txt = join(dir, 'notes.txt');
    writeFileSync(txt, 'hello world\n');
    await assert.rejects(
      loadDataset(txt),
      inputError(/notes\.txt: unknown dataset format\. Supported: \.npz .*\.csv .*IDX .*'bundled'/),
    );
    await assert.rejects(
      loadDataset(join(dir, 'missing.npz')),
      inputError(/missing\.npz: no such file or directory\. Supported:/),
    );
    const empty = join(dir, 'empty-dir');
    mkdirSync(empty);
    await assert.rejects(loadDataset(empty), inputError(/no test images file/));
    await assert.rejects(loadDataset('bundled', { limit: -1 }), inputError(/limit must be a positive integer/));
  });
});
