/** safetensors files built byte by byte for the model-scan tests and benchmark. */
import type { ByteSource } from '../../src/defenses/model-scan/finding.js';

export interface TensorSpec {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Header JSON (padded with spaces to a multiple of 8, as the reference writer does) followed by `dataSize` bytes. */
export function safetensorsBytes(
  header: Record<string, unknown>,
  dataSize: number,
  declaredLength?: bigint,
): Uint8Array {
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + dataSize);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  for (let i = 8 + headerBytes.length; i < out.length; i++) out[i] = i & 0xff;
  return out;
}

/** Contiguous F32 tensors of the given shapes, as a well-formed file's header would list them. */
export function contiguousHeader(
  shapes: Record<string, number[]>,
  dtype = 'F32',
  bytesPer = 4,
): {
  header: Record<string, TensorSpec>;
  dataSize: number;
} {
  const header: Record<string, TensorSpec> = {};
  let offset = 0;
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1) * bytesPer;
    header[name] = { dtype, shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  return { header, dataSize: offset };
}

/**
 * A `size`-byte source whose first bytes are `head` and whose remainder is never materialised:
 * reading past `head` throws, which proves a scanner reads only the header.
 */
export function headerOnlySource(head: Uint8Array, size: number): ByteSource & { bytesRead: number } {
  const source = {
    size,
    bytesRead: 0,
    read(offset: number, length: number): Uint8Array {
      const end = Math.min(size, offset + length);
      if (end > head.length) throw new Error(`read of [${offset}, ${end}) goes past the ${head.length}-byte header`);
      source.bytesRead += end - offset;
      return head.subarray(offset, end);
    },
  };
  return source;
}
