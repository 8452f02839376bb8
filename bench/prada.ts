/**
 * PRADA extraction detection (Juuti et al. 2019) on Fashion-MNIST, as the gateway runs it:
 * one PradaDetector per client over the rows it sends and the labels the model answers.
 * Prints one JSON document:
 *
 * - attacks: the project's own extraction attacks (src/attacks/extraction), run in-process
 *   against the reference CNN (../shared/baseline/fmnist_cnn.onnx through ONNX Runtime; the
 *   copy in test/fixtures when the shared folder is absent) wrapped so every query batch passes
 *   through one detector, as one client: KnockoffNets (random and adaptive queries from the
 *   training split), JBDA (Papernot et al. 2017; constant λ and periodic τ 3), and
 *   equation-solving (Tramèr et al. 2016; uniform random queries). Per attack and δ: queries
 *   until the first alarm (null = none within the budget), plus W along the way.
 * - benign: the test split replayed as benign clients with the model's own labels — 10 clients
 *   × 1000 queries (a random partition, several seeds) and 1 client × all of it — counting
 *   alarms per δ and false alarms per 10k queries.
 * - cost: wall and CPU microseconds per observed query, and bytes per detector, for a bare
 *   detector at the gateway's defaults over one client's replay of the whole test split.
 *
 * The detector's behaviour (growing sets, distances, W) depends on neither δ nor minQueries, so
 * one detector per stream serves every pair: the alarm for (minQueries m, δ) is the first query
 * with |D| ≥ m and W < δ. Both are swept (config.extraction.threshold and .minQueries).
 *
 * Data: Debian's full Fashion-MNIST (`fashion-mnist-full` via loadDataset) when installed, else
 * the bundled subset (4000 train, 1000 test; then 2 clients × 500 benign); the output says which.
 *
 * Usage: npx tsx bench/prada.ts [--deltas 0.85,0.9,0.95] [--min-queries 50,100,200] [--cap 64]
 *   [--budget 10000] [--jbda-rounds 7] [--epochs 10] [--benign-seeds 3] [--seed 0]
 *   [--attacks knockoff-random,knockoff-adaptive,jbda,jbda-periodic,equation-solving]
 */
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { equationSolving } from '../src/attacks/extraction/equation-solving.js';
import type { ExtractionOutcome } from '../src/attacks/extraction/extraction-attack.js';
import { FidelityEvaluator } from '../src/attacks/extraction/fidelity.js';
import { jacobianAugmentation } from '../src/attacks/extraction/jbda.js';
import { knockoffNets } from '../src/attacks/extraction/knockoff.js';
import { Rng } from '../src/core/rng.js';
import { initRuntime, type tf } from '../src/core/runtime.js';
import { featureSize, size, slice } from '../src/data/dataset.js';
import { isFullFashionMnistInstalled } from '../src/data/fashion-mnist.js';
import { loadDataset } from '../src/data/load-dataset.js';
import { PradaDetector } from '../src/gateway/extraction/prada.js';
import { predictDataset } from '../src/models/evaluate.js';
import type { Model, ModelInfo } from '../src/models/model.js';
import { loadOnnxModel } from '../src/models/onnx-model.js';
import { sharedPath } from '../test/helpers/shared-dir.js';

const { values } = parseArgs({
  options: {
    deltas: { type: 'string', default: '0.85,0.9,0.95' },
    'min-queries': { type: 'string', default: '50,100,200' },
    cap: { type: 'string', default: '64' },
    budget: { type: 'string', default: '10000' },
    'jbda-rounds': { type: 'string', default: '7' },
    epochs: { type: 'string', default: '10' },
    'benign-seeds': { type: 'string', default: '3' },
    seed: { type: 'string', default: '0' },
    attacks: { type: 'string', default: 'knockoff-random,knockoff-adaptive,jbda,jbda-periodic,equation-solving' },
  },
});
const deltas = String(values.deltas).split(',').map(Number);
const minQueriesList = String(values['min-queries']).split(',').map(Number);
const cap = Number(values.cap);
const budget = Number(values.budget);
const jbdaRounds = Number(values['jbda-rounds']);
const epochs = Number(values.epochs);
const benignSeeds = Number(values['benign-seeds']);
const seed = Number(values.seed);
const log = (msg: string) => process.stderr.write(`[prada bench] ${msg}\n`);

const backend = await initRuntime();
const full = isFullFashionMnistInstalled();
const spec = full ? 'fashion-mnist-full' : 'bundled';
const train = await loadDataset(spec, { split: 'train' });
const test = await loadDataset(spec, { split: 'test' });
const victimPath = existsSync(sharedPath('baseline', 'fmnist_cnn.onnx'))
  ? sharedPath('baseline', 'fmnist_cnn.onnx')
  : new URL('../test/fixtures/fmnist_cnn.onnx', import.meta.url).pathname;
