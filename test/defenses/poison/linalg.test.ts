import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { fastIca } from '../../../src/defenses/poison/fast-ica.js';
import { kMeans, meanSilhouette } from '../../../src/defenses/poison/kmeans.js';
import { centredRows, covariance, symmetricEigen, topEigen } from '../../../src/defenses/poison/linalg.js';

/** max_k ‖A v_k − λ_k v_k‖∞ over the returned pairs. */
function residual(a: Float64Array, dim: number, values: Float64Array, vectors: Float64Array): number {
  let worst = 0;
  for (let k = 0; k < values.length; k++) {
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (a[i * dim + j] as number) * (vectors[k * dim + j] as number);
      worst = Math.max(worst, Math.abs(s - (values[k] as number) * (vectors[k * dim + i] as number)));
    }
  }
  return worst;
}

function randomGram(dim: number, rng: Rng): Float64Array {
  const b = Float64Array.from({ length: dim * dim }, () => rng.normal());
  const a = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (b[i * dim + k] as number) * (b[j * dim + k] as number);
      a[i * dim + j] = s;
    }
  }
  return a;
}

describe('poison linalg', () => {
  it('Jacobi gives the eigenpairs of a hand matrix, descending', () => {
    // [[2, 1], [1, 2]]: eigenvalues 3 (1, 1)/√2 and 1 (1, −1)/√2.
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    assert.ok(Math.abs((values[0] as number) - 3) < 1e-12 && Math.abs((values[1] as number) - 1) < 1e-12);
    assert.ok(Math.abs(Math.abs(vectors[0] as number) - Math.SQRT1_2) < 1e-12);
    assert.ok(Math.abs((vectors[0] as number) - (vectors[1] as number)) < 1e-12);
  });

  it('subspace iteration finds the top eigenpairs of a 110x110 matrix', () => {
    const rng = new Rng(3);
    const a = randomGram(110, rng);
    const top = topEigen(a, 110, 5, rng);
    const exact = symmetricEigen(a, 110);
    for (let k = 0; k < 5; k++) assert.ok(Math.abs((top.values[k] as number) - (exact.values[k] as number)) < 1e-6);
    assert.ok(residual(a, 110, top.values, top.vectors) < 1e-6);
  });

  it('covariance of centred rows matches the definition', () => {
    const features = Float32Array.from([1, 2, 3, 6, 5, 10]); // rows (1,2), (3,6), (5,10)
    const c = centredRows(features, 2, Int32Array.from([0, 1, 2]));
    assert.deepEqual(Array.from(c), [-2, -4, 0, 0, 2, 4]);
    assert.deepEqual(Array.from(covariance(c, 3, 2)), [8 / 3, 16 / 3, 16 / 3, 32 / 3]);
  });

  it('FastICA unmixes two independent uniform sources', () => {
    const rng = new Rng(11);
    const m = 2000;
    const s1 = Float64Array.from({ length: m }, () => rng.uniform(-1, 1));
    const s2 = Float64Array.from({ length: m }, () => (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.5, 1));
    const x = new Float32Array(m * 2);
    for (let i = 0; i < m; i++) {
      x[2 * i] = (s1[i] as number) + 0.6 * (s2[i] as number);
      x[2 * i + 1] = 0.4 * (s1[i] as number) + (s2[i] as number);
    }
    const rows = Int32Array.from({ length: m }, (_, i) => i);
    const ica = fastIca(x, 2, rows, { components: 2 }, new Rng(0));
    assert.equal(ica.components, 2);
    assert.ok(ica.converged);
    const corr = (a: ArrayLike<number>, b: (i: number) => number) => {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < m; i++) {
        ab += (a[i] as number) * b(i);
        aa += (a[i] as number) ** 2;
        bb += b(i) ** 2;
      }
      return Math.abs(ab) / Math.sqrt(aa * bb);
    };
    const source = (c: number) => (i: number) => ica.sources[i * 2 + c] as number;
    const best = Math.max(corr(s1, source(0)) * corr(s2, source(1)), corr(s1, source(1)) * corr(s2, source(0)));
    assert.ok(best > 0.97 * 0.97, `unmixing correlation product ${best}`);
  });

  it('2-means splits two blobs and the silhouette reflects their separation', () => {
    const rng = new Rng(4);
    const m = 300;
    const pts = new Float64Array(m * 2);
    for (let i = 0; i < m; i++) {
      const far = i < 60 ? 8 : 0;
      pts[2 * i] = far + rng.normal();
      pts[2 * i + 1] = rng.normal();
    }
    const km = kMeans(pts, m, 2, 2, new Rng(1));
    const small = (km.sizes[0] as number) < (km.sizes[1] as number) ? 0 : 1;
    assert.equal(km.sizes[small], 60);
    for (let i = 0; i < 60; i++) assert.equal(km.assignment[i], small);
    const separated = meanSilhouette(pts, m, 2, km.assignment, 2, new Rng(2));
    assert.ok(separated > 0.6, `silhouette ${separated}`);
    // One Gaussian blob split in two fits far worse.
    const blob = Float64Array.from({ length: m * 2 }, () => rng.normal());
    const split = kMeans(blob, m, 2, 2, new Rng(1));
    const s = meanSilhouette(blob, m, 2, split.assignment, 2, new Rng(2));
    assert.ok(s < 0.45 && s < separated - 0.2, `blob silhouette ${s}`);
  });

  it('silhouette: exact on a hand example', () => {
    // Points 0, 1 in cluster 0 and 4 in cluster 1: s(0) = (4 − 1)/4, s(1) = (3 − 1)/3, s(4) = 0 (singleton).
    const pts = Float64Array.from([0, 1, 4]);
    const s = meanSilhouette(pts, 3, 1, Int32Array.from([0, 0, 1]), 2, new Rng(0));
    assert.ok(Math.abs(s - (3 / 4 + 2 / 3) / 3) < 1e-12);
  });
});
