// Alert correlation by shared entity and time proximity, as in Valeur, Vigna, Kruegel & Kemmerer 2004 ("A Comprehensive Approach to Intrusion Detection Alert Correlation", IEEE TDSC).
/**
 * Deduplicates alerts and groups them into incidents, online:
 *
 *  1. Duplicates: an alert id seen before, or the same content (source, signature and all four
 *     entities) again less than `dedupWindowMs` after the alert of that content last kept, is
 *     folded into that alert's incident (`Incident.duplicates`), not added as an alert. A rule
 *     that fires every second keeps one alert per window, so the incident keeps its time profile.
 *  2. Key: the alert's primary entity (the first non-empty of `entityOrder`, default user, host,
 *     source IP, destination IP) plus its technique (falling back to tactic, then signature) —
 *     'user:alice|T1078', 'src:10.0.0.5|T1046'. Alerts with no entity key on the signature alone.
 *  3. Time: gap-based sessions per key. An alert joins the key's incident whose span, widened by
 *     `gapMs` on both sides, contains it; otherwise it opens a new incident. A burst that never
 *     pauses for `gapMs` stays one incident however long it lasts.
 *  4. Out of order: alerts pass through a min-heap of `reorderBuffer` alerts and are grouped in
 *     time order; an alert older than the last one grouped (arrived later than the buffer can
 *     absorb) is counted `late` and still merged by rule 3 into any of the key's incidents it
 *     falls next to, which may bridge and merge two incidents (the later one is absorbed).
 *
 * Incident ids are deterministic: a hash of the key and the id and time of the alert that opened it.
 */
import { createHash } from 'node:crypto';
import type { Incident, TriageAlert } from './alert.js';

export type EntityField = 'user' | 'host' | 'srcIp' | 'destIp';
export type GroupBy = 'technique' | 'tactic' | 'signature' | 'entity';

export interface GroupOptions {
  /** Largest pause inside one incident (ms). Default 15 min. */
  gapMs: number;
  /** Same content within this time of its last delivery is a duplicate (ms); 0 turns content dedup off. Default 60 s. */
  dedupWindowMs: number;
  /** The second half of the key. Default 'technique' (→ tactic → signature when absent). */
  by: GroupBy;
  /** Which entity keys an alert, first non-empty wins. */
  entityOrder: readonly EntityField[];
  /** Alerts held back to put them in time order. Default 10,000. */
  reorderBuffer: number;
}

export const GROUP_DEFAULTS: Readonly<GroupOptions> = Object.freeze({
  gapMs: 15 * 60 * 1000,
  dedupWindowMs: 60 * 1000,
  by: 'technique',
  entityOrder: ['user', 'host', 'srcIp', 'destIp'] as readonly EntityField[],
  reorderBuffer: 10_000,
});

export interface GroupCounts {
  /** Alerts added to incidents. */
  grouped: number;
  /** Alerts folded as duplicates (same id, or same content within the dedup window). */
  duplicates: number;
  /** Alerts older than the last one grouped when they left the reorder buffer. */
  late: number;
  /** Incidents absorbed into another when a late alert bridged them. */
  merged: number;
}

const ENTITY_PREFIX: Readonly<Record<EntityField, string>> = {
  user: 'user',
  host: 'host',
  srcIp: 'src',
  destIp: 'dst',
};

/** The incident key of an alert under these options. */
export function incidentKey(
  alert: TriageAlert,
  options: Pick<GroupOptions, 'by' | 'entityOrder'> = GROUP_DEFAULTS,
): string {
  let entity = '';
  for (const f of options.entityOrder) {
    if (alert[f] !== '') {
      entity = `${ENTITY_PREFIX[f]}:${alert[f]}`;
      break;
    }
  }
  const what =
    options.by === 'entity'
      ? ''
      : options.by === 'signature'
        ? `sig:${alert.signatureId}`
        : options.by === 'tactic'
          ? alert.tactic || `sig:${alert.signatureId}`
          : alert.technique || alert.tactic || `sig:${alert.signatureId}`;
  if (entity === '') return what || `sig:${alert.signatureId}`;
  return what ? `${entity}|${what}` : entity;
}

export function incidentId(key: string, firstAlertId: string, firstTime: number): string {
  return `inc-${createHash('sha1').update(`${key}\u0000${firstAlertId}\u0000${firstTime}`).digest('hex').slice(0, 16)}`;
}