const victim = await loadOnnxModel(victimPath);
const dims = featureSize(test);
log(`data ${spec}: train ${size(train)}, test ${size(test)}; victim ${victimPath}; backend ${backend}`);

function newDetector(): PradaDetector {
  // Tests from the third distance on; alarms per (minQueries, δ) are read from the W sequence.
  return new PradaDetector(dims, { threshold: 0.5, minQueries: 3, maxGrowingSetPerClass: cap });
}

type Alarms = Record<string, Record<string, number | null>>;

/**
 * Follows one stream. The detector's state never depends on δ or minQueries (they only decide
 * when W raises the alarm), so one detector per stream serves every pair: the alarm for
 * (m, δ) is the first query with |D| ≥ m and W < δ.
 */
class Watch {
  readonly detector = newDetector();
  /** Per query: W after it (NaN before the first test) and |D|. */
  private readonly ws: number[] = [];
  private readonly distances: number[] = [];

  observe(rows: Float32Array, label: number, offset: number): void {
    this.detector.observe(rows, label, offset);
    this.ws.push(this.detector.w ?? Number.NaN);
    this.distances.push(this.detector.distances);
  }

  /** Queries until the alarm for every (minQueries, δ); null = none. */
  alarms(): Alarms {
    const out: Alarms = {};
    for (const m of minQueriesList) {
      const row: Record<string, number | null> = {};
      for (const d of deltas) {
        const q = this.ws.findIndex((w, i) => (this.distances[i] as number) >= m && w < d);
        row[String(d)] = q < 0 ? null : q + 1;
      }
      out[String(m)] = row;
    }
    return out;
  }

  /** Lowest W once |D| ≥ m. */
  minW(m: number): number | null {
    let low = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.ws.length; i++) {
      const w = this.ws[i] as number;
      if ((this.distances[i] as number) >= m && w < low) low = w;
    }
    return Number.isFinite(low) ? low : null;
  }

  summary() {
    const snap = this.detector.snapshot();
    const every = this.ws.flatMap((w, i) => ((i + 1) % 1000 === 0 ? [{ queries: i + 1, w: round(w) }] : []));
    return {
      queries: snap.queries,
      queriesToAlarm: this.alarms(),
      minWAfter100: round(this.minW(100)),
      finalW: round(snap.w),
      wEvery1000: every,
      growingSetRows: snap.growingSetRows,
    };
  }
}

function round(v: number | null, digits = 4): number | null {
  return v === null ? null : Number(v.toFixed(digits));
}

