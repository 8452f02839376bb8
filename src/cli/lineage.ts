/**
 * `aegis lineage record|verify|show|link`: dataset manifests (per-file and per-record SHA-256, a
 * Merkle root, source, transforms, parents), their verification, and the source → transform →
 * dataset → model graph kept in the embedded store.
 */
import type { Command } from 'commander';
import { AegisInputError } from '../core/errors.js';
import { lineageGraph, openLineageStore, recordManifestInGraph, storeExists } from '../defenses/lineage/graph.js';
import { linkModelToDataset } from '../defenses/lineage/link.js';
import type { TransformStep } from '../defenses/lineage/manifest.js';
import { recordDataset } from '../defenses/lineage/record.js';
import type { RecordChange, RecordDiff, RecordRef } from '../defenses/lineage/record-diff.js';
import { renderLineageTree } from '../defenses/lineage/render-graph.js';
import { type FileChange, type VerifyResult, verifyDataset } from '../defenses/lineage/verify.js';
import { defaultStorePath } from '../store/store.js';
import { cliOutput, requestExitCode } from './io.js';
import { parsePositiveInt } from './parse-options.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseParamValue(text: string): string | number | boolean {
  if (text === 'true' || text === 'false') return text === 'true';
  if (text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  return text;
}

/** `name` or `name=k:v,k2:v2` → a transform step (numbers and booleans are typed). */
export function parseTransform(spec: string): TransformStep {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
  if (!/^[\w.-]+$/.test(name)) {
    throw new AegisInputError(`--transform takes name or name=key:value,…; '${spec}' has no valid name`);
  }
  const params: TransformStep['params'] = {};
  if (eq >= 0 && spec.slice(eq + 1).trim() !== '') {
    for (const pair of spec.slice(eq + 1).split(',')) {
      const colon = pair.indexOf(':');
      const key = pair.slice(0, colon).trim();
      if (colon <= 0 || key === '') {
        throw new AegisInputError(`--transform ${name}: parameter '${pair}' is not key:value`);
      }
      if (key in params) throw new AegisInputError(`--transform ${name}: parameter '${key}' is given twice`);
      params[key] = parseParamValue(pair.slice(colon + 1).trim());
    }
  }
  return { name, params };
}

interface RecordFlags {
  name?: string;
  source?: string;
  transform: string[];
  parent: string[];
  out?: string;
  store?: string;
  graph: boolean;
  inlineRecords?: string;
  json?: boolean;
}

interface VerifyFlags {
  json?: boolean;
  maxList: string;
}

interface StoreFlags {
  store?: string;
  json?: boolean;
}

interface LinkFlags extends StoreFlags {
  model: string;
  dataset: string;
  name?: string;
}

function short(hex: string): string {
  return hex.slice(0, 16);
}

function listRecords(label: string, list: { count: number; items: (RecordRef | RecordChange)[] }): string[] {
  if (list.count === 0) return [];
  const shown = list.items.map((r) => {
    if ('before' in r) {
      const moved = r.newIndex !== r.index ? ` (now #${r.newIndex})` : '';
      return `      ${r.key}  #${r.index}${moved}  ${short(r.before)} → ${short(r.after)}`;
    }
    return `      ${r.key}  #${r.index}  ${short(r.sha256)}`;
  });
  const more = list.count > list.items.length ? [`      … and ${list.count - list.items.length} more`] : [];
  return [`    ${label}: ${list.count}`, ...shown, ...more];
}

