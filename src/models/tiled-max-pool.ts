/**
 * Max pooling over non-overlapping windows (kernel = stride, no padding) with a gradient
 * written as a few elementwise ops. tfjs 4.22's wasm MaxPoolGrad kernel is the slowest step
 * of a CNN's input gradient (about 2x the cost of this route at batch 100) and drops the
 * gradient of every window whose maximum is negative; the cpu backend and this route agree.
 * The forward pass is the stock XNNPACK max pool.
 */
import { tf } from '../core/runtime.js';

/**
 * tf.maxPool(x, kernel, kernel, 'valid') for NHWC x. Where several inputs of a window tie
 * for the maximum, the gradient is shared equally among them (a valid subgradient; the
 * stock kernel gives it all to one of them).
 */
export function tiledMaxPool(x: tf.Tensor4D, kernel: [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [kh, kw] = kernel;
  const usedH = Math.floor(h / kh) * kh;
  const usedW = Math.floor(w / kw) * kw;
  const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const y = tf.maxPool(input, kernel, kernel, 'valid');
    save([input, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, [xs, ys]: tf.Tensor[]) => {
        // Copy each window's value to its inputs (nearest-neighbour resize by an integer factor).
        // Rows/columns that 'valid' pooling leaves out get zeros (padding is fast on wasm, slicing
        // is not); whatever the mask says there, their gradient is zero times it.
        const up = (t: tf.Tensor) => {
          const r = tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [usedH, usedW]);
          if (usedH === h && usedW === w) return r;
          const pads: [number, number][] = [
            [0, 0],
            [0, h - usedH],
            [0, w - usedW],
            [0, 0],
          ];
          return tf.pad(r, pads);
        };
        const isMax = tf.cast(tf.equal(xs, up(ys)), 'float32');
        const ties = tf.mul(tf.avgPool(isMax as tf.Tensor4D, kernel, kernel, 'valid'), kh * kw);
        return tf.mul(isMax, up(tf.div(dy, ties)));
      },
    };
  });
  return pool(x) as tf.Tensor4D;
}
