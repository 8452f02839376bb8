/**
 * MI-Face model inversion (Fredrikson, Jha & Ristenpart, CCS 2015) on the AT&T faces
 * (../shared/datasets/att-faces): 40 subjects, images 1–7 of each for training, 8–10 held out,
 * shrunk 2× (112×92 → 56×46) for speed. Victims trained as in the paper (paper-victims.ts):
 * softmax regression and an MLP of sigmoid hidden units (500 here; the paper: 3000), full-batch
 * gradient descent with momentum. Two evaluation classifiers, trained with Adam on the same 280
 * images from another seed: an MLP (ReLU 128-64, the CLI's default; `identificationAccuracy`)
 * and the small CNN (`identificationAccuracyCnn`). Each subject is reconstructed with white-box
 * gradients and with zeroth-order (NES) estimates from scores only; rows give the identification accuracy of the
 * reconstructions by the evaluation classifier, their mean SSIM to the subject's mean training
 * face (11×11 Gaussian window, σ = 1.5) and, for contrast, to the other subjects' mean faces.
 * Prints one JSON document; `--report <dir>` also writes the HTML report of every run.
 * Usage: npx tsx bench/inversion.ts [--downscale 2] [--steps 1000] [--budget 20500] [--directions 20]
 *        [--hidden 500] [--victims softmax,mlp] [--gradients white-box,zeroth-order] [--classes 40] [--report dir]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { classMeans, evaluateReconstructions } from '../src/attacks/inversion/evaluate.js';
import type { GradientSource } from '../src/attacks/inversion/gradient-source.js';
import { type PaperVictim, trainPaperVictim } from '../src/attacks/inversion/paper-victims.js';
import { runInversion } from '../src/attacks/inversion/run-inversion.js';
import { ssim } from '../src/attacks/inversion/ssim.js';
import { initRuntime } from '../src/core/runtime.js';
import { type Dataset, take } from '../src/data/dataset.js';
import { loadImageFolderDataset } from '../src/data/image-folder.js';
import { evaluateAccuracy } from '../src/models/evaluate.js';
import type { Model } from '../src/models/model.js';
import { QueryCountingModel } from '../src/models/query-counter.js';
import { trainClassifier } from '../src/models/train-classifier.js';
import { buildReport, datasetSummary, writeReport } from '../src/report/build-report.js';
import { sharedPath } from '../test/helpers/shared-dir.js';

const { values } = parseArgs({
  options: {
    downscale: { type: 'string', default: '2' },
    steps: { type: 'string', default: '1000' },
    budget: { type: 'string', default: '20500' },
    directions: { type: 'string', default: '20' },
    hidden: { type: 'string', default: '500' },
    victims: { type: 'string', default: 'softmax,mlp' },
    gradients: { type: 'string', default: 'white-box,zeroth-order' },
    classes: { type: 'string', default: '40' },
    report: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});

const FACES = sharedPath('datasets', 'att-faces');
if (!existsSync(FACES)) {
  console.error(`bench/inversion: needs the AT&T faces at ${FACES} (the team's shared folder, or set AEGIS_SHARED)`);
  process.exit(1);
}
const seed = Number(values.seed);
const steps = Number(values.steps);
const budget = Number(values.budget);
const directions = Number(values.directions);
const log = (msg: string) => console.error(`[inversion] ${msg}`);
const round = (x: number, d = 4) => Number(x.toFixed(d));

const backend = await initRuntime();
const all = loadImageFolderDataset(FACES, { downscale: Number(values.downscale), name: 'att-faces' });
const per = 10;
const trainIdx: number[] = [];
const testIdx: number[] = [];
for (let i = 0; i < all.y.length; i++) (i % per < 7 ? trainIdx : testIdx).push(i);
const train: Dataset = { ...take(all, trainIdx), name: 'att-faces-train' };
const test: Dataset = { ...take(all, testIdx), name: 'att-faces-heldout' };
const [, h, w] = all.shape as [number, number, number, number];
const means = classMeans(train);
const classes = Array.from({ length: Math.min(Number(values.classes), 40) }, (_, k) => k);

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const out = await fn();
  return [out, (performance.now() - t) / 1000];
}

/** Evaluation classifiers, trained with Adam from random weights (unlike the victims), another seed. */
async function trainEvaluator(arch: 'mlp' | 'cnn', epochs: number, description: string) {
  log(`training the ${arch} evaluation classifier on ${train.y.length} images ${h}×${w}`);
  const [trained, seconds] = await timed(() =>
    trainClassifier(arch, train, { epochs, seed: seed + 7, batchSize: 32, progress: false, name: `eval-${arch}` }),
  );
  const info = {
    architecture: description,
    trainAccuracy: round(await evaluateAccuracy(trained.model, train)),
    heldOutAccuracy: round(await evaluateAccuracy(trained.model, test)),
    seconds: round(seconds, 1),
  };
  log(`${arch} evaluator: ${JSON.stringify(info)}`);
  return { model: trained.model, info };
}
const mlpEval = await trainEvaluator('mlp', 100, 'MLP 128-64 ReLU (the CLI default), Adam 1e-3, 100 epochs, batch 32');
const cnnEval = await trainEvaluator(
  'cnn',
  40,
  'small CNN (conv16-pool-conv32-pool-dense64), Adam 1e-3, 40 epochs, batch 32',
);
const evaluator = mlpEval.model;
const evaluatorInfo = { mlp: mlpEval.info, cnn: cnnEval.info };

