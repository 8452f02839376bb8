import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ssim } from '../../../src/attacks/inversion/ssim.js';
import { Rng } from '../../../src/core/rng.js';

/** 16×16 test images defined by formulas (the same ones the NumPy cross-check used). */
function images(): { x: Float32Array; y: Float32Array; z: Float32Array } {
  const x = new Float32Array(256);
  const y = new Float32Array(256);
  const z = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const xv = ((i * 7 + j * 3) % 16) / 15;
      x[i * 16 + j] = xv;
      y[i * 16 + j] = ((i * 5 + j * 11) % 16) / 15;
      z[i * 16 + j] = Math.min(1, Math.max(0, xv * 0.8 + 0.1 + 0.05 * Math.sin(i * j)));
    }
  }
  return { x, y, z };
}

function noisy(x: Float32Array, sd: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return x.map((v) => Math.min(1, Math.max(0, v + sd * rng.normal())));
}

describe('SSIM (Wang et al. 2004)', () => {
  test('SSIM(x, x) = 1 for both windows', () => {
    const { x } = images();
    assert.ok(Math.abs(ssim(x, x, 16, 16) - 1) < 1e-12);
    assert.ok(Math.abs(ssim(x, x, 16, 16, { window: 'uniform' }) - 1) < 1e-12);
  });

  test('decreases as noise grows', () => {
    const { x } = images();
    const values = [0.02, 0.1, 0.3].map((sd) => ssim(x, noisy(x, sd, 1), 16, 16));
    assert.ok(values[0]! < 1 && values[0]! > values[1]! && values[1]! > values[2]!, `${values}`);
  });

  test('symmetric', () => {
    const { x, y, z } = images();
    assert.equal(ssim(x, y, 16, 16), ssim(y, x, 16, 16));
    assert.ok(Math.abs(ssim(x, z, 16, 16, { window: 'uniform' }) - ssim(z, x, 16, 16, { window: 'uniform' })) < 1e-15);
  });

  test('hand-computed 3×3 case with one uniform window', () => {
    // x: columns 0, 0.5, 1; y: the same values with the middle row reversed.
    // μx = μy = 0.5, σx² = σy² = 3.75/9 − 0.25 = 1/6, σxy = 2.75/9 − 0.25 = 1/18, C1 = 1e-4, C2 = 9e-4:
    // SSIM = (0.5 + C1)(1/9 + C2) / ((0.5 + C1)(1/3 + C2)) = 0.1120111 / 0.3342333 = 0.335129.
    const x = [0, 0.5, 1, 0, 0.5, 1, 0, 0.5, 1];
    const y = [0, 0.5, 1, 1, 0.5, 0, 0, 0.5, 1];
    assert.ok(Math.abs(ssim(x, y, 3, 3, { window: 'uniform', size: 3 }) - 0.335129) < 1e-6);
  });

  test('matches an independent NumPy/SciPy implementation (11×11 Gaussian σ=1.5, valid; 7×7 uniform)', () => {
    const { x, y, z } = images();
    assert.ok(Math.abs(ssim(x, y, 16, 16) - 0.045202658111494716) < 1e-6);
    assert.ok(Math.abs(ssim(x, z, 16, 16) - 0.9686529650105238) < 1e-6);
    assert.ok(Math.abs(ssim(x, z, 16, 16, { window: 'uniform' }) - 0.9685747783040921) < 1e-6);
  });

  test('channels average; bad sizes are input errors', () => {
    const { x, z } = images();
    const hwc = new Float32Array(512);
    const hwc2 = new Float32Array(512);
    for (let i = 0; i < 256; i++) {
      hwc[2 * i] = x[i]!;
      hwc[2 * i + 1] = x[i]!;
      hwc2[2 * i] = x[i]!;
      hwc2[2 * i + 1] = z[i]!;
    }
    assert.ok(Math.abs(ssim(hwc, hwc2, 16, 16, { channels: 2 }) - (1 + ssim(x, z, 16, 16)) / 2) < 1e-12);
    assert.throws(() => ssim(x, z, 8, 8), /must have 8×8×1 = 64 values, got 256 and 256/);
    assert.throws(() => ssim(x.subarray(0, 64), z.subarray(0, 64), 8, 8), /11×11 window does not fit 8×8/);
  });
});
