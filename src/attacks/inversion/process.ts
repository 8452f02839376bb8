/**
 * MI-Face's optional PROCESS step (Fredrikson, Jha & Ristenpart, CCS 2015, §5.2: denoising and
 * sharpening between descent steps improved reconstructions from the MLP and DAE models). Here:
 * a 3×3 median filter (denoise; edges replicate) followed by an unsharp mask with a 3×3 binomial
 * blur (sharpen: x + amount·(x − blur(x))). Works per channel on HWC images; pure functions.
 */

/** Pixel (r, c, ch) with edges replicated. */
function at(x: Float32Array, h: number, w: number, ch: number, channels: number, r: number, c: number): number {
  const rr = r < 0 ? 0 : r >= h ? h - 1 : r;
  const cc = c < 0 ? 0 : c >= w ? w - 1 : c;
  return x[(rr * w + cc) * channels + ch] as number;
}

/** 3×3 median filter. */
export function medianFilter3(x: Float32Array, h: number, w: number, channels = 1): Float32Array {
  const out = new Float32Array(x.length);
  const win = new Float64Array(9);
  for (let ch = 0; ch < channels; ch++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let k = 0;
        for (let dr = -1; dr <= 1; dr++)
          for (let dc = -1; dc <= 1; dc++) win[k++] = at(x, h, w, ch, channels, r + dr, c + dc);
        win.sort();
        out[(r * w + c) * channels + ch] = win[4] as number;
      }
    }
  }
  return out;
}

const BINOMIAL = [0.25, 0.5, 0.25];

/** 3×3 binomial (≈ Gaussian σ≈0.7) blur. */
export function blur3(x: Float32Array, h: number, w: number, channels = 1): Float32Array {
  const out = new Float32Array(x.length);
  for (let ch = 0; ch < channels; ch++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let s = 0;
        for (let dr = -1; dr <= 1; dr++) {
          for (let dc = -1; dc <= 1; dc++) {
            s +=
              (BINOMIAL[dr + 1] as number) * (BINOMIAL[dc + 1] as number) * at(x, h, w, ch, channels, r + dr, c + dc);
          }
        }
        out[(r * w + c) * channels + ch] = s;
      }
    }
  }
  return out;
}

/** Unsharp mask: x + amount·(x − blur(x)). */
export function sharpen(x: Float32Array, h: number, w: number, channels = 1, amount = 0.5): Float32Array {
  const blurred = blur3(x, h, w, channels);
  return x.map((v, i) => v + amount * (v - (blurred[i] as number)));
}

/** Denoise then sharpen: the PROCESS step used between MI-Face iterations when enabled. */
export function denoiseSharpen(x: Float32Array, h: number, w: number, channels = 1, amount = 0.5): Float32Array {
  return sharpen(medianFilter3(x, h, w, channels), h, w, channels, amount);
}