const victims: Record<string, unknown> = {};
const rows: Record<string, unknown>[] = [];
for (const kind of String(values.victims).split(',') as PaperVictim[]) {
  log(`training the ${kind} victim`);
  const [victim, seconds] = await timed(() =>
    trainPaperVictim(kind, train, { seed: seed + 1, hidden: Number(values.hidden), name: `att-${kind}` }),
  );
  victims[kind] = {
    architecture:
      kind === 'mlp'
        ? `flatten → ${values.hidden} sigmoid → 40 (softmax), momentum GD 0.1/0.9, 300 full-batch steps`
        : 'flatten → 40 (softmax), zero init, momentum GD 0.05/0.9, 300 full-batch steps',
    trainAccuracy: round(await evaluateAccuracy(victim, train)),
    heldOutAccuracy: round(await evaluateAccuracy(victim, test)),
    seconds: round(seconds, 1),
  };
  log(`${kind}: ${JSON.stringify(victims[kind])}`);
  for (const gradient of String(values.gradients).split(',') as GradientSource[]) {
    const target: Model = gradient === 'white-box' ? victim : new QueryCountingModel(victim, 'scores');
    const result = await runInversion(target, train, {
      gradient,
      classes,
      seed,
      steps: gradient === 'white-box' ? steps : 100_000,
      budget: gradient === 'zeroth-order' ? budget : undefined,
      directions,
      evaluator,
      onProgress: (done, total) => {
        if (done % 10 === 0 || done === total) log(`${kind} ${gradient}: ${done}/${total} subjects`);
      },
    });
    const recs = result.run.results.map((r) => r.x);
    const byCnn = await evaluateReconstructions(recs, classes, means, cnnEval.model, [h, w, 1]);
    let other = 0;
    let pairs = 0;
    recs.forEach((r, i) => {
      means.forEach((m, k) => {
        if (k === classes[i]) return;
        other += ssim(r, m, h, w);
        pairs++;
      });
    });
    const row = result.rows[0]!;
    const out = {
      victim: kind,
      gradient,
      identificationAccuracy: round(row.identificationAccuracy),
      identificationAccuracyCnn: round(byCnn.identificationAccuracy),
      ssim: round(row.ssim),
      ssimToOtherSubjectsMeans: round(other / pairs),
      meanConfidence: round(row.meanConfidence),
      queries: row.queries,
      queriesPerSubject: Math.round(row.queries / classes.length),
      iterationsPerSubject: Math.round(row.gradients / classes.length),
      seconds: round(row.seconds, 1),
    };
    rows.push(out);
    log(JSON.stringify(out));
    if (values.report) {
      const report = buildReport({
        model: target.info,
        dataset: datasetSummary(train),
        cleanAccuracy: await evaluateAccuracy(victim, train),
        seed,
        backend,
        command: `npx tsx bench/inversion.ts ${process.argv.slice(2).join(' ')}`,
        attacks: [result],
      });
      const files = await writeReport(join(values.report, `${kind}-${gradient}`), report);
      log(`report: ${files.html}`);
    }
  }
  victim.dispose();
}
evaluator.dispose();
cnnEval.model.dispose();

console.log(
  JSON.stringify(
    {
      bench: 'inversion',
      dataset: `AT&T faces, 40 subjects, images 1-7 train / 8-10 held out, ${h}x${w} (downscale ${values.downscale})`,
      backend,
      options: { steps, budget, directions, stepSize: 0.1, patience: 100, confidence: 0.99, process: 'none', seed },
      chance: { identificationAccuracy: 1 / 40 },
      evaluators: evaluatorInfo,
      victims,
      rows,
    },
    null,
    2,
  ),
);
