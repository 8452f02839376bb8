/**
 * Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004, "Image quality assessment: from
 * error visibility to structural similarity", IEEE TIP 13(4)), as in the authors' reference
 * implementation: an 11×11 Gaussian window with σ = 1.5, statistics over the 'valid' positions
 * only (no padding), population (1/N-weighted) variances, C1 = (0.01·L)², C2 = (0.03·L)², and
 * the mean of the SSIM map. L is the dynamic range: 1 for images in [0, 1] (the same as the
 * 8-bit constants with L = 255 on 0…255 pixels). `window: 'uniform'` with `size: 7` gives the
 * common 7×7 box-window variant (scikit-image's default, but here with population variances).
 */
import { AegisInputError } from '../../core/errors.js';

export interface SsimOptions {
  /** 'gaussian' (default, Wang et al.) or 'uniform' (box). */
  window?: 'gaussian' | 'uniform';
  /** Window side (odd or even); default 11 for gaussian, 7 for uniform. */
  size?: number;
  /** Gaussian σ; default 1.5. */
  sigma?: number;
  /** L, the value range of the pixels; default 1. */
  dynamicRange?: number;
}

/** 1-D window weights summing to 1 (the 2-D window is their outer product). */
function windowWeights(opts: SsimOptions): Float64Array {
  const kind = opts.window ?? 'gaussian';
  const size = opts.size ?? (kind === 'gaussian' ? 11 : 7);
  if (!Number.isInteger(size) || size < 1)
    throw new AegisInputError(`SSIM window size must be a positive integer, got ${size}`);
  const w = new Float64Array(size);
  if (kind === 'uniform') return w.fill(1 / size);
  const sigma = opts.sigma ?? 1.5;
  const centre = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) {
    w[i] = Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma));
    sum += w[i] as number;
  }
  for (let i = 0; i < size; i++) w[i] = (w[i] as number) / sum;
  return w;
}

/** Separable 'valid' filtering of a [height, width] map. */
function filterValid(map: Float64Array, height: number, width: number, w: Float64Array): Float64Array {
  const k = w.length;
  const oh = height - k + 1;
  const ow = width - k + 1;
  const rows = new Float64Array(height * ow);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < ow; c++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += (w[j] as number) * (map[r * width + c + j] as number);
      rows[r * ow + c] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += (w[j] as number) * (rows[(r + j) * ow + c] as number);
      out[r * ow + c] = s;
    }
  }
  return out;
}

/**
 * Mean SSIM of two single-channel images of `height`×`width` pixels (row-major). Images with
 * several channels (HWC) pass `channels`; the result is the mean over channels.
 */
export function ssim(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  height: number,
  width: number,
  opts: SsimOptions & { channels?: number } = {},
): number {
  const channels = opts.channels ?? 1;
  const n = height * width * channels;
  if (a.length !== n || b.length !== n) {
    throw new AegisInputError(
      `SSIM: images must have ${height}×${width}×${channels} = ${n} values, got ${a.length} and ${b.length}`,
    );
  }
  const w = windowWeights(opts);
  if (w.length > height || w.length > width) {
    throw new AegisInputError(`SSIM: the ${w.length}×${w.length} window does not fit ${height}×${width} images`);
  }
  const L = opts.dynamicRange ?? 1;
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  const hw = height * width;
  let total = 0;
  for (let ch = 0; ch < channels; ch++) {
    const x = new Float64Array(hw);
    const y = new Float64Array(hw);
    for (let i = 0; i < hw; i++) {
      x[i] = a[i * channels + ch] as number;
      y[i] = b[i * channels + ch] as number;
    }
    const prod = (p: Float64Array, q: Float64Array) => p.map((v, i) => v * (q[i] as number));
    const mx = filterValid(x, height, width, w);
    const my = filterValid(y, height, width, w);
    const mxx = filterValid(prod(x, x), height, width, w);
    const myy = filterValid(prod(y, y), height, width, w);
    const mxy = filterValid(prod(x, y), height, width, w);
    let sum = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i] as number;
      const uy = my[i] as number;
      const vx = (mxx[i] as number) - ux * ux;
      const vy = (myy[i] as number) - uy * uy;
      const cov = (mxy[i] as number) - ux * uy;
      sum += ((2 * ux * uy + c1) * (2 * cov + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    total += sum / mx.length;
  }
  return total / channels;
}
