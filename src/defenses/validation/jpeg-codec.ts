/**
 * The lossy half of a baseline JPEG codec on raw pixels: encode to quantised DCT coefficients
 * and decode straight back (the entropy coding in between is lossless, so it is left out).
 * A plain JavaScript kernel, one pass per 8×8 block with separable DCTs in float64: far cheaper
 * on the wasm backend than the same steps as a few dozen whole-tensor ops.
 */
import {
  CHROMINANCE_TABLE,
  dctMatrix,
  LUMINANCE_TABLE,
  RGB_TO_YCBCR,
  scaleQuantTable,
  YCBCR_TO_RGB,
} from './jpeg-tables.js';

/** Rounds half away from zero, as libjpeg's quantiser and sample conversion (Math.round rounds half up). */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.floor(-v + 0.5) : Math.floor(v + 0.5);
}

/** An 8-bit sample: rounded and clamped to [0, 255]. */
function sample(v: number): number {
  return Math.min(255, Math.max(0, roundHalfAway(v)));
}

/** DCT, quantisation with `table` and inverse DCT of one 8×8 block in place (row-major). */
function quantizeBlock(block: Float64Array, table: Float32Array, a: Float64Array, tmp: Float64Array): void {
  // Forward: tmp = A · block, block = tmp · Aᵀ (coefficients [u][v]).
  for (let u = 0; u < 8; u++) {
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let y = 0; y < 8; y++) s += (a[u * 8 + y] as number) * (block[y * 8 + x] as number);
      tmp[u * 8 + x] = s;
    }
  }
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let x = 0; x < 8; x++) s += (tmp[u * 8 + x] as number) * (a[v * 8 + x] as number);
      const q = table[u * 8 + v] as number;
      block[u * 8 + v] = roundHalfAway(s / q) * q;
    }
  }
  // Inverse: tmp = Aᵀ · coefficients, block = tmp · A.
  for (let y = 0; y < 8; y++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let u = 0; u < 8; u++) s += (a[u * 8 + y] as number) * (block[u * 8 + v] as number);
      tmp[y * 8 + v] = s;
    }
  }
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      let s = 0;
      for (let v = 0; v < 8; v++) s += (tmp[y * 8 + v] as number) * (a[v * 8 + x] as number);
      block[y * 8 + x] = s;
    }
  }
}

/**
 * JPEG round trip of NHWC images (`shape` [n, h, w, c], c = 1 or 3) with values in [0, 1]
 * (clipped), returned in [0, 1] as 8-bit levels. Per image: 8-bit samples (RGB → YCbCr as JFIF,
 * 4:4:4), level shift −128, 8×8 blocks with the last row and column repeated into partial
 * blocks (libjpeg), DCT, quantisation with the Annex K tables scaled for `quality` (luminance
 * for Y, chrominance for Cb and Cr), inverse DCT, 8-bit samples, YCbCr → RGB.
 */
export function jpegRoundTrip(x: ArrayLike<number>, shape: readonly number[], quality: number): Float32Array {
  const [n = 0, h = 0, w = 0, c = 1] = shape;
  const bh = Math.ceil(h / 8);
  const bw = Math.ceil(w / 8);
  const ph = bh * 8;
  const pw = bw * 8;
  const tables = [scaleQuantTable(LUMINANCE_TABLE, quality), scaleQuantTable(CHROMINANCE_TABLE, quality)];
  const a = dctMatrix();
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  const planes = Array.from({ length: c }, () => new Float64Array(ph * pw));
  const out = new Float32Array(n * h * w * c);
  const m = RGB_TO_YCBCR;
  const inv = YCBCR_TO_RGB;

  for (let b = 0; b < n; b++) {
    const image = b * h * w * c;
    // Encoder input: 8-bit samples, level-shifted, edge-replicated into the padded planes.
    for (let i = 0; i < ph; i++) {
      for (let j = 0; j < pw; j++) {
        const p = image + (Math.min(i, h - 1) * w + Math.min(j, w - 1)) * c;
        const o = i * pw + j;
        if (c === 1) {
          (planes[0] as Float64Array)[o] = sample(255 * Math.min(1, Math.max(0, x[p] as number))) - 128;
          continue;
        }
        const r = 255 * Math.min(1, Math.max(0, x[p] as number));
        const g = 255 * Math.min(1, Math.max(0, x[p + 1] as number));
        const bl = 255 * Math.min(1, Math.max(0, x[p + 2] as number));
        for (let k = 0; k < 3; k++) {
          const centre = k === 0 ? 0 : 128;
          const v = (m[k * 3] as number) * r + (m[k * 3 + 1] as number) * g + (m[k * 3 + 2] as number) * bl + centre;
          (planes[k] as Float64Array)[o] = sample(v) - 128;
        }
      }
    }
    for (let k = 0; k < c; k++) {
      const plane = planes[k] as Float64Array;
      const table = tables[k === 0 ? 0 : 1] as Float32Array;
      for (let by = 0; by < bh; by++) {
        for (let bx = 0; bx < bw; bx++) {
          for (let y = 0; y < 8; y++)
            for (let xx = 0; xx < 8; xx++) block[y * 8 + xx] = plane[(by * 8 + y) * pw + bx * 8 + xx] as number;
          quantizeBlock(block, table, a, tmp);
          for (let y = 0; y < 8; y++)
            for (let xx = 0; xx < 8; xx++) plane[(by * 8 + y) * pw + bx * 8 + xx] = block[y * 8 + xx] as number;
        }
      }
    }
    // Decoder output: 8-bit samples, then RGB.
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const o = i * pw + j;
        const p = image + (i * w + j) * c;
        if (c === 1) {
          out[p] = sample(((planes[0] as Float64Array)[o] as number) + 128) / 255;
          continue;
        }
        const y = sample(((planes[0] as Float64Array)[o] as number) + 128);
        const cb = sample(((planes[1] as Float64Array)[o] as number) + 128) - 128;
        const cr = sample(((planes[2] as Float64Array)[o] as number) + 128) - 128;
        for (let k = 0; k < 3; k++) {
          out[p + k] =
            sample((inv[k * 3] as number) * y + (inv[k * 3 + 1] as number) * cb + (inv[k * 3 + 2] as number) * cr) /
            255;
        }
      }
    }
  }
  return out;
}
