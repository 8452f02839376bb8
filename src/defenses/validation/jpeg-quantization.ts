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
 * The codec runs as a JavaScript kernel (jpeg-codec.ts). Not differentiable (rounding): the
 * wrapped model grants at most 'scores' unless BPDA is asked for (see sanitized-model.ts).
 */
import { AegisInputError } from '../../core/errors.js';
import { tf } from '../../core/runtime.js';
import type { Model } from '../../models/model.js';
import type { Defense } from '../defense.js';
import { boolParam, intParam } from './defense-params.js';
import { jpegRoundTrip } from './jpeg-codec.js';
import { SanitizedModel, type Sanitizer } from './sanitized-model.js';

export const DEFAULT_JPEG_QUALITY = 75;

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
  const [lo, hi] = range;
  const unitRange = lo === 0 && hi === 1;
  const values = x.dataSync();
  const decoded = jpegRoundTrip(
    unitRange ? values : Float32Array.from(values, (v) => (v - lo) / (hi - lo)),
    x.shape,
    quality,
  );
  if (!unitRange) for (let i = 0; i < decoded.length; i++) decoded[i] = (decoded[i] as number) * (hi - lo) + lo;
  return tf.tensor(decoded, x.shape, 'float32');
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