function contentKey(a: TriageAlert): string {
  return `${a.source}\u0000${a.signatureId}\u0000${a.srcIp}\u0000${a.destIp}\u0000${a.host}\u0000${a.user}`;
}

/** Min-heap of alerts by time (ties by arrival, so equal times keep their order). */
class AlertHeap {
  private items: { a: TriageAlert; n: number }[] = [];
  private arrivals = 0;
  get size(): number {
    return this.items.length;
  }
  private less(i: number, j: number): boolean {
    const x = this.items[i] as { a: TriageAlert; n: number };
    const y = this.items[j] as { a: TriageAlert; n: number };
    return x.a.time < y.a.time || (x.a.time === y.a.time && x.n < y.n);
  }
  private swap(i: number, j: number): void {
    const t = this.items[i] as { a: TriageAlert; n: number };
    this.items[i] = this.items[j] as { a: TriageAlert; n: number };
    this.items[j] = t;
  }
  push(a: TriageAlert): void {
    this.items.push({ a, n: this.arrivals++ });
    let i = this.items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): TriageAlert | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0] as { a: TriageAlert; n: number };
    const last = this.items.pop() as { a: TriageAlert; n: number };
    if (this.items.length > 0) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.items.length && this.less(l, m)) m = l;
        if (r < this.items.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top.a;
  }
}

/** Called for each alert once grouped: its incident, or the incident it duplicates. */
export type AssignListener = (alert: TriageAlert, incident: Incident, duplicate: boolean) => void;

/**
 * Online grouper. add() alerts in any order, flush() at the end (or whenever the caller wants
 * the buffer drained), then incidents(). `onAssign` sees every alert as it is placed, so callers
 * can store alerts as they go instead of keeping them.
 */
export class AlertGrouper {
  readonly options: GroupOptions;
  readonly counts: GroupCounts = { grouped: 0, duplicates: 0, late: 0, merged: 0 };
  private readonly heap = new AlertHeap();
  /** Live incidents per key, sorted by firstSeen. */
  private readonly byKey = new Map<string, Incident[]>();
  private readonly byId = new Map<string, Incident>();
  /** Alert id → its incident (for duplicate ids). */
  private readonly alertIncident = new Map<string, Incident>();
  /** Content key → last delivery time and incident (pruned as time passes). */
  private readonly recent = new Map<string, { time: number; incident: Incident }>();
  /** Incidents absorbed into others, in order (a caller that stored `from` moves its alerts to `into`). */
  readonly absorbed: { from: string; into: string }[] = [];
  private clock = Number.NEGATIVE_INFINITY;
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(
    options: Partial<GroupOptions> = {},
    private readonly onAssign?: AssignListener,
  ) {
    this.options = { ...GROUP_DEFAULTS, ...options };
  }

  /**
   * Continues incidents grouped earlier (e.g. read back from the store), so a second ingest
   * extends them instead of opening new ones. Their keys must come from the same options.
   */
  seed(incidents: readonly Incident[]): void {
    for (const inc of incidents) {
      const copy: Incident = { ...inc, alertIds: [...inc.alertIds] };
      this.byId.set(copy.id, copy);
      this.insertSorted(copy);
      for (const id of copy.alertIds) this.alertIncident.set(id, copy);
    }
  }

  add(alert: TriageAlert): void {
    this.heap.push(alert);
    while (this.heap.size > this.options.reorderBuffer) this.place(this.heap.pop() as TriageAlert);
  }

  /** Groups everything still in the reorder buffer. */
  flush(): void {
    while (this.heap.size > 0) this.place(this.heap.pop() as TriageAlert);
  }

  /** All incidents (flush first), by first alert time then id. */
  incidents(): Incident[] {
    return [...this.byId.values()].sort((a, b) => a.firstSeen - b.firstSeen || (a.id < b.id ? -1 : 1));
  }

  private insertSorted(inc: Incident): void {
    const list = this.byKey.get(inc.key) ?? [];
    let i = list.length;
    while (i > 0 && (list[i - 1] as Incident).firstSeen > inc.firstSeen) i--;
    list.splice(i, 0, inc);
    this.byKey.set(inc.key, list);
  }

