/**
 * ONNX models (https://onnx.ai/onnx/repo-docs/IR.html), checked for what makes loading reach
 * outside the file: external-data locations that escape the model's folder (absolute, '..', or a
 * symlink out), missing external files, nodes in non-standard op domains (custom ops are native
 * code from a library the loader registers), opset imports of unknown domains, and model-local
 * functions. Every graph is walked: the main graph, If/Loop/Scan subgraphs in node attributes,
 * function bodies and training graphs.
 *
 * Read with a streaming protobuf walker (protobuf-walker.ts) rather than onnx-proto's decoder:
 * decoding needs the whole file in memory (up to 2 GB with embedded weights), while the walker
 * reads only the structure and skips tensor payloads, so a 1 GB model costs a few reads.
 */
import type { ByteSource, Finding, FormatScanner, ScanContext, Severity } from './finding.js';
import { diskVerdict, lexicalVerdict } from './onnx-external.js';
import { PbCursor, type PbField, ProtobufError, WIRE_LEN, WIRE_VARINT } from './protobuf-walker.js';

/** Operator domains the ONNX standard defines ('' is ai.onnx). */
export const STANDARD_ONNX_DOMAINS = new Set([
  '',
  'ai.onnx',
  'ai.onnx.ml',
  'ai.onnx.training',
  'ai.onnx.preview.training',
]);

/** ONNX Runtime's own contrib-op domains: native code, but shipped with the runtime. */
function isRuntimeContribDomain(domain: string): boolean {
  return domain === 'com.microsoft' || domain.startsWith('com.microsoft.') || domain === 'com.ms.internal.nhwc';
}

// Field numbers from onnx.proto3.
const MODEL = { graph: 7, opsetImport: 8, trainingInfo: 20, functions: 25 };
const GRAPH = { node: 1, name: 2, initializer: 5, sparseInitializer: 15 };
const NODE = { name: 3, opType: 4, attribute: 5, domain: 7 };
const ATTRIBUTE = { name: 1, t: 5, g: 6, tensors: 10, graphs: 11, sparseTensor: 22, sparseTensors: 23 };
const TENSOR = { name: 8, externalData: 13, dataLocation: 14 };
const SPARSE = { values: 1, indices: 2 };
const FUNCTION = { name: 1, node: 7, opsetImport: 9, domain: 10 };
const TRAINING = { initialization: 1, algorithm: 2 };
const EXTERNAL = 1;
/** Longest external-data location read (paths are far shorter; PATH_MAX is 4096). */
const MAX_LOCATION = 65_536;

interface DomainUse {
  count: number;
  ops: Set<string>;
  first: string;
}

interface ExternalRef {
  tensors: number;
  first: string;
  offset?: number;
  length?: number;
}

/** What the walk collects; findings are derived from it once the whole file is read. */
class OnnxWalk {
  readonly domains = new Map<string, DomainUse>();
  readonly opsets: { domain: string; version: number; where: string }[] = [];
  readonly externals = new Map<string, ExternalRef>();
  readonly badExternal: { tensor: string; where: string; why: string; severity: Severity }[] = [];
  readonly functions: { domain: string; name: string }[] = [];
  readonly findings: Finding[] = [];
  graphs = 0;
  hasGraph = false;
  /** Graphs skipped for nesting past the limit (reported once). */
  tooDeep = 0;

  constructor(
    private readonly pb: PbCursor,
    private readonly maxDepth: number,
  ) {}

  model(): void {
    for (const f of this.pb.fields(0, this.pb.source.size)) {
      if (f.wire !== WIRE_LEN) continue;
      if (f.field === MODEL.graph) {
        this.hasGraph = true;
        this.graph(f, 'graph', 0);
      } else if (f.field === MODEL.opsetImport) this.opset(f, 'model');
      else if (f.field === MODEL.functions) this.func(f);
      else if (f.field === MODEL.trainingInfo) this.training(f);
    }
  }

