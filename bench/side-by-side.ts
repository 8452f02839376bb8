/**
 * Aegis vs plain PyTorch in one sitting: alternates ../shared/baseline/reference_pytorch.py
 * --no-art and bench/evasion.ts, `--rounds` times each, and prints one JSON line with both
 * sides' medians and the ratios. This machine's timings swing ±40% between runs, so only
 * a ratio measured side by side counts (baseline/README.md).
 *
 *   npx tsx bench/side-by-side.ts [--rounds 3] [--python /usr/bin/python3]
 *
 * Needs Debian's python3-torch, python3-numpy and python3-sklearn, and the shared folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sharedPath } from '../test/helpers/shared-dir.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const rounds = Number(values.rounds);
const script = sharedPath('baseline', 'reference_pytorch.py');
if (!existsSync(script)) throw new Error(`${script} is absent: the side-by-side comparison needs the shared folder`);

/** Runs a command and parses the last line of its stdout as JSON. */
function lastJson(command: string, args: string[]): Record<string, unknown> {
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

type Figures = { pgd40: number; fgsm: number; pgdAccuracy: number; fgsmAccuracy: number };

function pytorch(): Figures {
  const out = mkdtempSync(join(tmpdir(), 'aegis-ref-'));
  const r = lastJson(values.python as string, [script, '--no-art', '--out-dir', out]) as Record<
    string,
    { images_per_s: number; adv_accuracy: number }
  >;
  return {
    pgd40: r.pgd.images_per_s,
    fgsm: r.fgsm.images_per_s,
    pgdAccuracy: r.pgd.adv_accuracy,
    fgsmAccuracy: r.fgsm.adv_accuracy,
  };
}

function aegis(route: 'onnxruntime' | 'tfjs'): Figures {
  const r = lastJson('npx', ['tsx', 'bench/evasion.ts', '--rounds', '1', '--routes', route]) as Record<string, number>;
  // Generation time only: what the PyTorch script times (it excludes the accuracy pass).
  return {
    pgd40: r.pgd40GenerationImagesPerSecond,
    fgsm: r.fgsmGenerationImagesPerSecond,
    pgdAccuracy: r.pgdAccuracy,
    fgsmAccuracy: r.fgsmAccuracy,
  };
}

const samples: Record<string, Figures[]> = { pytorch: [], aegisOnnxRuntime: [], aegisTfjs: [] };
for (let i = 0; i < rounds; i++) {
  samples.pytorch.push(pytorch());
  samples.aegisOnnxRuntime.push(aegis('onnxruntime'));
  samples.aegisTfjs.push(aegis('tfjs'));
  process.stderr.write(`round ${i + 1}/${rounds}: ${JSON.stringify(samples, null, 0)}\n`);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
const summarise = (s: Figures[]) => ({
  pgd40ImagesPerSecond: Math.round(median(s.map((f) => f.pgd40))),
  fgsmImagesPerSecond: Math.round(median(s.map((f) => f.fgsm))),
  pgdAccuracy: s[0]?.pgdAccuracy,
  fgsmAccuracy: s[0]?.fgsmAccuracy,
  runs: s.map((f) => ({ pgd40: Math.round(f.pgd40), fgsm: Math.round(f.fgsm) })),
});
const py = summarise(samples.pytorch);
const ort = summarise(samples.aegisOnnxRuntime);
const tfjs = summarise(samples.aegisTfjs);
console.log(
  JSON.stringify({
    rounds,
    pytorch: py,
    aegisOnnxRuntime: ort,
    aegisTfjs: tfjs,
    ratios: {
      pgd40OnnxRuntimeVsPytorch: +(ort.pgd40ImagesPerSecond / py.pgd40ImagesPerSecond).toFixed(2),
      pgd40TfjsVsPytorch: +(tfjs.pgd40ImagesPerSecond / py.pgd40ImagesPerSecond).toFixed(2),
      fgsmOnnxRuntimeVsPytorch: +(ort.fgsmImagesPerSecond / py.fgsmImagesPerSecond).toFixed(2),
      fgsmTfjsVsPytorch: +(tfjs.fgsmImagesPerSecond / py.fgsmImagesPerSecond).toFixed(2),
    },
  }),
);
