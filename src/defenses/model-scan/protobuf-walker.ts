/**
 * Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/) read field by
 * field straight from a ByteSource, without a schema and without materialising length-delimited
 * payloads: the caller decides which sub-messages to enter and which bytes (tensor data) to skip.
 * A 1 GB ONNX file with embedded weights is walked by reading only its structure.
 */
import type { ByteSource } from './finding.js';

/** Malformed or truncated wire data; `offset` is where reading failed. */
export class ProtobufError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'ProtobufError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export interface PbField {
  field: number;
  wire: number;
  /** Varint value (wire 0); lossy above 2^53, which only matters for values this walker does not use. */
  value: number;
  /** Payload start and end (wire 2: the bytes; other wire types: the encoded value). */
  start: number;
  end: number;
}

const WINDOW = 64 * 1024;

/** Random access with a read-ahead window, so a walk over many small fields makes few reads. */
export class PbCursor {
  private win: Uint8Array = new Uint8Array(0);
  private winStart = 0;

  constructor(readonly source: ByteSource) {}

  byteAt(pos: number): number {
    if (pos < this.winStart || pos >= this.winStart + this.win.length) {
      if (pos >= this.source.size) throw new ProtobufError('unexpected end of data', pos);
      this.win = this.source.read(pos, WINDOW);
      this.winStart = pos;
      if (this.win.length === 0) throw new ProtobufError('unexpected end of data', pos);
    }
    return this.win[pos - this.winStart];
  }

  /** Reads a varint at `pos`, not past `limit`; returns [value, next position]. */
  varint(pos: number, limit: number): [number, number] {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos + i >= limit) throw new ProtobufError('truncated varint', pos);
      const b = this.byteAt(pos + i);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return [value, pos + i + 1];
    }
    throw new ProtobufError('varint longer than 10 bytes', pos);
  }

  /** The bytes [start, end), at most `max` of them (longer payloads are cut, not read). */
  bytes(start: number, end: number, max = Number.POSITIVE_INFINITY): Uint8Array {
    const length = Math.min(end - start, max);
    if (start >= this.winStart && start + length <= this.winStart + this.win.length) {
      return this.win.subarray(start - this.winStart, start - this.winStart + length);
    }
    const out = this.source.read(start, length);
    if (out.length < length) throw new ProtobufError('unexpected end of data', start + out.length);
    return out;
  }

  string(field: PbField, max = 4096): string {
    return new TextDecoder('utf-8', { fatal: false }).decode(this.bytes(field.start, field.end, max));
  }

  /** The fields of the message occupying [start, end). */
  *fields(start: number, end: number): Generator<PbField> {
    let pos = start;
    while (pos < end) {
      const [key, afterKey] = this.varint(pos, end);
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (field === 0) throw new ProtobufError('field number 0', pos);
      if (wire === WIRE_VARINT) {
        const [value, next] = this.varint(afterKey, end);
        yield { field, wire, value, start: afterKey, end: next };
        pos = next;
      } else if (wire === WIRE_LEN) {
        const [length, payload] = this.varint(afterKey, end);
        if (payload + length > end) {
          throw new ProtobufError(`field ${field} declares ${length} bytes, past the end of its message`, pos);
        }
        yield { field, wire, value: length, start: payload, end: payload + length };
        pos = payload + length;
      } else if (wire === WIRE_FIXED64 || wire === WIRE_FIXED32) {
        const size = wire === WIRE_FIXED64 ? 8 : 4;
        if (afterKey + size > end) throw new ProtobufError(`truncated fixed-size field ${field}`, pos);
        yield { field, wire, value: 0, start: afterKey, end: afterKey + size };
        pos = afterKey + size;
      } else {
        throw new ProtobufError(`unsupported wire type ${wire} (field ${field})`, pos);
      }
    }
  }
}