  private opset(f: PbField, where: string): void {
    let domain = '';
    let version = 0;
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.field === 1 && g.wire === WIRE_LEN) domain = this.pb.string(g);
      else if (g.field === 2 && g.wire === WIRE_VARINT) version = g.value;
    }
    this.opsets.push({ domain, version, where });
  }

  private graph(f: PbField, where: string, depth: number): void {
    if (depth > this.maxDepth) {
      if (this.tooDeep++ > 0) return;
      this.findings.push({
        severity: 'high',
        rule: 'onnx/too-deep',
        message: `subgraphs nest deeper than the limit of ${this.maxDepth}; the deeper graphs were not checked`,
        location: where,
      });
      return;
    }
    this.graphs++;
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === GRAPH.node) this.node(g, where, depth);
      else if (g.field === GRAPH.initializer) this.tensor(g, `${where} initializer`);
      else if (g.field === GRAPH.sparseInitializer) this.sparse(g, `${where} sparse initializer`);
    }
  }

  private node(f: PbField, graphWhere: string, depth: number): void {
    let name = '';
    let opType = '';
    let domain = '';
    const attributes: PbField[] = [];
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === NODE.name) name = this.pb.string(g, 256);
      else if (g.field === NODE.opType) opType = this.pb.string(g, 256);
      else if (g.field === NODE.domain) domain = this.pb.string(g, 256);
      else if (g.field === NODE.attribute) attributes.push(g);
    }
    const where = `${graphWhere} > node ${JSON.stringify(name || '?')} (${domain ? `${domain}.` : ''}${opType})`;
    const use = this.domains.get(domain) ?? { count: 0, ops: new Set<string>(), first: where };
    use.count++;
    if (use.ops.size < 20) use.ops.add(opType);
    this.domains.set(domain, use);
    for (const a of attributes) this.attribute(a, where, depth);
  }

  private attribute(f: PbField, nodeWhere: string, depth: number): void {
    let name = '';
    const inner: PbField[] = [];
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === ATTRIBUTE.name) name = this.pb.string(g, 256);
      else inner.push(g);
    }
    const where = `${nodeWhere}.${name || '?'}`;
    for (const g of inner) {
      if (g.field === ATTRIBUTE.g || g.field === ATTRIBUTE.graphs) this.graph(g, where, depth + 1);
      else if (g.field === ATTRIBUTE.t || g.field === ATTRIBUTE.tensors) this.tensor(g, where);
      else if (g.field === ATTRIBUTE.sparseTensor || g.field === ATTRIBUTE.sparseTensors) this.sparse(g, where);
    }
  }

  private sparse(f: PbField, where: string): void {
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire === WIRE_LEN && (g.field === SPARSE.values || g.field === SPARSE.indices)) this.tensor(g, where);
    }
  }

  /** Reads a tensor's name and external-data entries; its payload fields are skipped unread. */
  private tensor(f: PbField, where: string): void {
    let name = '';
    let location: string | undefined;
    let external = false;
    let offset: number | undefined;
    let length: number | undefined;
    let overlong = 0;
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.field === TENSOR.name && g.wire === WIRE_LEN) name = this.pb.string(g, 256);
      else if (g.field === TENSOR.dataLocation && g.wire === WIRE_VARINT) external = g.value === EXTERNAL;
      else if (g.field === TENSOR.externalData && g.wire === WIRE_LEN) {
        external = true;
        const [key, value, valueBytes] = this.entry(g);
        if (key === 'location') {
          location = value;
          // a cut path could hide the '..' that makes it escape: refuse what is not read whole
          if (valueBytes > MAX_LOCATION) overlong = valueBytes;
        } else if (key === 'offset') offset = Number(value);
        else if (key === 'length') length = Number(value);
      }
    }
    if (!external) return;
    const tensorWhere = `${where} tensor ${JSON.stringify(name || '?')}`;
    if (location === undefined) {
      this.badExternal.push({ tensor: name, where: tensorWhere, why: 'has no location', severity: 'medium' });
      return;
    }
    if (overlong > 0) {
      const why = `has a location of ${overlong} bytes, too long to check`;
      this.badExternal.push({ tensor: name, where: tensorWhere, why, severity: 'high' });
      return;
    }
    if ((offset !== undefined && !(offset >= 0)) || (length !== undefined && !(length >= 0))) {
      const why = 'has an offset or length that is not a number';
      this.badExternal.push({ tensor: name, where: tensorWhere, why, severity: 'medium' });
    }
    const ref = this.externals.get(location) ?? { tensors: 0, first: tensorWhere };
    ref.tensors++;
    const end = (offset ?? 0) + (length ?? 0);
    if (end > (ref.offset ?? 0) + (ref.length ?? 0)) {
      ref.offset = offset;
      ref.length = length;
    }
    this.externals.set(location, ref);
  }

  /** A StringStringEntryProto: key, value (read up to MAX_LOCATION bytes) and the value's full length. */
  private entry(f: PbField): [string, string, number] {
    let key = '';
    let value = '';
    let length = 0;
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === 1) key = this.pb.string(g, 256);
      else if (g.field === 2) {
        value = this.pb.string(g, MAX_LOCATION);
        length = g.end - g.start;
      }
    }
    return [key, value, length];
  }

  private func(f: PbField): void {
    let name = '';
    let domain = '';
    const nodes: PbField[] = [];
    const opsets: PbField[] = [];
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === FUNCTION.name) name = this.pb.string(g, 256);
      else if (g.field === FUNCTION.domain) domain = this.pb.string(g, 256);
      else if (g.field === FUNCTION.node) nodes.push(g);
      else if (g.field === FUNCTION.opsetImport) opsets.push(g);
    }
    const where = `function ${JSON.stringify(`${domain}.${name}`)}`;
    this.functions.push({ domain, name });
    for (const o of opsets) this.opset(o, where);
    for (const n of nodes) this.node(n, where, 1);
  }

  private training(f: PbField): void {
    for (const g of this.pb.fields(f.start, f.end)) {
      if (g.wire !== WIRE_LEN) continue;
      if (g.field === TRAINING.initialization) this.graph(g, 'training initialization graph', 0);
      else if (g.field === TRAINING.algorithm) this.graph(g, 'training algorithm graph', 0);
    }
  }
}

