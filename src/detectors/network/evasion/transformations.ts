// Attacker-controlled flow features after Apruzzese, Andreolini, Ferretti, Marchetti & Colajanni 2022, "Modeling Realistic Adversarial Attacks against Network Intrusion Detection Systems", ACM DTRAP 3(3); Sheatsley, Papernot, Weisman, Verma & McDaniel 2022, "Adversarial examples for network intrusion detection systems", J. Computer Security 30(5).
/**
 * Transformations: what an attacker can actually do to its own traffic, as TextAttack's
 * transformations are what an attacker can do to a sentence. Each has one knob — a non-negative
 * integer quantity per flow — and writes the raw features that knob changes, consistently:
 *
 * - delay (seconds): keep the connection open longer → duration + δ. The attacker owns the client
 *   side of its connection (slow down, keep-alive); it cannot make it shorter without dropping
 *   what the attack sends.
 * - pad (bytes): append junk to what the attacker sends → src_bytes + δ. Adding is free; removing
 *   bytes would remove the payload (Apruzzese et al.: functionality-preserving changes only).
 * - cover (connections): open k extra, successful (SF) connections to the same host and service
 *   right around the attack connection. They enter KDD's 2-second window (count, srv_count and
 *   their error/service rates) and the 100-connection host window (dst_host_*): counts grow by k
 *   and every rate is recomputed as the share over old and cover connections (a full window —
 *   count 511, dst_host_count 255 — keeps its size: the cover connections displace old ones).
 *
 * What the attacker does NOT control stays as it is: protocol, service and flag of the attack
 * connection (they are the attack), the victim's reply (dst_bytes), packet-level fields
 * (wrong_fragment, urgent, land) and the host-based content features (hot, failed logins, root
 * shells, file creations …), which record what the attack does on the victim (Teuffenbach,
 * Piatkowska & Smith 2020, CD-MAKE, group NSL-KDD features the same way).
 * The tensor versions are differentiable in the knob, so a gradient search can steer them; the
 * materialised flow is rounded to valid values (integers, two-decimal rates) afterwards.
 */
import { AegisInputError } from '../../../core/errors.js';
import { tf } from '../../../core/runtime.js';

/** Raw numeric column index by name. */
export type ColumnIndex = (name: string) => number;

export interface Transformation {
  name: string;
  description: string;
  /** Unit of the knob (s, bytes, connections). */
  unit: string;
  /** Raw columns the transformation writes. */
  writes: readonly string[];
  /** The column whose change, in the model's standardised units, the budget bounds. */
  budgetColumn: string;
  /** Largest knob value the value ranges allow at all (the ε = ∞ budget), per flow [n]. */
  cap(raw: tf.Tensor2D, col: ColumnIndex, maxima: (name: string) => number): tf.Tensor1D;
  /** Raw flows after the knob [n] is applied (differentiable in the knob). */
  apply(raw: tf.Tensor2D, knob: tf.Tensor1D, col: ColumnIndex): tf.Tensor2D;
}

/** Column j of raw [n × p] as [n]. */
export function column(raw: tf.Tensor2D, j: number): tf.Tensor1D {
  return tf.reshape(tf.slice(raw, [0, j], [raw.shape[0], 1]), [raw.shape[0]]) as tf.Tensor1D;
}

/** raw with the given columns replaced (others kept). */
export function withColumns(raw: tf.Tensor2D, updates: ReadonlyMap<number, tf.Tensor1D>): tf.Tensor2D {
  const cols = tf.unstack(raw, 1) as tf.Tensor1D[];
  return tf.stack(
    cols.map((c, j) => updates.get(j) ?? c),
    1,
  ) as tf.Tensor2D;
}

function need(col: ColumnIndex, names: readonly string[], who: string): void {
  const missing = names.filter((n) => col(n) < 0);
  if (missing.length > 0) {
    throw new AegisInputError(
      `transformation '${who}' needs the columns ${missing.join(', ')}, which these flows lack`,
    );
  }
}

/** Adds the knob to one column (delay → duration, pad → src_bytes). */
function additive(name: string, target: string, unit: string, description: string): Transformation {
  return {
    name,
    description,
    unit,
    writes: [target],
    budgetColumn: target,
    cap: (raw, col, maxima) => {
      need(col, [target], name);
      return tf.relu(tf.sub(maxima(target), column(raw, col(target)))) as tf.Tensor1D;
    },
    apply: (raw, knob, col) => {
      need(col, [target], name);
      const j = col(target);
      return withColumns(raw, new Map([[j, tf.add(column(raw, j), knob) as tf.Tensor1D]]));
    },
  };
}

