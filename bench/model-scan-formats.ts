/**
 * Model-scan throughput for the header formats: safetensors and ONNX files of ~1 GiB (sparse files:
 * the header or protobuf structure is written, the tensor bytes are a hole, so the figure is the
 * scanner's, not the disk's), a safetensors header with 100k tensors, and an ONNX graph of 50k
 * nodes; ONNX also against the alternative route (read the file whole + onnx-proto decode).
 * Files are read through positional reads, as the CLI does. Prints medians (after one untimed round) as JSON.
 * Usage: npx tsx bench/model-scan-formats.ts [--rounds 5]
 */
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type ByteSource, DEFAULT_SCAN_LIMITS, type Finding } from '../src/defenses/model-scan/finding.js';
import { scanOnnx } from '../src/defenses/model-scan/onnx.js';
import { scanSafetensors } from '../src/defenses/model-scan/safetensors.js';
import { onnx } from '../src/models/onnx-graph.js';

const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : 5;
const GiB = 1 << 30;
const dir = mkdtempSync(join(tmpdir(), 'aegis-scan-bench-'));

/** Positional reads on a file descriptor, counting the bytes read. */
function fileSource(path: string): ByteSource & { close(): void; bytesRead: number } {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  const source = {
    size,
    bytesRead: 0,
    read(offset: number, length: number): Uint8Array {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = Buffer.allocUnsafe(n);
      let done = 0;
      while (done < n) done += readSync(fd, out, done, n - done, offset + done);
      source.bytesRead += n;
      return out;
    },
    close: () => closeSync(fd),
  };
  return source;
}

/** Writes `head` then extends the file to `size` bytes with a hole, and `tail` (if any) at the very end. */
function writeSparse(path: string, head: Uint8Array, size: number, tail?: Uint8Array): void {
  const fd = openSync(path, 'w');
  writeSync(fd, head, 0, head.length, 0);
  ftruncateSync(fd, size);
  if (tail) writeSync(fd, tail, 0, tail.length, size - tail.length);
  closeSync(fd);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

function scanFile(
  path: string,
  scan: (s: ByteSource) => Finding[],
): { ms: number; bytesRead: number; findings: number } {
  const times: number[] = [];
  let bytesRead = 0;
  let findings = 0;
  // one untimed round first: the figures are steady-state, not JIT warm-up
  for (let r = -1; r < rounds; r++) {
    const source = fileSource(path);
    const ms = time(() => (findings = scan(source).length));
    if (r >= 0) times.push(ms);
    bytesRead = source.bytesRead;
    source.close();
  }
  return { ms: median(times), bytesRead, findings };
}

const context = (path: string) => ({ path, limits: DEFAULT_SCAN_LIMITS, depth: 0 });

function safetensorsHeader(tensors: number, elements: number): { head: Uint8Array; size: number } {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (let i = 0; i < tensors; i++) {
    header[`model.layers.${i}.weight`] = {
      dtype: 'F32',
      shape: [elements],
      data_offsets: [offset, offset + 4 * elements],
    };
    offset += 4 * elements;
  }
  let json = JSON.stringify(header);
  while (json.length % 8 !== 0) json += ' ';
  const text = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + text.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(text.length), true);
  head.set(text, 8);
  return { head, size: head.length + offset };
}