function describeChange(change: FileChange): string[] {
  const lines = [
    `  changed  ${change.path}  (${change.format}, ${change.bytes.expected} → ${change.bytes.actual} bytes)`,
  ];
  if (change.headerChanged) lines.push('    header row changed');
  if (change.arrays?.added.length) lines.push(`    arrays added: ${change.arrays.added.join(', ')}`);
  if (change.arrays?.removed.length) lines.push(`    arrays removed: ${change.arrays.removed.join(', ')}`);
  if (change.note) lines.push(`    ${change.note}`);
  const diff: RecordDiff | undefined = change.records?.diff;
  if (change.records && diff) {
    lines.push(`    records: ${change.records.expected} → ${change.records.actual} (keyed by ${diff.keying})`);
    lines.push(...listRecords('added', diff.added), ...listRecords('removed', diff.removed));
    lines.push(...listRecords('changed', diff.changed));
    if (diff.reordered) lines.push('    records reordered');
    if (diff.added.count + diff.removed.count + diff.changed.count === 0 && !diff.reordered) {
      lines.push('    every record is unchanged (only the bytes around them differ: line endings, compression …)');
    }
  }
  return lines;
}

export function formatVerifyResult(r: VerifyResult): string {
  const f = r.files;
  const lines = [
    `${r.identical ? 'OK' : 'DIFFERS'}  ${r.name}: ${r.dataset} against ${r.manifest}`,
    `  files: ${f.recorded} recorded, ${f.unchanged} unchanged, ${f.changed.length} changed, ${f.added.length} added, ${f.removed.length} removed`,
    `  merkle root: ${r.merkleRoot.match ? 'matches' : 'differs'} (recorded ${short(r.merkleRoot.expected)}, now ${short(r.merkleRoot.actual)})`,
  ];
  for (const a of f.added) {
    lines.push(
      `  added    ${a.path}  (${a.format}, ${a.bytes} bytes${a.records !== undefined ? `, ${a.records} records` : ''})`,
    );
  }
  for (const p of f.removed) lines.push(`  removed  ${p}`);
  for (const c of f.changed) lines.push(...describeChange(c));
  return `${lines.join('\n')}\n`;
}