export const delayConnection = additive(
  'delay',
  'duration',
  's',
  'keep the attack connection open δ seconds longer (duration + δ)',
);

export const padPayload = additive(
  'pad',
  'src_bytes',
  'bytes',
  'append δ junk bytes to what the attacker sends (src_bytes + δ)',
);

/** KDD's windows: the 2-second window's counts stop at 511, the host window's at 255. */
export const COUNT_CAP = 511;
export const HOST_CAP = 255;
const EMPTY = 1e-6;

/** Rates over a window and the value the cover connections contribute (1 = they all match). */
const TIME_RATES: readonly [string, number][] = [
  ['serror_rate', 0],
  ['rerror_rate', 0],
  ['same_srv_rate', 1],
  ['diff_srv_rate', 0],
];
const SRV_RATES: readonly [string, number][] = [
  ['srv_serror_rate', 0],
  ['srv_rerror_rate', 0],
  ['srv_diff_host_rate', 0],
];
const HOST_RATES: readonly [string, number][] = [
  ['dst_host_same_srv_rate', 1],
  ['dst_host_diff_srv_rate', 0],
  ['dst_host_serror_rate', 0],
  ['dst_host_rerror_rate', 0],
];
const HOST_SRV_RATES: readonly [string, number][] = [
  ['dst_host_srv_serror_rate', 0],
  ['dst_host_srv_rerror_rate', 0],
  ['dst_host_srv_diff_host_rate', 0],
  ['dst_host_same_src_port_rate', 0],
];

const WINDOWS: readonly { count: string; cap: number; rates: readonly [string, number][] }[] = [
  { count: 'count', cap: COUNT_CAP, rates: TIME_RATES },
  { count: 'srv_count', cap: COUNT_CAP, rates: SRV_RATES },
  { count: 'dst_host_count', cap: HOST_CAP, rates: HOST_RATES },
  { count: 'dst_host_srv_count', cap: HOST_CAP, rates: HOST_SRV_RATES },
];

export const coverConnections: Transformation = {
  name: 'cover',
  description:
    'open k extra successful connections to the same host and service around the attack (counts + k, rates recomputed)',
  unit: 'connections',
  writes: WINDOWS.flatMap((w) => [w.count, ...w.rates.map(([r]) => r)]),
  budgetColumn: 'count',
  cap: (raw, col) => {
    need(col, coverConnections.writes, 'cover');
    return tf.fill([raw.shape[0]], COUNT_CAP) as tf.Tensor1D;
  },
  apply: (raw, knob, col) => {
    need(col, coverConnections.writes, 'cover');
    const updates = new Map<number, tf.Tensor1D>();
    for (const w of WINDOWS) {
      const c = column(raw, col(w.count));
      const total = tf.minimum(tf.add(c, knob), w.cap);
      const cover = tf.minimum(knob, w.cap);
      // Old connections still in the window (all of them unless the window is full).
      const old = tf.relu(tf.sub(total, cover));
      updates.set(col(w.count), total as tf.Tensor1D);
      for (const [rate, coverValue] of w.rates) {
        const r = column(raw, col(rate));
        // The tiny r·ε term keeps the rate as it was when the window holds no connection at all
        // (0/0); otherwise it moves the rate by < 1e-6, which the two-decimal rounding removes.
        const next = tf.div(
          tf.add(tf.add(tf.mul(r, old), tf.mul(cover, coverValue)), tf.mul(r, EMPTY)),
          tf.add(total, EMPTY),
        );
        updates.set(col(rate), next as tf.Tensor1D);
      }
    }
    return withColumns(raw, updates);
  },
};

/** The NSL-KDD attacker: delay, pad, cover (in this order). */
export const NSL_KDD_TRANSFORMATIONS: readonly Transformation[] = [delayConnection, padPayload, coverConnections];

/** Rate columns of a layout (values in [0, 1], written with two decimals in NSL-KDD). */
export function isRateColumn(name: string): boolean {
  return name.endsWith('_rate');
}
