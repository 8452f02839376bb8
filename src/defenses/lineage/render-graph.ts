/**
 * Prints a lineage graph as indented trees from its roots (usually sources) down to models:
 *
 *   source     https://github.com/zalandoresearch/fashion-mnist  [1f0c2a9e4b7d]
 *   └─ transform  subset (first=4000)
 *      └─ dataset  fashion-mnist  4 files, 10000 records, merkle 5effe4965c89  [d1a2…]
 *         └─ model  cnn (tfjs)  [ab12…]
 *
 * The graph is a DAG: a node reached a second time is printed with "(see above)" and not expanded.
 */
import type { LineageEdge, LineageGraph, LineageNode, NodeKind } from './graph.js';

const KIND_ORDER: Record<NodeKind, number> = { source: 0, dataset: 1, transform: 2, model: 3 };

function short(digest: string): string {
  return digest.slice(0, 12);
}

function formatParams(params: unknown): string {
  if (!params || typeof params !== 'object') return '';
  const entries = Object.entries(params as Record<string, unknown>);
  return entries.length === 0 ? '' : ` (${entries.map(([k, v]) => `${k}=${String(v)}`).join(', ')})`;
}

/** One line describing a node. */
export function describeNode(node: LineageNode): string {
  const a = node.attrs;
  switch (node.kind) {
    case 'source':
      return `source  ${node.name}  [${short(node.digest)}]`;
    case 'transform':
      return `transform  ${node.name}${formatParams(a.params)}`;
    case 'dataset': {
      if (a.placeholder) return `dataset  ${node.name}  (parent manifest not recorded here)  [${short(node.digest)}]`;
      const root = typeof a.merkleRoot === 'string' ? `, merkle ${short(a.merkleRoot)}` : '';
      const where = node.manifestPath ? `  ${node.manifestPath}` : '';
      return `dataset  ${node.name}  ${String(a.files)} files, ${String(a.records)} records${root}  [${short(node.digest)}]${where}`;
    }
    case 'model':
      return `model  ${node.name} (${String(a.format)})  [${short(node.digest)}]${a.path ? `  ${String(a.path)}` : ''}`;
  }
}

export function renderLineageTree(graph: LineageGraph): string {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const children = new Map<number, LineageEdge[]>();
  const hasParent = new Set<number>();
  for (const e of graph.edges) {
    if (!byId.has(e.from) || !byId.has(e.to)) continue;
    children.set(e.from, [...(children.get(e.from) ?? []), e]);
    hasParent.add(e.to);
  }
  const order = (a: LineageNode, b: LineageNode): number =>
    KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.name.localeCompare(b.name) || a.id - b.id;
  const roots = graph.nodes.filter((n) => !hasParent.has(n.id)).sort(order);
  const lines: string[] = [];
  const printed = new Set<number>();
  const visit = (node: LineageNode, prefix: string, branch: string): void => {
    const repeat = printed.has(node.id);
    lines.push(`${prefix}${branch}${describeNode(node)}${repeat ? '  (see above)' : ''}`);
    if (repeat) return;
    printed.add(node.id);
    const next = (children.get(node.id) ?? []).map((e) => byId.get(e.to) as LineageNode).sort(order);
    const childPrefix = branch === '' ? prefix : `${prefix}${branch === '└─ ' ? '   ' : '│  '}`;
    next.forEach((child, i) => {
      visit(child, childPrefix, i === next.length - 1 ? '└─ ' : '├─ ');
    });
  };
  for (const root of roots) visit(root, '', '');
  // Nodes only on cycles (none are created, but a hand-edited store could have them).
  for (const node of graph.nodes) if (!printed.has(node.id)) visit(node, '', '');
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
