import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, encodePng, pngDataUri } from '../../src/report/png.js';
import { decodePng } from './fixtures.js';

/** Drops the filter byte at the start of each row. */
function unfilter(raw: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (stride + 1)], 0, `row ${y} filter type`);
    out.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return out;
}

describe('PNG encoder', () => {
  it('computes the standard CRC-32', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    assert.equal(crc32(new Uint8Array(0)), 0);
  });

  it('encodes grayscale that decodes to the same pixels', () => {
    const width = 5;
    const height = 3;
    const pixels = Uint8Array.from({ length: width * height }, (_, i) => (i * 17) % 256);
    const png = decodePng(encodePng(pixels, width, height, 1));
    assert.deepEqual(png.chunkTypes, ['IHDR', 'IDAT', 'IEND']);
    assert.equal(png.width, width);
    assert.equal(png.height, height);
    assert.equal(png.bitDepth, 8);
    assert.equal(png.colorType, 0);
    assert.equal(png.raw.length, height * (1 + width));
    assert.deepEqual(unfilter(png.raw, width, height, 1), pixels);
  });

  it('encodes RGB and RGBA with the right colour type', () => {
    const pixels = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => 255 - i);
    const rgb = decodePng(encodePng(pixels, 4, 2, 3));
    assert.equal(rgb.colorType, 2);
    assert.deepEqual(unfilter(rgb.raw, 4, 2, 3), pixels);
    const rgba = decodePng(encodePng(new Uint8Array(2 * 2 * 4).fill(9), 2, 2, 4));
    assert.equal(rgba.colorType, 6);
    assert.equal(rgba.raw.length, 2 * (1 + 2 * 4));
  });

  it('rejects a pixel buffer that does not match the size', () => {
    assert.throws(() => encodePng(new Uint8Array(10), 4, 3, 1), /needs 12 bytes, got 10/);
    assert.throws(() => encodePng(new Uint8Array(0), 0, 0, 1), /bad size/);
  });

  it('makes base64 data URIs', () => {
    const uri = pngDataUri(encodePng(new Uint8Array(4), 2, 2, 1));
    assert.match(uri, /^data:image\/png;base64,iVBORw0KGgo/);
  });
});