function registerRecord(lineage: Command): void {
  lineage
    .command('record <dataset>')
    .description('write a lineage manifest for a dataset file or folder and add it to the lineage graph')
    .option('--name <name>', 'dataset name (default: the file or folder name)')
    .option('--source <url or text>', 'where the data came from (default: the first URL of a README beside it)')
    .option('--transform <name=k:v,…>', 'a transform that produced the data (repeat, in order)', collect, [])
    .option('--parent <manifest>', 'manifest of a dataset this one derives from (repeatable)', collect, [])
    .option('--out <path>', 'manifest path (default: <dataset>.lineage.json beside the dataset)')
    .option('--store <path>', 'lineage store (default: $AEGIS_STORE or ./.aegis/aegis.db)')
    .option('--no-graph', 'write the manifest only, do not add it to the store')
    .option('--inline-records <n>', 'keep record digests in the manifest up to this many records (else a sidecar)')
    .option('--json', 'print the result as JSON')
    .action(async (dataset: string, flags: RecordFlags) => {
      if (flags.name !== undefined && flags.name.trim() === '') throw new AegisInputError('--name must not be empty');
      const result = await recordDataset(dataset, {
        ...(flags.out ? { out: flags.out } : {}),
        ...(flags.name ? { name: flags.name.trim() } : {}),
        ...(flags.source !== undefined ? { source: flags.source } : {}),
        transforms: flags.transform.map(parseTransform),
        parents: flags.parent,
        ...(flags.inlineRecords ? { inlineRecords: parsePositiveInt('--inline-records', flags.inlineRecords) } : {}),
      });
      const m = result.manifest;
      const records = m.files.reduce((s, f) => s + (f.records ?? 0), 0);
      const bytes = m.files.reduce((s, f) => s + f.bytes, 0);
      let store: string | undefined;
      if (flags.graph) {
        store = flags.store ?? defaultStorePath();
        const db = openLineageStore(store);
        try {
          recordManifestInGraph(db, m, result.digest, result.manifestPath);
        } finally {
          db.close();
        }
      }
      if (flags.json) {
        const out = {
          manifest: result.manifestPath,
          digest: result.digest,
          ...(result.sidecarPath ? { sidecar: result.sidecarPath } : {}),
          name: m.name,
          merkleRoot: m.merkleRoot,
          files: m.files.length,
          records,
          bytes,
          ...(store ? { store } : {}),
        };
        cliOutput().out(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      cliOutput().out(
        `recorded ${m.name}: ${m.files.length} files, ${bytes} bytes, ${records} records\n` +
          `merkle root ${m.merkleRoot}\n` +
          `manifest ${result.manifestPath} (sha256 ${result.digest})\n` +
          (result.sidecarPath ? `record digests in ${result.sidecarPath}\n` : '') +
          (store ? `lineage graph: ${store}\n` : ''),
      );
    });
}

function registerVerify(lineage: Command): void {
  lineage
    .command('verify <manifest> [dataset]')
    .description('compare a dataset with its manifest: files and records added, removed or changed (exit 1 if any)')
    .option('--json', 'print the full result as JSON')
    .option('--max-list <n>', 'records listed per kind and file', '20')
    .action(async (manifest: string, dataset: string | undefined, flags: VerifyFlags) => {
      const result = await verifyDataset(manifest, {
        ...(dataset ? { dataset } : {}),
        maxList: parsePositiveInt('--max-list', flags.maxList),
      });
      cliOutput().out(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatVerifyResult(result));
      if (!result.identical) requestExitCode(1);
    });
}

function registerShow(lineage: Command): void {
  lineage
    .command('show [query]')
    .description('print the lineage graph (or the chain through the node named or with this digest prefix)')
    .option('--store <path>', 'lineage store (default: $AEGIS_STORE or ./.aegis/aegis.db)')
    .option('--json', 'print nodes and edges as JSON')
    .action((query: string | undefined, flags: StoreFlags) => {
      const store = flags.store ?? defaultStorePath();
      if (!storeExists(store)) {
        if (query !== undefined) throw new AegisInputError(`no lineage store at '${store}'`);
        cliOutput().out(
          flags.json ? '{\n  "nodes": [],\n  "edges": []\n}\n' : `no lineage recorded yet (no store at ${store})\n`,
        );
        return;
      }
      const db = openLineageStore(store);
      try {
        const graph = lineageGraph(db, query);
        if (flags.json) cliOutput().out(`${JSON.stringify(graph, null, 2)}\n`);
        else cliOutput().out(renderLineageTree(graph) || `the lineage graph in ${store} is empty\n`);
      } finally {
        db.close();
      }
    });
}

function registerLink(lineage: Command): void {
  lineage
    .command('link')
    .description('record that a model was trained on a dataset (dataset → model)')
    .requiredOption('--model <path>', 'tfjs model folder or model file (.onnx …)')
    .requiredOption('--dataset <manifest>', 'the lineage manifest of the training data')
    .option('--name <name>', 'model name (default: the folder or file name)')
    .option('--store <path>', 'lineage store (default: $AEGIS_STORE or ./.aegis/aegis.db)')
    .option('--json', 'print the nodes as JSON')
    .action(async (flags: LinkFlags) => {
      const store = flags.store ?? defaultStorePath();
      const db = openLineageStore(store);
      try {
        const { dataset, model } = await linkModelToDataset(db, flags.dataset, flags.model, flags.name);
        cliOutput().out(
          flags.json
            ? `${JSON.stringify({ dataset, model }, null, 2)}\n`
            : `linked dataset ${dataset.name} → model ${model.name} (sha256 ${model.digest}) in ${store}\n`,
        );
      } finally {
        db.close();
      }
    });
}

export function registerLineageCommand(program: Command): void {
  const lineage = program
    .command('lineage')
    .description('dataset lineage: record manifests, verify data against them, show the source → model graph');
  registerRecord(lineage);
  registerVerify(lineage);
  registerShow(lineage);
  registerLink(lineage);
}
