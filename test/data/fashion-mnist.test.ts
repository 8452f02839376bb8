import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AegisInputError } from '../../src/core/errors.js';
import type { Dataset } from '../../src/data/dataset.js';
import {
  BUNDLED_FASHION_MNIST_DIR,
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  fashionMnistFiles,
  isFullFashionMnistInstalled,
  loadFashionMnist,
  loadIdxImageDataset,
} from '../../src/data/fashion-mnist.js';
import { writeIdx } from '../../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'aegis-fmnist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function classCounts(data: Dataset): number[] {
  const counts = new Array<number>(data.classNames.length).fill(0);
  for (const label of data.y) counts[label]! += 1;
  return counts;
}

function range(x: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

describe('bundled Fashion-MNIST subset', () => {
  it('has 4000 training and 1000 test images, NHWC in [0, 1], all 10 classes', () => {
    const train = loadFashionMnist({ split: 'train', source: 'bundled' });
    const test = loadFashionMnist({ split: 'test', source: 'bundled' });
    assert.deepEqual(train.shape, [4000, 28, 28, 1]);
    assert.deepEqual(test.shape, [1000, 28, 28, 1]);
    assert.equal(train.x.length, 4000 * 784);
    assert.deepEqual(train.classNames, [...FASHION_MNIST_CLASSES]);
    assert.equal(test.name, 'fashion-mnist-bundled-test');
    for (const data of [train, test]) {
      const [min, max] = range(data.x);
      assert.equal(min, 0);
      assert.equal(max, 1);
    }
    // Counts recorded in data/fashion-mnist/README.md.
    assert.deepEqual(classCounts(train), [373, 440, 404, 409, 395, 391, 400, 413, 380, 395]);
    assert.deepEqual(classCounts(test), [107, 105, 111, 93, 115, 87, 97, 95, 95, 95]);
    // First test image is an ankle boot (label 9), as in the original file.
    assert.equal(test.y[0], 9);
    assert.ok(
      test.x.subarray(0, 784).some((v) => v > 0 && v < 1),
      'pixels are graded, not binary',
    );
  });

  it('honours limit', () => {
    const data = loadFashionMnist({ split: 'test', source: 'bundled', limit: 25 });
    assert.deepEqual(data.shape, [25, 28, 28, 1]);
    assert.equal(data.y.length, 25);
    assert.throws(() => loadFashionMnist({ split: 'test', source: 'bundled', limit: 0 }), AegisInputError);
  });

  it('keeps each bundled file small', () => {
    let total = 0;
    for (const split of ['train', 'test'] as const) {
      const files = fashionMnistFiles(BUNDLED_FASHION_MNIST_DIR, split);
      total += statSync(files.images).size + statSync(files.labels).size;
    }
    assert.ok(total < 2.5e6, `bundled data is ${total} bytes`);
  });
});

describe('full Fashion-MNIST (Debian dataset-fashion-mnist)', () => {
  const skip = isFullFashionMnistInstalled()
    ? false
    : `${DEBIAN_FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`;

  it('has 60000/10000 images and the bundled subset is its prefix', { skip }, () => {
    const test = loadFashionMnist({ split: 'test', source: 'full' });
    assert.deepEqual(test.shape, [10000, 28, 28, 1]);
    assert.equal(test.name, 'fashion-mnist-test');
    const bundled = loadFashionMnist({ split: 'test', source: 'bundled' });
    assert.deepEqual(test.x.subarray(0, 1000 * 784), bundled.x);
    assert.deepEqual(test.y.subarray(0, 1000), bundled.y);
    const train = loadFashionMnist({ split: 'train', source: 'full' });
    assert.deepEqual(train.shape, [60000, 28, 28, 1]);
    assert.deepEqual(classCounts(train), new Array(10).fill(6000));
    const bundledTrain = loadFashionMnist({ split: 'train', source: 'bundled' });
    assert.deepEqual(train.y.subarray(0, 4000), bundledTrain.y);
    assert.deepEqual(train.x.subarray(0, 4000 * 784), bundledTrain.x);
  });

  it("'auto' picks the full set when installed", { skip }, () => {
    assert.equal(loadFashionMnist({ split: 'test', limit: 3 }).name, 'fashion-mnist-test');
  });

  it("'full' without the package tells the user what to install", {
    skip: skip === false ? 'installed here' : false,
  }, () => {
    assert.throws(
      () => loadFashionMnist({ split: 'test', source: 'full' }),
      (e: unknown) => e instanceof AegisInputError && /apt-get install dataset-fashion-mnist/.test(e.message),
    );
  });
});

describe('loadIdxImageDataset', () => {
  it('rejects image and label files whose counts differ', () => {
    const images = join(dir, 'a-images-idx3-ubyte');
    const labels = join(dir, 'a-labels-idx1-ubyte');
    writeIdx(images, { dtype: 'uint8', shape: [3, 2, 2], data: new Uint8Array(12) });
    writeIdx(labels, { dtype: 'uint8', shape: [2], data: Uint8Array.from([0, 1]) });
    assert.throws(
      () => loadIdxImageDataset(images, labels, { name: 'a', classNames: ['p', 'q'] }),
      (e: unknown) => e instanceof AegisInputError && /has 3 images but .* has 2 labels/.test(e.message),
    );
  });

  it('rejects labels beyond the class names', () => {
    const images = join(dir, 'b-images-idx3-ubyte');
    const labels = join(dir, 'b-labels-idx1-ubyte');
    writeIdx(images, { dtype: 'uint8', shape: [2, 2, 2], data: new Uint8Array(8).fill(255) });
    writeIdx(labels, { dtype: 'uint8', shape: [2], data: Uint8Array.from([0, 5]) });
    assert.throws(
      () => loadIdxImageDataset(images, labels, { name: 'b', classNames: ['p', 'q'] }),
      (e: unknown) => e instanceof AegisInputError && /label 5 of example 1 is outside \[0, 1\]/.test(e.message),
    );
  });

  it('reads 4-D images as NHWC and scales ubyte by 1/255', () => {
    const images = join(dir, 'c-images-idx3-ubyte.gz');
    const labels = join(dir, 'c-labels-idx1-ubyte.gz');
    writeIdx(images, { dtype: 'uint8', shape: [1, 1, 2, 3], data: Uint8Array.from([0, 51, 102, 153, 204, 255]) });
    writeIdx(labels, { dtype: 'uint8', shape: [1], data: Uint8Array.from([1]) });
    assert.ok(existsSync(images));
    const data = loadIdxImageDataset(images, labels, { name: 'c', classNames: ['p', 'q'] });
    assert.deepEqual(data.shape, [1, 1, 2, 3]);
    assert.deepEqual(
      Array.from(data.x),
      [0, 0.2, 0.4, 0.6, 0.8, 1].map((v) => Math.fround(v)),
    );
    assert.deepEqual(Array.from(data.y), [1]);
  });
});