function argmaxRows(scores: Float32Array, k: number): Int32Array {
  const n = scores.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if ((scores[i * k + j] as number) > (scores[i * k + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}

/** The victim as one gateway client sees it: every query batch also goes through PRADA. */
class PradaWatchedModel implements Model {
  readonly info: ModelInfo;
  readonly watch = new Watch();

  constructor(private readonly inner: Model) {
    this.info = { ...inner.info };
  }

  private async see(x: tf.Tensor, labels: Int32Array): Promise<void> {
    const rows = (await x.data()) as Float32Array;
    for (let i = 0; i < labels.length; i++) this.watch.observe(rows, labels[i] as number, i * dims);
  }

  async predictLabels(x: tf.Tensor): Promise<Int32Array> {
    const labels = await this.inner.predictLabels(x);
    await this.see(x, labels);
    return labels;
  }

  async predictScores(x: tf.Tensor): Promise<tf.Tensor2D> {
    const scores = await this.inner.predictScores(x);
    await this.see(x, argmaxRows((await scores.data()) as Float32Array, this.info.numClasses));
    return scores;
  }

  dispose(): void {}
}

const out: Record<string, unknown> = {
  backend,
  data: {
    spec,
    source: full ? 'Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)' : 'bundled subset (data/)',
    train: size(train),
    test: size(test),
  },
  victim: victimPath,
  detector: { minQueries: minQueriesList, maxGrowingSetPerClass: cap, window: 5000, deltas },
};

// ---- Attacks: one client each.
const heldOut = slice(test, 0, Math.min(1000, size(test)));
const evaluator = await FidelityEvaluator.create(victim, heldOut);
const attacks: Record<string, unknown> = {};
for (const name of String(values.attacks).split(',').filter(Boolean)) {
  const watched = new PradaWatchedModel(victim);
  const t0 = performance.now();
  let outcome: ExtractionOutcome;
  let setup: string;
  if (name === 'knockoff-random' || name === 'knockoff-adaptive') {
    const strategy = name === 'knockoff-random' ? 'random' : 'adaptive';
    const queries = Math.min(budget, size(train));
    setup = `KnockoffNets ${strategy}, ${queries} queries from '${train.name}' (natural images), scores`;
    // The query stream does not depend on how long the surrogate trains: one epoch suffices here.
    outcome = await knockoffNets(watched, train, evaluator, { budgets: [queries], strategy, seed, epochs: 1 });
  } else if (name === 'jbda' || name === 'jbda-periodic') {
    const tau = name === 'jbda-periodic' ? 3 : undefined;
    setup = `JBDA: 150 seeds from '${train.name}', ${jbdaRounds} rounds, λ 0.1${tau ? `, τ ${tau}` : ''}, labels only, ${epochs} epochs per round`;
    outcome = await jacobianAugmentation(watched, train, evaluator, {
      budgets: [budget],
      seed,
      seedSize: 150,
      rounds: jbdaRounds,
      lambda: 0.1,
      tau,
      epochs,
    });
  } else if (name === 'equation-solving') {
    const queries = Math.min(budget, 2 * (dims + 1));
    setup = `equation-solving: ${queries} uniform random queries in [0, 1]^${dims}, scores`;
    outcome = await equationSolving(watched, evaluator, { budgets: [queries], seed });
  } else {
    throw new Error(`unknown attack '${name}'`);
  }
  outcome.surrogate.dispose();
  const last = outcome.result.rows[outcome.result.rows.length - 1];
  const summary = {
    setup,
    ...watched.watch.summary(),
    surrogateFidelity: round(last?.fidelity ?? null, 3),
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  log(`${name}: ${JSON.stringify(summary.queriesToAlarm)} of ${summary.queries} queries`);
  attacks[name] = summary;
}
out.attacks = attacks;

// ---- Benign replay: the test split, labelled by the victim, as benign clients.
const labels = await predictDataset(victim, test);
const n = size(test);

function replay(order: Int32Array): Watch {
  const watch = new Watch();
  for (const i of order) watch.observe(test.x, labels[i] as number, i * dims);
  return watch;
}

function tally(watches: Watch[]) {
  const queries = watches.reduce((s, w) => s + w.detector.queries, 0);
  const all = watches.map((w) => w.alarms());
  const alarms: Record<string, Record<string, number>> = {};
  const per10k: Record<string, Record<string, number | null>> = {};
  const at: Record<string, Record<string, number[]>> = {};
  for (const m of minQueriesList.map(String)) {
    alarms[m] = {};
    per10k[m] = {};
    at[m] = {};
    for (const d of deltas.map(String)) {
      const firsts = all.map((a) => a[m]?.[d] ?? null).filter((q): q is number => q !== null);
      alarms[m][d] = firsts.length;
      per10k[m][d] = round((firsts.length * 10000) / queries, 2);
      at[m][d] = firsts;
    }
  }
  const low = watches.map((w) => w.minW(100) ?? 1).sort((a, b) => a - b);
  return {
    clients: watches.length,
    queries,
    alarms,
    falseAlarmsPer10kQueries: per10k,
    firstAlarmQueries: at,
    lowestWAfter100: round(low[0] ?? null),
    medianLowestWAfter100: round(low[Math.floor(low.length / 2)] ?? null),
  };
}

const clients = full ? 10 : 2;
const per = Math.floor(n / clients);
const split: Watch[] = [];
for (let s = 0; s < benignSeeds; s++) {
  const order = new Rng(seed + 1000 + s).permutation(n);
  for (let c = 0; c < clients; c++) split.push(replay(order.subarray(c * per, (c + 1) * per)));
}
const single: Watch[] = [];
for (let s = 0; s < benignSeeds; s++) single.push(replay(new Rng(seed + 2000 + s).permutation(n)));
out.benign = {
  labels: "the victim's predicted labels (what the gateway sees)",
  [`${clients}x${per}`]: { seeds: benignSeeds, ...tally(split) },
  [`1x${n}`]: { seeds: benignSeeds, ...tally(single) },
};
/** A bare detector at the gateway's defaults over one long benign stream: wall and CPU time per query. */
function cost() {
  const detector = new PradaDetector(dims, { threshold: 0.9, minQueries: 100, maxGrowingSetPerClass: cap });
  const order = new Rng(seed + 3000).permutation(n);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const i of order) detector.observe(test.x, labels[i] as number, i * dims);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    queries: n,
    wallMicrosecondsPerQuery: round(wallUs / n, 1),
    cpuMicrosecondsPerQuery: round((cpu.user + cpu.system) / n, 1),
    bytesPerDetector: detector.memoryBytes(),
    growingSetRows: detector.snapshot().growingSetRows,
    loadAverage1m: round(loadavg()[0] ?? null, 1),
    note: 'PradaDetector.observe at minQueries 100 over one benign client (distance to G_c, growing set, sorted window, W)',
  };
}
out.cost = cost();
log(`benign: ${JSON.stringify(out.benign)}`);
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
