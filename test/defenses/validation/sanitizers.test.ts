import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fgsm } from '../../../src/attacks/evasion/fgsm.js';
import { AccessError, AegisInputError } from '../../../src/core/errors.js';
import { Rng } from '../../../src/core/rng.js';
import { initRuntime, tf } from '../../../src/core/runtime.js';
import { makeThreatModel } from '../../../src/core/threat-model.js';
import { bitDepthDefense, reduceBitDepth, withBitDepthReduction } from '../../../src/defenses/validation/bit-depth.js';
import { jpegDefense, jpegQuantize, withJpegQuantization } from '../../../src/defenses/validation/jpeg-quantization.js';
import { LUMINANCE_TABLE, scaleQuantTable } from '../../../src/defenses/validation/jpeg-tables.js';
import {
  medianSmooth,
  medianSmoothingDefense,
  withMedianSmoothing,
} from '../../../src/defenses/validation/median-smoothing.js';
import { SanitizedModel } from '../../../src/defenses/validation/sanitized-model.js';
import { type DifferentiableModel, isDifferentiable } from '../../../src/models/model.js';
import { QueryCountingModel } from '../../../src/models/query-counter.js';
import { maxAbsDiff } from '../../helpers/assertions.js';
import { type ToyImageData, toyImageModel } from '../../helpers/toy-models-blackbox.js';

function values(t: tf.Tensor): number[] {
  const out = Array.from(t.dataSync());
  t.dispose();
  return out;
}

/** A 4×4 one-channel image 0…15 with a spike of 100 at row 1, column 2. */
const SPIKE = [0, 1, 2, 3, 4, 5, 100, 7, 8, 9, 10, 11, 12, 13, 14, 15];

describe('bit-depth reduction', () => {
  before(async () => {
    await initRuntime();
  });

  it('1 bit: round to 0 or 1 (half to even, as numpy rint), clipping to the range first', () => {
    const x = tf.tensor1d([0, 0.2, 0.49, 0.5, 0.51, 0.8, 1, 1.3, -0.2]);
    assert.deepEqual(values(reduceBitDepth(x, 1)), [0, 0, 0, 0, 1, 1, 1, 1, 0]);
    x.dispose();
  });

  it('2 bits: 4 levels 0, 1/3, 2/3, 1; and a [-1, 1] range maps through the unit range', () => {
    const x = tf.tensor1d([0.1, 0.2, 0.5, 0.9]);
    const got = values(reduceBitDepth(x, 2));
    assert.ok(maxAbsDiff(got, [0, 1 / 3, 2 / 3, 1]) < 1e-6, `got ${got}`);
    const y = tf.tensor1d([-0.9, -0.2, 0.2]);
    assert.deepEqual(values(reduceBitDepth(y, 1, [-1, 1])), [-1, -1, 1]);
    tf.dispose([x, y]);
  });

  it('rejects a bit count outside 1–16 naming the parameter', async () => {
    const x = tf.zeros([1]);
    assert.throws(() => reduceBitDepth(x, 0), /bits must be an integer in \[1, 16\], got 0/);
    x.dispose();
    await assert.rejects(
      bitDepthDefense.apply({ info: { inputRange: [0, 1] } } as never, { seed: 0, params: { bits: 2.5 } }),
      (e: unknown) =>
        e instanceof AegisInputError &&
        /bit-depth: parameter bits must be an integer in \[1, 16\], got 2.5/.test(e.message),
    );
  });
});