function domainFindings(walk: OnnxWalk): Finding[] {
  const local = new Set(walk.functions.map((f) => `${f.domain}|${f.name}`));
  const out: Finding[] = [];
  for (const [domain, use] of walk.domains) {
    if (STANDARD_ONNX_DOMAINS.has(domain)) continue;
    const foreign = [...use.ops].filter((op) => !local.has(`${domain}|${op}`));
    if (foreign.length === 0) continue;
    const contrib = isRuntimeContribDomain(domain);
    const ops = foreign.join(', ');
    out.push({
      severity: contrib ? 'low' : 'high',
      rule: contrib ? 'onnx/contrib-op-domain' : 'onnx/custom-op-domain',
      message: contrib
        ? `${use.count} node(s) use ONNX Runtime contrib ops of ${JSON.stringify(domain)} (${ops}): native code shipped with the runtime`
        : `${use.count} node(s) use ops of the non-standard domain ${JSON.stringify(domain)} (${ops}): they run native code from a custom-op library the loader must register`,
      location: use.first,
    });
  }
  return out;
}

function opsetFindings(walk: OnnxWalk): Finding[] {
  const local = new Set(walk.functions.map((f) => f.domain));
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const o of walk.opsets) {
    const known = STANDARD_ONNX_DOMAINS.has(o.domain) || isRuntimeContribDomain(o.domain) || local.has(o.domain);
    // A domain that nodes use is reported with those nodes (onnx/custom-op-domain).
    if (known || seen.has(o.domain) || walk.domains.has(o.domain)) continue;
    seen.add(o.domain);
    out.push({
      severity: 'medium',
      rule: 'onnx/unknown-opset-domain',
      message: `imports opset ${o.version} of the unknown domain ${JSON.stringify(o.domain)}, which no node uses (a loader may still look for its custom-op library)`,
      location: `${o.where} opset_import`,
    });
  }
  return out;
}

