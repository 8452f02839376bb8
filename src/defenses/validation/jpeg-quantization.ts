// Das et al. 2017, "Keeping the Bad Guys Out: Protecting and Vaccinating Deep Learning with JPEG Compression", arXiv:1705.02900; Dziugaite, Ghahramani & Roy 2016, "A study of the effect of JPG compression on adversarial images", arXiv:1608.00853.
/**
 * JPEG-style quantisation: the lossy part of a baseline JPEG round trip, without entropy coding
 * (which is lossless and changes nothing). Per image: scale to 8-bit samples (RGB → YCbCr as
 * JFIF, 4:4:4 — no chroma subsampling; grayscale as one plane), shift by −128, pad to whole 8×8
 * blocks by repeating the last row and column (as libjpeg), 2-D DCT per block, divide by the
 * Annex K table scaled for `quality` (luminance for Y, chrominance for Cb and Cr), round (half
 * away from zero, as libjpeg), multiply back, inverse DCT, then decode to 8-bit samples and back
 * to the model's input range. Quality 100 is close to the identity (8-bit rounding and a little
 * DCT rounding); lower quality drops high frequencies, where small adversarial noise lives.
 *
 * Not differentiable (rounding): the wrapped model grants at most 'scores' unless BPDA is asked
 * for (see sanitized-model.ts).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Model } from '../../models/model.js';
import type { Defense } from '../defense.js';
import { boolParam, intParam } from './defense-params.js';
import {
  CHROMINANCE_TABLE,
  dct2dMatrix,
  LUMINANCE_TABLE,
  RGB_TO_YCBCR,
  scaleQuantTable,
  YCBCR_TO_RGB,
} from './jpeg-tables.js';
import { SanitizedModel, type Sanitizer } from './sanitized-model.js';

export const DEFAULT_JPEG_QUALITY = 75;

/** Rounds half away from zero (libjpeg's quantiser and sample rounding; tf.round rounds half to even). */
function roundHalfAway(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.sign(x), tf.floor(tf.add(tf.abs(x), 0.5)));
}

/** 8-bit samples: rounded and clamped to [0, 255]. */
function toSamples(x: tf.Tensor): tf.Tensor {
  return tf.clipByValue(roundHalfAway(x), 0, 255);
}

/** Multiplies the channel axis of [n, h, w, 3] by a 3×3 matrix (rows = output channels). */
function mixChannels(x: tf.Tensor, matrix: readonly number[]): tf.Tensor {
  const m = tf.tensor2d(matrix as number[], [3, 3]);
  return tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), m, false, true), x.shape);
}

/** Pads axis 1 and 2 of NHWC up to multiples of 8 by repeating the last row and column. */
function padToBlocks(x: tf.Tensor): tf.Tensor {
  let out = x;
  for (const axis of [1, 2]) {
    const size = out.shape[axis] as number;
    const extra = (8 - (size % 8)) % 8;
    if (extra === 0) continue;
    const begin = out.shape.map(() => 0);
    const sizes = out.shape.map(() => -1);
    begin[axis] = size - 1;
    sizes[axis] = 1;
    const reps = out.shape.map(() => 1);
    reps[axis] = extra;
    out = tf.concat([out, tf.tile(tf.slice(out, begin, sizes), reps)], axis);
  }
  return out;
}

/** Quantises the 8×8 DCT of every block of every plane of [n, H, W, c] (H, W multiples of 8) with per-plane tables [c, 64]. */
function quantizeBlocks(planes: tf.Tensor, tables: tf.Tensor2D): tf.Tensor {
  const [n, h, w, c] = planes.shape as [number, number, number, number];
  const k = tf.tensor2d(dct2dMatrix(), [64, 64]);
  const blocks = tf.reshape(tf.transpose(tf.reshape(planes, [n, h / 8, 8, w / 8, 8, c]), [0, 1, 3, 5, 2, 4]), [-1, 64]);
  const coefficients = tf.reshape(tf.matMul(blocks, k, false, true), [-1, c, 64]);
  const quantized = tf.mul(roundHalfAway(tf.div(coefficients, tables)), tables);
  const restored = tf.matMul(tf.reshape(quantized, [-1, 64]), k);
  return tf.reshape(tf.transpose(tf.reshape(restored, [n, h / 8, w / 8, c, 8, 8]), [0, 1, 4, 2, 5, 3]), [n, h, w, c]);
}

