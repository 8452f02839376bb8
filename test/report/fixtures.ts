/**
 * Hand-made attack results for report tests: no model, no tensors, just the numbers an
 * evasion attack would return, with a hostile class name to test escaping.
 */
import zlib from 'node:zlib';
import type { EvasionResult, ExamplePairs } from '../../src/attacks/evasion/evasion-attack.js';
import { makeThreatModel } from '../../src/core/threat-model.js';
import type { ModelInfo } from '../../src/models/model.js';
import type { BuildReportInput } from '../../src/report/build-report.js';

export const HOSTILE = '<script>alert(1)</script>';
export const CLASS_NAMES = ['zero', 'one', HOSTILE, 'three'];
export const SHA = 'ab'.repeat(32);

/** `n` pairs of h×w×c images: a diagonal ramp, with a checkerboard ±eps perturbation. */
export function imagePairs(n: number, h: number, w: number, c: number, eps: number): ExamplePairs {
  const clean: Float32Array[] = [];
  const adversarial: Float32Array[] = [];
  for (let k = 0; k < n; k++) {
    const x = new Float32Array(h * w * c);
    const a = new Float32Array(h * w * c);
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        for (let ch = 0; ch < c; ch++) {
          const idx = (i * w + j) * c + ch;
          x[idx] = ((i + j + k + ch) % (h + w)) / (h + w);
          a[idx] = Math.min(1, Math.max(0, x[idx] + ((i + j) % 2 === 0 ? eps : -eps)));
        }
      }
    }
    clean.push(x);
    adversarial.push(a);
  }
  return {
    shape: [h, w, c],
    eps,
    clean,
    adversarial,
    labels: Array.from({ length: n }, (_, k) => k % 4),
    cleanPredictions: Array.from({ length: n }, (_, k) => k % 4),
    adversarialPredictions: Array.from({ length: n }, (_, k) => (k + 2) % 4),
  };
}

export function evasionResult(
  attack: string,
  access: 'gradients' | 'scores',
  pairs?: ExamplePairs,
  norm: 'linf' | 'l2' = 'linf',
): EvasionResult {
  const epsilons = [0.05, 0.1, 0.2];
  return {
    attack,
    title: `${attack.toUpperCase()} test attack`,
    citation: 'Someone et al., A Paper (2017)',
    atlas: access === 'gradients' ? 'AML.T0043.000' : 'AML.T0043.001',
    threatModel: makeThreatModel({ access, norm, epsilons, queryBudget: access === 'scores' ? 1000 : undefined }),
    rows: epsilons.map((eps, i) => ({
      eps,
      accuracy: 0.8765432 - 0.3 * i,
      successRate: 0.1234567 + 0.3 * i,
      meanPerturbation: eps * 0.987654321,
      queries: access === 'scores' ? 12345 * (i + 1) : 0,
      gradients: access === 'gradients' ? 1 : undefined,
      seconds: 1.23456789 * (i + 1),
    })),
    examples: pairs,
  };
}

export const MODEL: ModelInfo = {
  name: 'cnn.onnx',
  access: 'gradients',
  inputShape: [8, 8, 1],
  numClasses: 4,
  inputRange: [0, 1],
  sha256: SHA,
  source: '/models/cnn.onnx',
};

export function reportInput(attacks: EvasionResult[]): BuildReportInput {
  return {
    model: MODEL,
    dataset: {
      name: 'synthetic',
      source: '/data/synthetic.npz',
      size: 100,
      shape: [100, 8, 8, 1],
      classNames: CLASS_NAMES,
    },
    cleanAccuracy: 0.91234567,
    seed: 7,
    backend: 'wasm',
    command: 'aegis attack --model cnn.onnx',
    attacks,
    createdAt: '2025-01-02T03:04:05.000Z',
  };
}

export interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  /** Inflated IDAT: one filter byte + width × channels bytes per row. */
  raw: Uint8Array;
  chunkTypes: string[];
}

/**
 * An independent PNG reader for tests: checks the signature and every chunk's CRC (with
 * node:zlib's crc32, not ours) and inflates the image data.
 */
export function decodePng(bytes: Uint8Array): DecodedPng {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  signature.forEach((b, i) => {
    if (bytes[i] !== b) throw new Error(`bad PNG signature at byte ${i}`);
  });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunkTypes: string[] = [];
  const idat: Uint8Array[] = [];
  let ihdr: Uint8Array | undefined;
  let offset = 8;
  while (offset < bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    const crc = view.getUint32(offset + 8 + length);
    if (zlib.crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== crc) throw new Error(`bad CRC in ${type}`);
    chunkTypes.push(type);
    if (type === 'IHDR') ihdr = data;
    if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  if (!ihdr) throw new Error('no IHDR');
  const h = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength);
  return {
    width: h.getUint32(0),
    height: h.getUint32(4),
    bitDepth: ihdr[8],
    colorType: ihdr[9],
    raw: new Uint8Array(zlib.inflateSync(Buffer.concat(idat))),
    chunkTypes,
  };
}

/** The PNG data URIs of an HTML page, decoded to bytes. */
export function pngDataUris(html: string): Uint8Array[] {
  return [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map(
    (m) => new Uint8Array(Buffer.from(m[1], 'base64')),
  );
}
