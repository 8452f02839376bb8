import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ForwardReader, forwardReader, openFileSource } from '../../../src/defenses/model-scan/file-source.js';
import { bufferSource } from '../../../src/defenses/model-scan/finding.js';
import { OPCODES } from '../../../src/defenses/model-scan/pickle-opcodes.js';
import {
  type PickleOp,
  PickleParseError,
  PickleReader,
  type PickleReaderOptions,
} from '../../../src/defenses/model-scan/pickle-reader.js';
import { pickle } from '../../helpers/pickle-bytes.js';

function ops(bytes: Uint8Array, options: PickleReaderOptions = {}, chunk?: number): PickleOp[] {
  const reader = chunk
    ? new ForwardReader(
        (() => {
          let at = 0;
          return {
            next: () => {
              if (at >= bytes.length) return null;
              at += chunk;
              return bytes.subarray(at - chunk, at);
            },
          };
        })(),
      )
    : forwardReader(bufferSource(bytes));
  const r = new PickleReader(reader, options);
  const out: PickleOp[] = [];
  for (let op = r.next(); op !== null; op = r.next()) out.push(op);
  return out;
}

/** One of every opcode, each with a valid argument, in pickletools' order. */
function everyOpcode(): Uint8Array {
  const p = pickle();
  p.int(7).binInt(-2).binInt1(200).binInt2(60000).raw('L', '123456789012345678901234567890L\n');
  p.long1([0xff, 0x7f]).raw(0x8b, 2, 0, 0, 0, 0x00, 0x80);
  p.string("'a\\nb\\x41\\101'").raw('T', 3, 0, 0, 0, 'abc').shortBinString('py2');
  p.binBytes(new Uint8Array([1, 2]))
    .shortBinBytes(new Uint8Array([3]))
    .binBytes8(new Uint8Array([4, 5, 6]));
  p.byteArray8(new Uint8Array([7]))
    .nextBuffer()
    .readonlyBuffer();
  p.none().newTrue().newFalse();
  p.unicode('caf\\u00e9 \\U0001F600').shortBinUnicode('ü').binUnicode('xyz').binUnicode8('long');
  p.raw('F', '2.5\n').binFloat(-0.125);
  p.emptyList().append().appends().list();
  p.emptyTuple().tuple().tuple1().tuple2().tuple3();
  p.emptyDict().dict().setItem().setItems();
  p.emptySet().addItems().frozenSet();
  p.pop().dup().mark().popMark();
  p.get(3).binGet(4).longBinGet(70000).put(5).binPut(6).longBinPut(80000).memoize();
  p.ext1(9).raw(0x83, 0x34, 0x12).raw(0x84, 1, 0, 0, 0);
  p.global('os', 'system').stackGlobal().reduce().build().inst('mod', 'Cls').obj().newObj().newObjEx();
  p.proto(5).stop().raw(0x95, 0, 0, 0, 0, 0, 0, 0, 0);
  p.raw('P', 'pid\n').binPersId();
  return p.bytes();
}

