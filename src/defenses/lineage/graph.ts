/**
 * The lineage graph in the embedded store: nodes (source, transform, dataset, model) and edges
 * between them, as W3C PROV draws them — entities (sources, datasets, models) produced by
 * activities (transforms). Recording a manifest adds source → transform(s) → dataset, and edges
 * from the parent datasets into the first transform; training adds dataset → model. Nodes are
 * unique by (kind, digest), so recording the same manifest twice changes nothing.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AegisInputError } from '../../core/errors.js';
import { defaultStorePath, type Migration, openStore, type StoreDatabase } from '../../store/store.js';
import { sha256Hex } from './digest.js';
import type { LineageManifest } from './manifest.js';

export const LINEAGE_MIGRATIONS: readonly Migration[] = [
  {
    id: 'lineage/001-graph',
    sql: `
      CREATE TABLE lineage_nodes (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('source', 'transform', 'dataset', 'model')),
        name TEXT NOT NULL,
        digest TEXT NOT NULL,
        manifest_path TEXT,
        created_at TEXT NOT NULL,
        attrs TEXT NOT NULL DEFAULT '{}',
        UNIQUE (kind, digest)
      );
      CREATE INDEX lineage_nodes_name ON lineage_nodes (name);
      CREATE TABLE lineage_edges (
        from_id INTEGER NOT NULL REFERENCES lineage_nodes (id) ON DELETE CASCADE,
        to_id INTEGER NOT NULL REFERENCES lineage_nodes (id) ON DELETE CASCADE,
        relation TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (from_id, to_id, relation)
      );
      CREATE INDEX lineage_edges_to ON lineage_edges (to_id);
    `,
  },
];

export const NODE_KINDS = ['source', 'transform', 'dataset', 'model'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

export interface LineageNode {
  id: number;
  kind: NodeKind;
  name: string;
  digest: string;
  manifestPath?: string;
  createdAt: string;
  attrs: Record<string, unknown>;
}

export interface LineageEdge {
  from: number;
  to: number;
  relation: string;
}

export interface LineageGraph {
  nodes: LineageNode[];
  edges: LineageEdge[];
}

/** Opens the store with the lineage tables (default location: defaultStorePath()). */
export function openLineageStore(path: string = defaultStorePath()): StoreDatabase {
  return openStore(path, LINEAGE_MIGRATIONS);
}

interface NodeRow {
  id: number;
  kind: NodeKind;
  name: string;
  digest: string;
  manifest_path: string | null;
  created_at: string;
  attrs: string;
}

function toNode(row: NodeRow): LineageNode {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    digest: row.digest,
    ...(row.manifest_path ? { manifestPath: row.manifest_path } : {}),
    createdAt: row.created_at,
    attrs: JSON.parse(row.attrs) as Record<string, unknown>,
  };
}

export interface NodeInput {
  kind: NodeKind;
  name: string;
  digest: string;
  manifestPath?: string;
  createdAt?: string;
  attrs?: Record<string, unknown>;
  /** A stand-in (a parent known only by digest): never overwrites a fuller node. */
  placeholder?: boolean;
}

/** Inserts the node, or updates name, manifest path and attributes of the one with its kind and digest. */
export function upsertNode(db: StoreDatabase, node: NodeInput): LineageNode {
  const attrs = JSON.stringify(node.attrs ?? {});
  const createdAt = node.createdAt ?? new Date().toISOString();
  const sql = node.placeholder
    ? `INSERT INTO lineage_nodes (kind, name, digest, manifest_path, created_at, attrs) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, digest) DO UPDATE SET kind = kind RETURNING *`
    : `INSERT INTO lineage_nodes (kind, name, digest, manifest_path, created_at, attrs) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (kind, digest) DO UPDATE SET name = excluded.name,
         manifest_path = COALESCE(excluded.manifest_path, manifest_path), attrs = excluded.attrs RETURNING *`;
  const row = db
    .prepare(sql)
    .get(node.kind, node.name, node.digest, node.manifestPath ?? null, createdAt, attrs) as NodeRow;
  return toNode(row);
}

export function addEdge(db: StoreDatabase, from: number, to: number, relation: string): void {
  db.prepare('INSERT OR IGNORE INTO lineage_edges (from_id, to_id, relation, created_at) VALUES (?, ?, ?, ?)').run(
    from,
    to,
    relation,
    new Date().toISOString(),
  );
}

/** Digest of a source node: the same URL or description is one node across datasets. */
export function sourceDigest(source: LineageManifest['source']): string | undefined {
  const text = source.uri ?? source.description;
  return text === undefined ? undefined : sha256Hex(`source\0${text}`);
}

/**
 * Adds a recorded manifest to the graph: source → transform … → dataset, and each parent dataset
 * → the first transform (or → the dataset when there are none). Returns the dataset node.
 */
