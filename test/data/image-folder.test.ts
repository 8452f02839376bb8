import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { downscaleImage, loadImageFolderDataset } from '../../src/data/image-folder.js';
import { detectDatasetFormat, loadDataset } from '../../src/data/load-dataset.js';
import { writePgm } from '../../src/data/pgm.js';

let root: string;

/** Subject k's image m: every pixel equals 10·k + m (so class and file are readable from the values). */
function writeSubjects(dir: string, subjects: number, perSubject: number, width = 4, height = 6): void {
  for (let k = 1; k <= subjects; k++) {
    mkdirSync(join(dir, `s${k}`), { recursive: true });
    for (let m = 1; m <= perSubject; m++) {
      const data = new Uint16Array(width * height).fill(10 * k + m);
      writePgm(join(dir, `s${k}`, `${m}.pgm`), { width, height, maxval: 255, data });
    }
  }
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'aegis-imgfolder-'));
  writeSubjects(join(root, 'faces'), 11, 10);
});

describe('image-folder dataset loader', () => {
  test('classes in natural order (s1, s2, …, s10, s11), files likewise, NHWC in [0, 1]', () => {
    const data = loadImageFolderDataset(join(root, 'faces'));
    assert.deepEqual(data.classNames, ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11']);
    assert.deepEqual(data.shape, [110, 6, 4, 1]);
    assert.equal(data.name, 'faces');
    // Example 9·10 + 9 is s10/10.pgm (file 10 after 9 in natural order): value 110/255.
    const per = 24;
    for (const [i, k, m] of [
      [0, 1, 1],
      [1, 1, 2],
      [9, 1, 10],
      [99, 10, 10],
      [100, 11, 1],
    ] as const) {
      assert.equal(data.y[i], k - 1);
      assert.ok(Math.abs((data.x[i * per] as number) - (10 * k + m) / 255) < 1e-6, `example ${i}`);
    }
  });

  test('limit keeps the first images; downscale averages blocks', () => {
    const data = loadImageFolderDataset(join(root, 'faces'), { limit: 15, downscale: 2, name: 'att' });
    assert.equal(data.name, 'att');
    assert.deepEqual(data.shape, [15, 3, 2, 1]);
    assert.deepEqual(Array.from(data.y), [...new Array(10).fill(0), ...new Array(5).fill(1)]);
    const img = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]); // 3 rows × 4 columns
    assert.deepEqual(Array.from(downscaleImage(img, 3, 4, 2)), [(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4]);
  });

  test('loadDataset detects the folder format and passes downscale', async () => {
    assert.equal(detectDatasetFormat(join(root, 'faces')), 'image-folder');
    const data = await loadDataset(join(root, 'faces'), { downscale: 3 });
    assert.deepEqual(data.shape, [110, 2, 1, 1]);
    assert.equal(data.classNames[9], 's10');
  });

  test('bad folders: mixed sizes, no images, a truncated image, bad downscale', () => {
    const mixed = join(root, 'mixed');
    writeSubjects(mixed, 2, 1);
    writePgm(join(mixed, 's2', '2.pgm'), { width: 5, height: 6, maxval: 255, data: new Uint16Array(30) });
    assert.throws(() => loadImageFolderDataset(mixed), /s2\/2\.pgm: image is 5×6 but .*s1\/1\.pgm is 4×6/);
    const empty = join(root, 'empty');
    mkdirSync(join(empty, 'a'), { recursive: true });
    assert.throws(() => loadImageFolderDataset(empty), /has no subfolders with \.pgm images/);
    const cut = join(root, 'cut');
    writeSubjects(cut, 1, 1);
    writeFileSync(join(cut, 's1', '2.pgm'), 'P5\n4 6\n255\n\x01\x02');
    assert.throws(() => loadImageFolderDataset(cut), /s1\/2\.pgm: truncated PGM file/);
    assert.throws(
      () => loadImageFolderDataset(join(root, 'faces'), { downscale: 1.5 }),
      /downscale must be a positive whole number/,
    );
    assert.throws(
      () => loadImageFolderDataset(join(root, 'faces'), { downscale: 7 }),
      /downscale 7 is larger than the 4×6 images/,
    );
  });
});