describe('pickle reader', () => {
  it('reads all 68 opcodes of pickletools with their arguments', () => {
    const out = ops(everyOpcode());
    assert.equal(OPCODES.length, 68);
    assert.deepEqual(
      out.map((o) => o.info.name),
      OPCODES.map((o) => o.name),
    );
    const arg = (name: string) => out.find((o) => o.info.name === name)!.arg;
    assert.equal(arg('INT'), 7);
    assert.equal(arg('BININT'), -2);
    assert.equal(arg('BININT1'), 200);
    assert.equal(arg('BININT2'), 60000);
    assert.equal(arg('LONG'), 123456789012345678901234567890n);
    assert.equal(arg('LONG1'), 0x7fff);
    assert.equal(arg('LONG4'), -32768);
    assert.deepEqual(arg('STRING'), { kind: 'text', length: 5, value: 'a\nbAA', py2: true });
    assert.deepEqual(arg('BINSTRING'), { kind: 'text', length: 3, value: 'abc', py2: true });
    assert.deepEqual(arg('BINBYTES8'), { kind: 'bytes', length: 3, data: new Uint8Array([4, 5, 6]) });
    assert.deepEqual(arg('UNICODE'), { kind: 'text', length: 20, value: 'café 😀' });
    assert.deepEqual(arg('SHORT_BINUNICODE'), { kind: 'text', length: 2, value: 'ü' });
    assert.equal(arg('FLOAT'), 2.5);
    assert.equal(arg('BINFLOAT'), -0.125);
    assert.equal(arg('LONG_BINGET'), 70000);
    assert.equal(arg('EXT2'), 0x1234);
    assert.deepEqual(arg('GLOBAL'), { kind: 'global', module: 'os', name: 'system' });
    assert.deepEqual(arg('INST'), { kind: 'global', module: 'mod', name: 'Cls' });
    assert.equal(arg('PROTO'), 5);
    assert.equal(arg('FRAME'), 0);
    assert.equal(arg('PERSID'), 'pid');
  });

  it('gives the byte offset of every opcode', () => {
    const bytes = pickle().proto(2).binInt1(1).binUnicode('ab').tuple2().stop().bytes();
    assert.deepEqual(
      ops(bytes).map((o) => [o.info.name, o.offset]),
      [
        ['PROTO', 0],
        ['BININT1', 2],
        ['BINUNICODE', 4],
        ['TUPLE2', 11],
        ['STOP', 12],
      ],
    );
  });

  it('reads the same opcodes when the input arrives one byte at a time', () => {
    const bytes = everyOpcode();
    const whole = ops(bytes).map((o) => [
      o.info.name,
      o.offset,
      JSON.stringify(o.arg, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    ]);
    const trickle = ops(bytes, {}, 1).map((o) => [
      o.info.name,
      o.offset,
      JSON.stringify(o.arg, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
    ]);
    assert.deepEqual(trickle, whole);
  });

  it('skips payloads above the inline limit by offset and keeps counting', () => {
    const big = new Uint8Array(100_000).fill(0x63); // 'c' (GLOBAL) bytes must not be read as opcodes
    const bytes = pickle().proto(4).binBytes8(big).binUnicode('x'.repeat(70_000)).stop().bytes();
    const out = ops(bytes);
    assert.deepEqual(
      out.map((o) => o.info.name),
      ['PROTO', 'BINBYTES8', 'BINUNICODE', 'STOP'],
    );
    assert.deepEqual(out[1].arg, { kind: 'bytes', length: 100_000, data: undefined });
    assert.deepEqual(out[2].arg, { kind: 'text', length: 70_000 });
    assert.equal(out[3].offset, 2 + 9 + 100_000 + 5 + 70_000);
  });

  it('reports a truncated argument with the opcode offset', () => {
    const bytes = pickle().proto(2).binInt1(1).raw('X', 100, 0, 0, 0, 'only ten b').bytes();
    assert.throws(
      () => ops(bytes),
      (e: unknown) =>
        e instanceof PickleParseError && e.truncated && e.offset === 4 && /ends inside BINUNICODE/.test(e.message),
    );
  });

  it('reports a byte that is not an opcode with its offset', () => {
    const bytes = pickle().proto(2).none().raw(0xff).bytes();
    assert.throws(
      () => ops(bytes),
      (e: unknown) =>
        e instanceof PickleParseError && !e.truncated && e.offset === 3 && /0xff at offset 3/.test(e.message),
    );
  });

  it('rejects a negative BINSTRING length', () => {
    assert.throws(() => ops(pickle().raw('T', 0xff, 0xff, 0xff, 0xff).bytes()), /negative byte count -1/);
  });
});

describe('file source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-file-source-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads byte ranges of a file with positional reads and clips at the end', () => {
    const path = join(dir, 'f.bin');
    writeFileSync(
      path,
      Uint8Array.from({ length: 1000 }, (_, i) => i % 251),
    );
    const source = openFileSource(path);
    try {
      assert.equal(source.size, 1000);
      assert.deepEqual([...source.read(500, 3)], [500 % 251, 501 % 251, 502 % 251]);
      assert.equal(source.read(998, 10).length, 2);
    } finally {
      source.close();
    }
  });

  it('skips forward without reading the skipped bytes', () => {
    const bytes = new Uint8Array(10 * 1024 * 1024);
    bytes[bytes.length - 1] = 42;
    let read = 0;
    const counting = {
      size: bytes.length,
      read: (o: number, n: number) => {
        const out = bytes.subarray(o, Math.min(bytes.length, o + n));
        read += out.length;
        return out;
      },
    };
    const reader = forwardReader(counting);
    assert.equal(reader.readByte(), 0);
    assert.equal(reader.skip(bytes.length - 2), bytes.length - 2);
    assert.equal(reader.readByte(), 42);
    assert.equal(reader.position, bytes.length);
    assert.ok(read <= 2 * 1024 * 1024 + 1, `read ${read} bytes for a 10 MiB skip`);
  });

  it('says which path cannot be opened', () => {
    assert.throws(() => openFileSource(join(dir, 'missing.pkl')), /missing\.pkl: cannot open \(ENOENT\)/);
  });
});