function externalFindings(walk: OnnxWalk, context: ScanContext): Finding[] {
  const out: Finding[] = [];
  for (const bad of walk.badExternal) {
    out.push({
      severity: bad.severity,
      rule: 'onnx/external-data-invalid',
      message: `tensor marked as external data ${bad.why}`,
      location: bad.where,
    });
  }
  // An entry of an archive has no folder on disk to check against.
  const onDisk = !context.path.includes('!/');
  for (const [location, ref] of walk.externals) {
    const verdict = lexicalVerdict(location) ?? (onDisk ? diskVerdict(location, context.path, ref) : undefined);
    if (!verdict) continue;
    const others = ref.tensors > 1 ? ` (${ref.tensors} tensors)` : '';
    out.push({ ...verdict, message: `${verdict.message}${others}`, location: ref.first });
  }
  return out;
}

function malformed(severity: Severity, message: string, location: string): Finding {
  return { severity, rule: 'onnx/malformed', message, location };
}

export interface OnnxSummary {
  graphs: number;
  /** Nodes per op domain ('' for ai.onnx), over every graph and function. */
  nodesByDomain: Record<string, number>;
  externalLocations: string[];
  functions: string[];
}

function walkOnnx(source: ByteSource, maxDepth: number): { walk: OnnxWalk; error?: ProtobufError } {
  const walk = new OnnxWalk(new PbCursor(source), maxDepth);
  try {
    walk.model();
    return { walk };
  } catch (error) {
    if (!(error instanceof ProtobufError)) throw error;
    return { walk, error };
  }
}

/** The structure the scanner saw (for tests and diagnostics); throws ProtobufError on malformed input. */
export function onnxSummary(source: ByteSource, maxDepth = 64): OnnxSummary {
  const { walk, error } = walkOnnx(source, maxDepth);
  if (error) throw error;
  return {
    graphs: walk.graphs,
    nodesByDomain: Object.fromEntries([...walk.domains].map(([d, use]) => [d, use.count])),
    externalLocations: [...walk.externals.keys()],
    functions: walk.functions.map((f) => `${f.domain}.${f.name}`),
  };
}

export function scanOnnx(source: ByteSource, context: ScanContext): Finding[] {
  const { walk, error } = walkOnnx(source, context.limits.maxDepth);
  const findings: Finding[] = [];
  if (error) {
    findings.push(
      malformed(
        'high',
        `not a readable ONNX protobuf (${error.message}); what follows that point was not checked`,
        `byte ${error.offset}`,
      ),
    );
  }
  if (findings.length === 0 && !walk.hasGraph) {
    findings.push(malformed('high', 'the model has no graph (empty, truncated or not ONNX)', 'model'));
  }
  findings.push(...walk.findings, ...externalFindings(walk, context), ...domainFindings(walk), ...opsetFindings(walk));
  if (walk.functions.length > 0) {
    const names = walk.functions.slice(0, 10).map((f) => `${f.domain}.${f.name}`);
    findings.push({
      severity: 'info',
      rule: 'onnx/model-functions',
      message: `the model defines ${walk.functions.length} function(s) (${names.join(', ')}); their bodies were checked too`,
      location: 'functions',
    });
  }
  return findings;
}

/** ir_version (field 1, varint) first, then a length-delimited field: how ONNX exporters start a file. */
function looksLikeOnnx(head: Uint8Array): boolean {
  return head.length >= 3 && head[0] === 0x08 && head[1] >= 1 && head[1] <= 20 && (head[2] & 0x07) === WIRE_LEN;
}

export const onnxScanner: FormatScanner = {
  format: 'onnx',
  matches: (head, name) => /\.onnx$/i.test(name) || looksLikeOnnx(head),
  scan: scanOnnx,
};