describe('median smoothing', () => {
  before(async () => {
    await initRuntime();
  });

  it('3×3 with reflected edges removes the spike (values as scipy.ndimage.median_filter mode=reflect)', () => {
    const x = tf.tensor4d(SPIKE, [1, 4, 4, 1]);
    // Corner (0,0): rows and columns mirror to {0, 0, 1}, window 0 0 1 / 0 0 1 / 4 4 5 → median 1.
    // Spike (1,2): window 1 2 3 / 5 100 7 / 9 10 11 → sorted 1 2 3 5 7 9 10 11 100 → 7.
    assert.deepEqual(values(medianSmooth(x, 3)), [1, 2, 3, 3, 4, 5, 7, 7, 8, 10, 11, 11, 12, 12, 13, 14]);
    x.dispose();
  });

  it('2×2 covers the pixel and its up/left neighbours and takes the upper middle value', () => {
    const x = tf.tensor4d(SPIKE, [1, 4, 4, 1]);
    // (1,1): window 0 1 / 4 5 → sorted 0 1 4 5 → upper middle 4. (1,2): 1 2 / 5 100 → 5.
    assert.deepEqual(values(medianSmooth(x, 2)), [0, 1, 2, 3, 4, 4, 5, 7, 8, 8, 10, 11, 12, 12, 13, 14]);
    x.dispose();
  });

  it('filters each channel on its own', () => {
    const twoChannels = tf.tensor4d(
      SPIKE.flatMap((v) => [v, 15 - v]),
      [1, 4, 4, 2],
    );
    const other = tf.tensor4d(
      SPIKE.map((v) => 15 - v),
      [1, 4, 4, 1],
    );
    const got = values(medianSmooth(twoChannels, 3));
    assert.deepEqual(
      got.filter((_, i) => i % 2 === 0),
      [1, 2, 3, 3, 4, 5, 7, 7, 8, 10, 11, 11, 12, 12, 13, 14],
    );
    assert.deepEqual(
      got.filter((_, i) => i % 2 === 1),
      values(medianSmooth(other, 3)),
    );
    tf.dispose([twoChannels, other]);
  });

  it('matches a brute-force reference for windows 1–5, several channels, tiny images and ties', () => {
    const rng = new Rng(5);
    // scipy 'reflect' (period 2n), written independently of the kernel.
    const reflect = (i: number, n: number) => {
      let r = i;
      while (r < 0 || r >= n) r = r < 0 ? -r - 1 : 2 * n - r - 1;
      return r;
    };
    for (const [n, h, w, c] of [
      [2, 5, 7, 2],
      [1, 2, 3, 3],
      [3, 1, 4, 1],
    ] as const) {
      const data = Float32Array.from({ length: n * h * w * c }, () => rng.int(5));
      const x = tf.tensor4d(data, [n, h, w, c]);
      for (let size = 1; size <= 5; size++) {
        const before = Math.floor(size / 2);
        const expected: number[] = [];
        for (let b = 0; b < n; b++)
          for (let i = 0; i < h; i++)
            for (let j = 0; j < w; j++)
              for (let ch = 0; ch < c; ch++) {
                const window: number[] = [];
                for (let dy = 0; dy < size; dy++)
                  for (let dx = 0; dx < size; dx++) {
                    const r = reflect(i + dy - before, h);
                    const q = reflect(j + dx - before, w);
                    window.push(data[((b * h + r) * w + q) * c + ch] as number);
                  }
                expected.push(window.sort((a, z) => a - z)[Math.floor((size * size) / 2)] as number);
              }
        assert.deepEqual(values(medianSmooth(x, size)), expected, `[${n}, ${h}, ${w}, ${c}] size ${size}`);
      }
      x.dispose();
    }
  });

  it('is differentiable: the gradient counts how often each pixel is the selected median', () => {
    const rng = new Rng(9);
    const side = 5;
    const pixels = rng.permutation(side * side); // distinct values: every median has one source pixel
    const x = tf.tensor4d(Float32Array.from(pixels), [1, side, side, 1]);
    const grad = values(tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(medianSmooth(v, 3)))(x)));
    const reflect = (i: number) => (i < 0 ? -i - 1 : i >= side ? 2 * side - i - 1 : i);
    const expected = new Array<number>(side * side).fill(0);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const window: number[] = [];
        for (let dr = -1; dr <= 1; dr++)
          for (let dc = -1; dc <= 1; dc++) window.push(reflect(r + dr) * side + reflect(c + dc));
        const median = window.map((p) => pixels[p] as number).sort((a, b) => a - b)[4];
        expected[pixels.indexOf(median as number)]! += 1;
      }
    }
    assert.deepEqual(grad, expected);
    x.dispose();
  });

  it('needs NHWC images and a window of 1–5', () => {
    const flat = tf.zeros([2, 10]);
    const image = tf.zeros([1, 4, 4, 1]);
    assert.throws(() => medianSmooth(flat, 2), /needs NHWC images/);
    assert.throws(() => medianSmooth(image, 6), /window size must be an integer in \[1, 5\], got 6/);
    tf.dispose([flat, image]);
  });
});