function checkQuality(quality: number): void {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new AegisInputError(`JPEG quantisation: quality must be an integer in [1, 100], got ${quality}`);
  }
}

/**
 * JPEG round trip (without entropy coding) of NHWC images with 1 (grayscale) or 3 (RGB)
 * channels in `range` (allocates; call in tf.tidy or dispose).
 */
export function jpegQuantize(x: tf.Tensor, quality: number, range: [number, number] = [0, 1]): tf.Tensor {
  checkQuality(quality);
  const channels = x.shape[3];
  if (x.rank !== 4 || (channels !== 1 && channels !== 3)) {
    throw new AegisInputError(`JPEG quantisation needs NHWC images with 1 or 3 channels, got shape [${x.shape}]`);
  }
  const [n, h, w] = x.shape as [number, number, number, number];
  const [lo, hi] = range;
  const luminance = scaleQuantTable(LUMINANCE_TABLE, quality);
  const chrominance = scaleQuantTable(CHROMINANCE_TABLE, quality);
  return tf.tidy(() => {
    const pixels = tf.mul(tf.clipByValue(tf.div(tf.sub(x, lo), hi - lo), 0, 1), 255);
    const centre = tf.tensor1d(channels === 3 ? [0, 128, 128] : [0]);
    const ycc = channels === 3 ? tf.add(mixChannels(pixels, RGB_TO_YCBCR), centre) : pixels;
    const shifted = tf.sub(toSamples(ycc), 128);
    const tables =
      channels === 3
        ? tf.tensor2d([...luminance, ...chrominance, ...chrominance], [3, 64])
        : tf.tensor2d(luminance, [1, 64]);
    const decoded = quantizeBlocks(padToBlocks(shifted), tables);
    const samples = toSamples(tf.add(tf.slice(decoded, [0, 0, 0, 0], [n, h, w, channels]), 128));
    const rgb = channels === 3 ? toSamples(mixChannels(tf.sub(samples, centre), YCBCR_TO_RGB)) : samples;
    return tf.add(tf.mul(tf.div(rgb, 255), hi - lo), lo);
  });
}

export function jpegSanitizer(quality: number, range: [number, number] = [0, 1]): Sanitizer {
  checkQuality(quality);
  return { name: `jpeg-q${quality}`, differentiable: false, transform: (x) => jpegQuantize(x, quality, range) };
}

/** The model behind JPEG-style quantisation (access at most 'scores' unless bpda). */
export function withJpegQuantization(
  model: Model,
  quality = DEFAULT_JPEG_QUALITY,
  options: { bpda?: boolean } = {},
): SanitizedModel {
  const channels = model.info.inputShape[2];
  if (model.info.inputShape.length !== 3 || (channels !== 1 && channels !== 3)) {
    throw new AegisInputError(
      `JPEG quantisation needs image inputs [height, width, 1 or 3]; model '${model.info.name}' takes [${model.info.inputShape}]`,
    );
  }
  return new SanitizedModel(model, jpegSanitizer(quality, model.info.inputRange), options);
}

/** params: quality (integer 1–100, default 75), bpda (default false: straight-through gradients for adaptive attacks). */
export const jpegDefense: Defense = {
  name: 'jpeg',
  title: 'JPEG-style quantisation',
  citation:
    'Das et al. 2017, "Keeping the Bad Guys Out: Protecting and Vaccinating Deep Learning with JPEG Compression", arXiv:1705.02900',
  kind: 'preprocessor',
  mitigations: ['AML.M0010'],
  async apply(model, context) {
    const quality = intParam(context.params, 'jpeg', 'quality', DEFAULT_JPEG_QUALITY, 1, 100);
    return withJpegQuantization(model, quality, { bpda: boolParam(context.params, 'jpeg', 'bpda', false) });
  },
};