function safetensorsFigure(name: string, tensors: number, elements: number) {
  const { head, size } = safetensorsHeader(tensors, elements);
  const path = join(dir, `${name}.safetensors`);
  writeSparse(path, head, size);
  const r = scanFile(path, (s) => scanSafetensors(s, context(path)));
  return {
    fileMiB: +(size / 2 ** 20).toFixed(1),
    tensors,
    headerMiB: +(head.length / 2 ** 20).toFixed(2),
    ms: +r.ms.toFixed(2),
    fileMiBPerSecond: Math.round(size / 2 ** 20 / (r.ms / 1000)),
    headerMiBPerSecond: Math.round(head.length / 2 ** 20 / (r.ms / 1000)),
    bytesRead: r.bytesRead,
    findings: r.findings,
  };
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

function valueInfo(name: string, dims: number[]) {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/**
 * y = x·W with W one 1 GiB float32 initializer stored as raw_data. Fields are laid out so the
 * weight bytes come last: the ModelProto head, the graph's small fields, then the initializer.
 */
function bigOnnx(path: string, weightBytes: number): number {
  const cols = 256;
  const rows = weightBytes / 4 / cols;
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'aegis-bench',
    opsetImport: [{ domain: '', version: 15 }],
  }).finish();
  const graphSmall = onnx.GraphProto.encode({
    name: 'g',
    node: [{ opType: 'MatMul', input: ['x', 'W'], output: ['y'], name: 'mm' }],
    input: [valueInfo('x', [1, rows])],
    output: [valueInfo('y', [1, cols])],
  }).finish();
  const tensorSmall = onnx.TensorProto.encode({ name: 'W', dims: [rows, cols], dataType: 1 }).finish();
  const tensorLength = tensorSmall.length + 1 + varint(weightBytes).length + weightBytes;
  const initializer = [0x2a, ...varint(tensorLength), ...tensorSmall, 0x4a, ...varint(weightBytes)];
  const graphLength = graphSmall.length + initializer.length + weightBytes;
  const head = Uint8Array.from([...model, 0x3a, ...varint(graphLength), ...graphSmall, ...initializer]);
  const size = head.length + weightBytes;
  writeSparse(path, head, size);
  return size;
}

function onnxRoutes(path: string) {
  const walker = scanFile(path, (s) => scanOnnx(s, context(path)));
  const decodeTimes: number[] = [];
  let nodes = 0;
  for (let r = 0; r < Math.min(rounds, 3); r++) {
    decodeTimes.push(
      time(() => {
        const m = onnx.ModelProto.decode(readFileSync(path));
        nodes = m.graph?.node?.length ?? 0;
      }),
    );
  }
  return { walker, decodeMs: median(decodeTimes), nodes };
}

function onnxBigFigure() {
  const path = join(dir, 'big.onnx');
  const size = bigOnnx(path, GiB);
  const { walker, decodeMs } = onnxRoutes(path);
  return {
    fileMiB: +(size / 2 ** 20).toFixed(1),
    walkerMs: +walker.ms.toFixed(2),
    walkerFileMiBPerSecond: Math.round(size / 2 ** 20 / (walker.ms / 1000)),
    walkerBytesRead: walker.bytesRead,
    readAndDecodeMs: Math.round(decodeMs),
    readAndDecodeMiBPerSecond: Math.round(size / 2 ** 20 / (decodeMs / 1000)),
    findings: walker.findings,
  };
}

function onnxManyNodesFigure(count: number) {
  const node = Array.from({ length: count }, (_, i) => ({
    opType: i % 2 ? 'Relu' : 'Add',
    input: i % 2 ? [`t${i}`] : [`t${i}`, 'b'],
    output: [`t${i + 1}`],
    name: `n${i}`,
  }));
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 15 }],
    graph: {
      name: 'chain',
      node,
      input: [valueInfo('t0', [1, 16])],
      output: [valueInfo(`t${count}`, [1, 16])],
      initializer: [{ name: 'b', dims: [16], dataType: 1, rawData: new Uint8Array(64) }],
    },
  }).finish();
  const path = join(dir, 'chain.onnx');
  writeSparse(path, bytes, bytes.length);
  const { walker, decodeMs, nodes } = onnxRoutes(path);
  return {
    nodes,
    fileMiB: +(bytes.length / 2 ** 20).toFixed(2),
    walkerMs: +walker.ms.toFixed(1),
    walkerNodesPerSecond: Math.round(count / (walker.ms / 1000)),
    walkerMiBPerSecond: Math.round(bytes.length / 2 ** 20 / (walker.ms / 1000)),
    readAndDecodeMs: +decodeMs.toFixed(1),
    findings: walker.findings,
  };
}

try {
  const result = {
    rounds,
    node: process.version,
    safetensors1GiB: safetensorsFigure('big', 4096, 65536),
    safetensors100kTensors: safetensorsFigure('many', 100_000, 16),
    onnx1GiB: onnxBigFigure(),
    onnx50kNodes: onnxManyNodesFigure(50_000),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