describe('JPEG-style quantisation', () => {
  before(async () => {
    await initRuntime();
  });

  it('scales the Annex K table by quality as libjpeg does', () => {
    assert.deepEqual(Array.from(scaleQuantTable(LUMINANCE_TABLE, 50)), LUMINANCE_TABLE);
    assert.ok(scaleQuantTable(LUMINANCE_TABLE, 100).every((v) => v === 1));
    // quality 10: scale 500, 16 → floor((16·500 + 50)/100) = 80; quality 90: scale 20, 16 → 3.
    assert.equal(scaleQuantTable(LUMINANCE_TABLE, 10)[0], 80);
    assert.equal(scaleQuantTable(LUMINANCE_TABLE, 90)[0], 3);
    assert.equal(scaleQuantTable(LUMINANCE_TABLE, 1)[63], 255);
  });

  it('a flat gray block keeps only its DC term, quantised: 100/255 → 98/255 at quality 10', () => {
    // DC = 8 · (100 − 128) = −224; step 80 → round(−2.8) = −3 → −240 → 128 − 30 = 98.
    const x = tf.fill([1, 8, 8, 1], 100 / 255);
    const got = values(jpegQuantize(x, 10));
    assert.ok(
      got.every((v) => Math.abs(v * 255 - 98) < 1e-3),
      `got ${got[0]! * 255}`,
    );
    x.dispose();
  });

  it('matches an independent scipy.fft.dctn reference (grayscale 10×12 at quality 50, edge padding)', () => {
    // Pixel (r, c) = ((37r + 59c + 11rc) mod 256) / 255; expected 8-bit output from a numpy/scipy
    // implementation of the same steps (dctn/idctn norm='ortho', np.pad mode='edge').
    const image = Array.from({ length: 120 }, (_, i) => {
      const r = Math.floor(i / 12);
      const c = i % 12;
      return ((r * 37 + c * 59 + r * c * 11) % 256) / 255;
    });
    // biome-ignore format: 10×12 image
    const expected = [
      0, 67, 121, 188, 228, 31, 97, 165, 191, 12, 106, 116, 36, 105, 157, 249, 62, 122, 204, 21, 110, 166, 207, 45,
      87, 139, 255, 60, 133, 246, 30, 137, 189, 44, 86, 242, 93, 204, 10, 134, 225, 58, 123, 241, 79, 162, 0, 67,
      147, 255, 95, 160, 59, 175, 241, 129, 227, 27, 198, 7, 198, 0, 203, 11, 144, 217, 111, 197, 64, 198, 11, 154,
      222, 93, 197, 96, 218, 64, 199, 97, 197, 81, 200, 68, 0, 139, 25, 140, 30, 178, 58, 172, 62, 210, 72, 231,
      63, 165, 109, 193, 132, 0, 165, 41, 181, 100, 227, 116, 63, 236, 137, 47, 198, 87, 3, 155, 105, 145, 149, 28,
    ];
    const x = tf.tensor4d(image, [1, 10, 12, 1]);
    const got = values(jpegQuantize(x, 50)).map((v) => Math.round(v * 255));
    assert.deepEqual(got, expected);
    x.dispose();
  });

  it('matches the reference on RGB through YCbCr (8×8 at quality 75)', () => {
    const rgb: number[] = [];
    for (let r = 0; r < 8; r++)
      for (let c = 0; c < 8; c++) rgb.push((r * 32 + c * 4) % 256, (c * 32) % 256, 255 - r * c * 4);
    // biome-ignore format: 8×8×3 image
    const expected = [
      3, 2, 255, 9, 32, 255, 9, 64, 253, 11, 96, 251, 22, 129, 255, 26, 160, 255, 25, 191, 249, 32, 223, 252, 27, 2, 252,
      33, 33, 253, 33, 65, 246, 35, 95, 241, 46, 130, 246, 50, 161, 242, 49, 192, 232, 56, 224, 235, 62, 2, 246, 68, 33,
      247, 68, 66, 237, 71, 95, 227, 82, 131, 226, 85, 162, 218, 83, 193, 206, 90, 225, 208, 96, 2, 248, 103, 32, 246,
      102, 65, 231, 105, 95, 217, 115, 131, 209, 118, 161, 195, 117, 193, 180, 125, 224, 177, 127, 0, 253, 135, 31, 248,
      132, 64, 229, 134, 94, 208, 146, 130, 195, 148, 160, 174, 148, 193, 154, 156, 224, 149, 160, 0, 253, 168, 30, 247,
      167, 63, 222, 170, 93, 197, 181, 129, 178, 182, 159, 151, 181, 192, 126, 188, 223, 119, 195, 0, 249, 203, 31, 241,
      202, 64, 212, 204, 94, 181, 215, 129, 158, 217, 161, 128, 216, 193, 99, 223, 225, 92, 221, 0, 244, 228, 31, 235,
      226, 63, 204, 230, 95, 172, 239, 131, 146, 242, 162, 113, 240, 194, 82, 247, 226, 73,
    ];
    const x = tf.tensor4d(
      rgb.map((v) => v / 255),
      [1, 8, 8, 3],
    );
    assert.deepEqual(
      values(jpegQuantize(x, 75)).map((v) => Math.round(v * 255)),
      expected,
    );
    x.dispose();
  });

  it('quality 100 is the identity within 8-bit rounding; quality 10 is lossy', () => {
    const rng = new Rng(2);
    for (const channels of [1, 3]) {
      const x = tf.tensor4d(rng.uniformArray(3 * 20 * 20 * channels, 0, 1), [3, 20, 20, channels]);
      const q100 = tf.tidy(() => tf.max(tf.abs(tf.sub(jpegQuantize(x, 100), x))).dataSync()[0] as number);
      const q10 = tf.tidy(() => tf.mean(tf.abs(tf.sub(jpegQuantize(x, 10), x))).dataSync()[0] as number);
      // Quality 100 (all steps 1) still rounds samples, DCT coefficients and, for RGB, the YCbCr
      // planes to integers: measured max errors ≈ 1.5/255 (gray) and 3.3–3.7/255 (RGB); mean ≈ 0.16–0.22 at quality 10.
      assert.ok(
        q100 <= (channels === 1 ? 2.5 : 4) / 255,
        `${channels} channels: quality 100 max error ${q100 * 255}/255`,
      );
      assert.ok(q10 > 0.1, `${channels} channels: quality 10 mean error ${q10}`);
      x.dispose();
    }
  });

  it('needs 1 or 3 channels and a quality in 1–100', () => {
    const two = tf.zeros([1, 8, 8, 2]);
    assert.throws(() => jpegQuantize(two, 50), /1 or 3 channels/);
    assert.throws(() => jpegQuantize(tf.zeros([1, 8, 8, 1]), 0), /quality must be an integer in \[1, 100\], got 0/);
    two.dispose();
  });
});