  private place(a: TriageAlert): void {
    const late = a.time < this.clock;
    if (late) this.counts.late++;
    else this.clock = a.time;
    this.prune();

    const known = this.alertIncident.get(a.id);
    if (known) {
      this.fold(a, known);
      return;
    }
    const window = this.options.dedupWindowMs;
    const ck = window > 0 ? contentKey(a) : '';
    if (window > 0) {
      const prev = this.recent.get(ck);
      // Measured from the alert kept, not the last duplicate: a rule that fires forever keeps one alert per window.
      if (prev && Math.abs(a.time - prev.time) < window && this.byId.has(prev.incident.id)) {
        this.fold(a, prev.incident);
        return;
      }
    }

    const key = incidentKey(a, this.options);
    const inc = this.join(key, a) ?? this.open(key, a);
    inc.alertIds.push(a.id);
    if (a.truth !== undefined) inc.truth = (inc.truth ?? false) || a.truth;
    this.alertIncident.set(a.id, inc);
    if (window > 0) this.recent.set(ck, { time: a.time, incident: inc });
    this.counts.grouped++;
    this.onAssign?.(a, inc, false);
  }

  private fold(a: TriageAlert, inc: Incident): void {
    inc.duplicates++;
    this.counts.duplicates++;
    this.onAssign?.(a, inc, true);
  }

  private open(key: string, a: TriageAlert): Incident {
    const inc: Incident = {
      id: incidentId(key, a.id, a.time),
      key,
      firstSeen: a.time,
      lastSeen: a.time,
      alertIds: [],
      duplicates: 0,
    };
    this.byId.set(inc.id, inc);
    this.insertSorted(inc);
    return inc;
  }

  /** The key's incident within gapMs of `a` (extended to cover it, bridging neighbours if needed), or undefined. */
  private join(key: string, a: TriageAlert): Incident | undefined {
    const list = this.byKey.get(key);
    if (!list) return undefined;
    const gap = this.options.gapMs;
    // Incidents of one key never overlap (they would have merged), so spans are sorted: walk back from the newest.
    const near: Incident[] = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const inc = list[i] as Incident;
      if (inc.lastSeen + gap < a.time) break;
      if (a.time >= inc.firstSeen - gap) near.unshift(inc);
    }
    if (near.length === 0) return undefined;
    const target = near[0] as Incident;
    for (const other of near.slice(1)) this.absorb(target, other);
    target.firstSeen = Math.min(target.firstSeen, a.time);
    target.lastSeen = Math.max(target.lastSeen, a.time);
    return target;
  }

  /** Moves `other`'s alerts into `target` (a late alert bridged the gap between them). */
  private absorb(target: Incident, other: Incident): void {
    target.firstSeen = Math.min(target.firstSeen, other.firstSeen);
    target.lastSeen = Math.max(target.lastSeen, other.lastSeen);
    target.duplicates += other.duplicates;
    for (const id of other.alertIds) {
      target.alertIds.push(id);
      this.alertIncident.set(id, target);
    }
    if (other.truth !== undefined) target.truth = (target.truth ?? false) || other.truth;
    // A verdict on either half stands for the whole (the latest analyst decision is kept in the store's history).
    if (target.verdict === undefined && other.verdict !== undefined) target.verdict = other.verdict;
    this.byId.delete(other.id);
    this.absorbed.push({ from: other.id, into: target.id });
    const list = this.byKey.get(other.key) ?? [];
    list.splice(list.indexOf(other), 1);
    this.counts.merged++;
  }

  /** Forgets content keys older than the dedup window (bounded memory on long streams). */
  private prune(): void {
    const window = this.options.dedupWindowMs;
    if (window <= 0 || this.clock - this.lastPrune < window || this.recent.size < 1024) return;
    this.lastPrune = this.clock;
    for (const [k, v] of this.recent) if (v.time < this.clock - window) this.recent.delete(k);
  }
}

/** Groups a finite list of alerts (order does not matter within the reorder buffer). */
export function groupAlerts(
  alerts: Iterable<TriageAlert>,
  options: Partial<GroupOptions> = {},
): { incidents: Incident[]; counts: GroupCounts } {
  const g = new AlertGrouper(options);
  for (const a of alerts) g.add(a);
  g.flush();
  return { incidents: g.incidents(), counts: g.counts };
}
