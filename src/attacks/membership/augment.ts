/**
 * Image augmentations for membership queries: a horizontal flip and small pixel shifts (zero
 * padding, the background of Fashion-MNIST). LiRA (Carlini et al. 2022) and the label-only attack
 * (Choquette-Choo et al. 2021) query the model on such copies, because a model is more confident
 * on augmented copies of its own training records too. Works on NHWC rows in a flat array.
 */
import { AegisInputError } from '../../core/errors.js';

export interface Augmentation {
  flip: boolean;
  /** Shift right (dx > 0) and down (dy > 0), in pixels. */
  dx: number;
  dy: number;
}

export const IDENTITY: Augmentation = { flip: false, dx: 0, dy: 0 };

/** Identity and flip, each unshifted and shifted by `radius` pixels along each axis (LiRA's queries). */
export function liraAugmentations(radius = 1): Augmentation[] {
  const shifts = [
    [0, 0],
    [radius, 0],
    [-radius, 0],
    [0, radius],
    [0, -radius],
  ];
  return [false, true].flatMap((flip) => shifts.map(([dx, dy]) => ({ flip, dx: dx as number, dy: dy as number })));
}

/** Identity and flip with every shift in [−radius, radius]² (the label-only attack's grid). */
export function shiftGrid(radius: number): Augmentation[] {
  const out: Augmentation[] = [];
  for (const flip of [false, true]) {
    for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) out.push({ flip, dx, dy });
  }
  return out;
}

/** True when examples of this shape are images [h, w, c] the augmentations apply to. */
export function isImageShape(shape: number[]): boolean {
  return shape.length === 3 && (shape[0] as number) > 1 && (shape[1] as number) > 1;
}

/** Augmented copies of every row of x ([n, h, w, c] flattened); output has the same layout. */
export function augmentImages(x: Float32Array, shape: number[], aug: Augmentation): Float32Array {
  if (!isImageShape(shape)) throw new AegisInputError(`image augmentations need examples [h, w, c], got [${shape}]`);
  const [h, w, c] = shape as [number, number, number];
  const per = h * w * c;
  const n = x.length / per;
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i++) {
    const base = i * per;
    for (let row = 0; row < h; row++) {
      const srcRow = row - aug.dy;
      if (srcRow < 0 || srcRow >= h) continue;
      for (let col = 0; col < w; col++) {
        let srcCol = col - aug.dx;
        if (srcCol < 0 || srcCol >= w) continue;
        if (aug.flip) srcCol = w - 1 - srcCol;
        const dst = base + (row * w + col) * c;
        const src = base + (srcRow * w + srcCol) * c;
        for (let ch = 0; ch < c; ch++) out[dst + ch] = x[src + ch] as number;
      }
    }
  }
  return out;
}