describe('sanitised models', () => {
  let toy: ToyImageData;
  before(async () => {
    await initRuntime();
    toy = await toyImageModel({ seed: 4, side: 8, classes: 3, n: 12 });
  });
  after(() => {
    toy.x.dispose();
    toy.model.dispose();
  });

  const threat = makeThreatModel({ access: 'gradients', norm: 'linf', epsilons: [0.05] });

  it('classify the sanitised input', async () => {
    const squeezed = withBitDepthReduction(toy.model, 1);
    const direct = tf.tidy(() => reduceBitDepth(toy.x, 1));
    assert.deepEqual(await squeezed.predictLabels(toy.x), await toy.model.predictLabels(direct));
    const scores = await squeezed.predictScores(toy.x);
    const expected = await toy.model.predictScores(direct);
    assert.ok(maxAbsDiff(scores.dataSync(), expected.dataSync()) < 1e-6);
    tf.dispose([direct, scores, expected]);
    assert.equal(squeezed.info.name, 'toy-linear+bit-depth-1');
  });

  it('rounding sanitisers grant at most scores by default: white-box attacks are refused', async () => {
    for (const model of [withBitDepthReduction(toy.model, 4), withJpegQuantization(toy.model, 75)]) {
      assert.equal(model.info.access, 'scores');
      assert.equal(model.gradient, 'none');
      assert.equal(isDifferentiable(model), false);
      assert.throws(() => model.logits(toy.x), AccessError);
      await assert.rejects(fgsm.run(model, { x: toy.x, y: toy.y }, threat, { seed: 0 }), AccessError);
    }
    const labelsOnly = withBitDepthReduction(new QueryCountingModel(toy.model, 'labels'), 4);
    assert.equal(labelsOnly.info.access, 'labels');
  });

  it('BPDA: the real transform forward, the identity backward (gradient of the model at the squeezed input)', () => {
    const model = withBitDepthReduction(toy.model, 2, { bpda: true });
    assert.equal(model.info.access, 'gradients');
    assert.equal(model.gradient, 'bpda');
    const [through, atSqueezed] = tf.tidy(() => {
      const squeezed = reduceBitDepth(toy.x, 2);
      return [
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(model.logits(v), tf.tensor1d([1, -2, 0.5]))))(toy.x),
        tf.grad((v: tf.Tensor) => tf.sum(tf.mul(toy.model.logits(v), tf.tensor1d([1, -2, 0.5]))))(squeezed),
      ];
    });
    assert.ok(maxAbsDiff(through!.dataSync(), atSqueezed!.dataSync()) < 1e-6);
    assert.ok(tf.tidy(() => tf.max(tf.abs(through!)).dataSync()[0]! > 0));
    tf.dispose([through!, atSqueezed!]);
  });

  it('median smoothing keeps white-box access with exact gradients through the filter', () => {
    const model = withMedianSmoothing(toy.model, 3);
    assert.equal(model.gradient, 'exact');
    assert.ok(isDifferentiable(model));
    const [viaWrapper, composed] = tf.tidy(() => [
      tf.grad((v: tf.Tensor) => tf.sum(model.logits(v)))(toy.x),
      tf.grad((v: tf.Tensor) => tf.sum(toy.model.logits(medianSmooth(v, 3))))(toy.x),
    ]);
    assert.ok(maxAbsDiff(viaWrapper!.dataSync(), composed!.dataSync()) < 1e-6);
    tf.dispose([viaWrapper!, composed!]);
  });

  it("carries a model's own fast gradient back through the transform (exact) or straight through (BPDA)", async () => {
    const lossGrad = (m: DifferentiableModel) => (v: tf.Tensor, oneHot: tf.Tensor) =>
      tf.grad((u: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, m.logits(u), undefined, 0, tf.Reduction.SUM))(v);
    let fastCalls = 0;
    const withFast: DifferentiableModel = {
      info: toy.model.info,
      logits: (v) => toy.model.logits(v),
      predictScores: (v) => toy.model.predictScores(v),
      predictLabels: (v) => toy.model.predictLabels(v),
      dispose: () => {},
      async crossEntropyGradient(v, oneHot) {
        fastCalls++;
        return { grad: tf.tidy(() => lossGrad(toy.model)(v, oneHot)), logits: toy.model.logits(v) };
      },
    };
    const oneHot = tf.oneHot(tf.tensor1d(toy.y, 'int32'), 3);
    for (const model of [withMedianSmoothing(withFast, 2), withJpegQuantization(withFast, 50, { bpda: true })]) {
      const fast = await model.crossEntropyGradient!(toy.x, oneHot);
      const autodiff = tf.tidy(() => lossGrad(model)(toy.x, oneHot));
      assert.ok(maxAbsDiff(fast.grad.dataSync(), autodiff.dataSync()) < 1e-5, model.info.name);
      tf.dispose([fast.grad, fast.logits, autodiff]);
    }
    assert.equal(fastCalls, 2);
    oneHot.dispose();
  });

  it('free their intermediate tensors', async () => {
    const models = [
      withMedianSmoothing(toy.model, 3),
      withJpegQuantization(toy.model, 50),
      withBitDepthReduction(toy.model),
    ];
    const start = tf.memory().numTensors;
    for (const m of models) {
      await m.predictLabels(toy.x);
      (await m.predictScores(toy.x)).dispose();
    }
    const small = new SanitizedModel(
      toy.model,
      { name: 'id', differentiable: true, transform: (v) => tf.clone(v) },
      { batchSize: 5 },
    );
    (await small.predictScores(toy.x)).dispose();
    assert.deepEqual(await small.predictLabels(toy.x), await toy.model.predictLabels(toy.x));
    const identity = new SanitizedModel(toy.model, { name: 'same', differentiable: true, transform: (v) => v });
    (await identity.predictScores(toy.x)).dispose();
    assert.equal(toy.x.isDisposed, false, 'a transform returning its input must not get the input disposed');
    assert.equal(tf.memory().numTensors, start);
  });

  it('Defense objects read documented params and refuse models they cannot transform', async () => {
    const jpeg = (await jpegDefense.apply(toy.model, {
      seed: 0,
      params: { quality: '30', bpda: 'true' },
    })) as SanitizedModel;
    assert.equal(jpeg.info.name, 'toy-linear+jpeg-q30');
    assert.equal(jpeg.gradient, 'bpda');
    const median = (await medianSmoothingDefense.apply(toy.model, { seed: 0 })) as SanitizedModel;
    assert.equal(median.info.name, 'toy-linear+median-2x2');
    const bits = (await bitDepthDefense.apply(toy.model, { seed: 0 })) as SanitizedModel;
    assert.equal(bits.info.name, 'toy-linear+bit-depth-4');
    for (const d of [jpegDefense, medianSmoothingDefense, bitDepthDefense]) {
      assert.equal(d.kind, 'preprocessor');
      assert.deepEqual(d.mitigations, ['AML.M0010']);
    }
    const tabular = new QueryCountingModel(toy.model);
    (tabular.info as { inputShape: number[] }).inputShape = [64];
    await assert.rejects(
      medianSmoothingDefense.apply(tabular, { seed: 0 }),
      /needs image inputs \[height, width, channels\]/,
    );
    await assert.rejects(jpegDefense.apply(tabular, { seed: 0 }), /needs image inputs \[height, width, 1 or 3\]/);
    await assert.rejects(
      jpegDefense.apply(toy.model, { seed: 0, params: { quality: 0 } }),
      /jpeg: parameter quality must be an integer in \[1, 100\], got 0/,
    );
    await assert.rejects(
      jpegDefense.apply(toy.model, { seed: 0, params: { bpda: 'yes' } }),
      /jpeg: parameter bpda must be true or false, got yes/,
    );
  });
});