export function recordManifestInGraph(
  db: StoreDatabase,
  manifest: LineageManifest,
  digest: string,
  manifestPath: string,
): LineageNode {
  return db.transaction(() => {
    const dataset = upsertNode(db, {
      kind: 'dataset',
      name: manifest.name,
      digest,
      manifestPath: resolve(manifestPath),
      createdAt: manifest.createdAt,
      attrs: {
        merkleRoot: manifest.merkleRoot,
        files: manifest.files.length,
        records: manifest.files.reduce((s, f) => s + (f.records ?? 0), 0),
        bytes: manifest.files.reduce((s, f) => s + f.bytes, 0),
      },
    });
    const steps = manifest.transforms.map((t, i) =>
      upsertNode(db, {
        kind: 'transform',
        name: t.name,
        // An application of a transform (a PROV activity), so unique to this manifest and position.
        digest: sha256Hex(`transform\0${digest}\0${i}\0${JSON.stringify(t)}`),
        createdAt: manifest.createdAt,
        attrs: { params: t.params, step: i + 1 },
      }),
    );
    const first = steps[0] ?? dataset;
    for (const [i, step] of steps.entries()) {
      addEdge(db, step.id, steps[i + 1]?.id ?? dataset.id, i + 1 < steps.length ? 'then' : 'produces');
    }
    const srcDigest = sourceDigest(manifest.source);
    if (srcDigest) {
      const source = upsertNode(db, {
        kind: 'source',
        name: manifest.source.uri ?? manifest.source.description ?? 'source',
        digest: srcDigest,
        createdAt: manifest.createdAt,
        attrs: { ...manifest.source },
      });
      addEdge(db, source.id, first.id, steps.length > 0 ? 'feeds' : 'produces');
    }
    for (const parent of manifest.parents) {
      const node = upsertNode(db, {
        kind: 'dataset',
        name: parent.name,
        digest: parent.digest,
        attrs: { merkleRoot: parent.merkleRoot, placeholder: true },
        placeholder: true,
      });
      addEdge(db, node.id, first.id, steps.length > 0 ? 'feeds' : 'derives');
    }
    return dataset;
  })();
}

/** Adds dataset → model ('trains'). */
export function linkModelNode(
  db: StoreDatabase,
  datasetId: number,
  model: { name: string; digest: string; path: string; format: string },
): LineageNode {
  return db.transaction(() => {
    const node = upsertNode(db, {
      kind: 'model',
      name: model.name,
      digest: model.digest,
      attrs: { path: resolve(model.path), format: model.format },
    });
    addEdge(db, datasetId, node.id, 'trains');
    return node;
  })();
}

function allNodes(db: StoreDatabase): LineageNode[] {
  return (db.prepare('SELECT * FROM lineage_nodes ORDER BY id').all() as NodeRow[]).map(toNode);
}

function allEdges(db: StoreDatabase): LineageEdge[] {
  return db
    .prepare('SELECT from_id AS "from", to_id AS "to", relation FROM lineage_edges ORDER BY from_id, to_id')
    .all() as LineageEdge[];
}

/** Nodes whose name is `query`, or whose digest starts with it (at least 6 hex digits). */
export function findNodes(db: StoreDatabase, query: string): LineageNode[] {
  const q = query.trim();
  const byDigest = /^[0-9a-f]{6,64}$/i.test(q)
    ? (db
        .prepare('SELECT * FROM lineage_nodes WHERE digest LIKE ? ORDER BY id')
        .all(`${q.toLowerCase()}%`) as NodeRow[])
    : [];
  const byName = db.prepare('SELECT * FROM lineage_nodes WHERE name = ? ORDER BY id').all(q) as NodeRow[];
  const seen = new Set<number>();
  return [...byDigest, ...byName].filter((r) => !seen.has(r.id) && seen.add(r.id)).map(toNode);
}

/**
 * The whole graph, or (with `query`) the ancestors and descendants of the nodes it names: the
 * chain from sources to models that passes through them.
 */
export function lineageGraph(db: StoreDatabase, query?: string): LineageGraph {
  const nodes = allNodes(db);
  const edges = allEdges(db);
  if (query === undefined) return { nodes, edges };
  const start = findNodes(db, query);
  if (start.length === 0)
    throw new AegisInputError(`no lineage node is named '${query}' or has a digest starting with it`);
  const keep = new Set<number>();
  for (const node of start) {
    keep.add(node.id);
    const up = new Set([node.id]);
    const down = new Set([node.id]);
    walkFrom(edges, up, (e) => (up.has(e.to) ? e.from : undefined));
    walkFrom(edges, down, (e) => (down.has(e.from) ? e.to : undefined));
    for (const id of [...up, ...down]) keep.add(id);
  }
  return { nodes: nodes.filter((n) => keep.has(n.id)), edges: edges.filter((e) => keep.has(e.from) && keep.has(e.to)) };
}

/** Grows `reached` along edges until nothing new is reached. */
function walkFrom(
  edges: readonly LineageEdge[],
  reached: Set<number>,
  step: (e: LineageEdge) => number | undefined,
): void {
  for (let grew = true; grew; ) {
    grew = false;
    for (const e of edges) {
      const other = step(e);
      if (other !== undefined && !reached.has(other)) {
        reached.add(other);
        grew = true;
      }
    }
  }
}

/** True when the store file exists (show does not create one just to say it is empty). */
export function storeExists(path: string): boolean {
  return path === ':memory:' || existsSync(path);
}
