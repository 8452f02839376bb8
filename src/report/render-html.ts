/**
 * Renders a report document as one self-contained HTML page: inline CSS, inline SVG charts
 * and inline PNG data URIs, no scripts and no external resources (the only links are to
 * MITRE ATLAS technique pages). Every string from the document is HTML-escaped.
 */
import { atlasUrl } from './atlas.js';
import type { ChartSeries, LineChartOptions } from './charts.js';
import { encodePng, pngDataUri } from './png.js';
import type {
  Report,
  ReportAttack,
  ReportChart,
  ReportDefense,
  ReportDetector,
  ReportExamples,
  ReportRow,
} from './schema.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and quoted attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:0;background:#f5f6f8}
main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #d8dbe2;padding-bottom:4px}
h3{font-size:16px;margin:18px 0 6px}.attack h3{margin-top:2px}
.sub{color:#5a6272;margin:0 0 16px}
.card{background:#fff;border:1px solid #dfe2e8;border-radius:6px;padding:14px 18px;margin:12px 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0}
dl.meta dt{color:#5a6272}dl.meta dd{margin:0;overflow-wrap:anywhere}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{border:1px solid #dfe2e8;padding:4px 8px;vertical-align:top}
th{background:#eef0f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.tm{max-width:320px;color:#3d4452;font-size:12px}
.big{font-size:20px;font-weight:600}
a{color:#1f5fbf}
figure{margin:0}
.chart svg{max-width:100%;height:auto}
.grid{display:flex;flex-wrap:wrap;gap:10px}
.pair{background:#fff;border:1px solid #dfe2e8;border-radius:4px;padding:6px}
.pair .imgs{display:flex;gap:4px}
.pair img{image-rendering:pixelated;image-rendering:crisp-edges;display:block;background:#888}
.pair figcaption{font-size:12px;margin-top:4px;line-height:1.35}
.legend{font-size:12px;color:#5a6272;margin:4px 0 8px}
.flip{color:#b3261e;font-weight:600}.kept{color:#2e7d32}
footer{color:#7a8190;font-size:12px;margin-top:30px}
`;

// ---------------------------------------------------------------------------------------
// Number formatting

function sig(x: number, digits = 4): string {
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return x.toExponential(digits - 1);
  return String(Number(x.toPrecision(digits)));
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** The metric columns of the summary table, in order; other row keys follow. */
const KNOWN_COLUMNS: ReadonlyArray<{ key: string; label: string; format: (x: number) => string }> = [
  { key: 'eps', label: 'ε', format: (x) => sig(x, 5) },
  { key: 'accuracy', label: 'accuracy', format: percent },
  { key: 'successRate', label: 'success rate', format: percent },
  { key: 'meanPerturbation', label: 'mean perturbation', format: (x) => sig(x) },
  { key: 'queries', label: 'queries', format: (x) => sig(x) },
  { key: 'gradients', label: 'gradients', format: (x) => sig(x) },
  { key: 'seconds', label: 'seconds', format: (x) => (x < 10 ? x.toFixed(2) : x.toFixed(1)) },
];

function metricColumns(
  attacks: readonly ReportAttack[],
): { key: string; label: string; format: (x: number) => string }[] {
  const present = new Set<string>();
  for (const a of attacks)
    for (const row of a.rows) for (const [k, v] of Object.entries(row)) if (v !== undefined) present.add(k);
  const known = KNOWN_COLUMNS.filter((c) => present.has(c.key));
  const extra = [...present]
    .filter((k) => !KNOWN_COLUMNS.some((c) => c.key === k))
    .map((key) => ({ key, label: key, format: (x: number) => sig(x) }));
  return [...known, ...extra];
}

// ---------------------------------------------------------------------------------------
// Sections

function atlasLink(attack: ReportAttack): string {
  return `<a href="${escapeHtml(atlasUrl(attack.atlas))}" title="${escapeHtml(attack.atlasName)}">${escapeHtml(attack.atlas)}</a>`;
}

function header(report: Report): string {
  const { model, dataset } = report;
  const meta: [string, string][] = [
    ['Model', `<b>${escapeHtml(model.name)}</b>`],
    ['SHA-256', model.sha256 ? `<code>${escapeHtml(model.sha256)}</code>` : '—'],
    ['Access', escapeHtml(model.access)],
    ['Input shape', `[${escapeHtml(model.inputShape.join(', '))}], ${escapeHtml(model.numClasses)} classes`],
  ];
  if (model.source) meta.push(['Model source', `<code>${escapeHtml(model.source)}</code>`]);
  meta.push([
    'Dataset',
    `${escapeHtml(dataset.name)} (${escapeHtml(dataset.size)} examples, shape [${escapeHtml(dataset.shape.join(', '))}])`,
  ]);
  if (dataset.source) meta.push(['Dataset source', `<code>${escapeHtml(dataset.source)}</code>`]);
  meta.push(
    ['Seed', escapeHtml(report.seed)],
    ['Date', escapeHtml(report.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))],
    [
      'Runtime',
      `aegis ${escapeHtml(report.tool.version)}, tfjs ${escapeHtml(report.runtime.backend)}, Node ${escapeHtml(report.runtime.node)}`,
    ],
  );
  if (report.command) meta.push(['Command', `<code>${escapeHtml(report.command)}</code>`]);
  return `<header>
<h1>Aegis security report</h1>
<p class="sub">${escapeHtml(report.attacks.length)} attack(s) against <b>${escapeHtml(model.name)}</b></p>
<div class="card" style="display:flex;gap:40px;flex-wrap:wrap;align-items:center">
<dl class="meta">${meta.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
<div><div class="sub" style="margin:0">Clean accuracy</div><div class="big">${escapeHtml(percent(report.clean.accuracy))}</div>
<div class="sub" style="margin:0">on ${escapeHtml(report.clean.size)} examples</div></div>
</div>
</header>`;
}

function summaryTable(attacks: readonly ReportAttack[]): string {
  const columns = metricColumns(attacks);
  const head = `<tr><th>Attack</th><th>ATLAS</th><th>Threat model</th>${columns.map((c) => `<th>${escapeHtml(c.label)}</th>`).join('')}</tr>`;
  const body = attacks.flatMap((attack) => {
    const rows: ReportRow[] = attack.rows.length > 0 ? attack.rows : [{}];
    return rows.map((row, i) => {
      const lead =
        i === 0
          ? `<td rowspan="${rows.length}"><b>${escapeHtml(attack.name)}</b><br>${escapeHtml(attack.title)}</td>` +
            `<td rowspan="${rows.length}">${atlasLink(attack)}<br><small>${escapeHtml(attack.atlasName)}</small></td>` +
            `<td rowspan="${rows.length}" class="tm">${escapeHtml(attack.threatModelText)}</td>`
          : '';
      const cells = columns.map((c) => {
        const v = row[c.key];
        return `<td class="num">${v === undefined ? '—' : escapeHtml(c.format(v))}</td>`;
      });
      return `<tr>${lead}${cells.join('')}</tr>`;
    });
  });
  return `<table class="summary"><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>`;
}

/** The defense matrix: defenses as rows, attack@eps as columns; each cell robust accuracy (detectors: detection / FPR). */
function defenseMatrixTable(defenses: readonly ReportDefense[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const columns: { attack: string; eps: number }[] = [];
  for (const d of defenses) {
    for (const c of d.cells) {
      if (!columns.some((k) => k.attack === c.attack && k.eps === c.eps))
        columns.push({ attack: c.attack, eps: c.eps });
    }
  }
  const head = `<tr><th>Defense</th><th>Clean accuracy</th><th>Cost</th>${columns.map((k) => `<th>${escapeHtml(`${k.attack}@${k.eps}`)}</th>`).join('')}</tr>`;
  const body = defenses.map((d) => {
    const cells = columns.map((k) => {
      const c = d.cells.find((x) => x.attack === k.attack && x.eps === k.eps);
      if (!c) return '<td>—</td>';
      if (c.status && c.status !== 'ok')
        return `<td title="${escapeHtml(c.reason ?? '')}">${escapeHtml(c.status)}</td>`;
      const parts = [`acc ${c.accuracy === undefined ? '—' : pct(c.accuracy)}`];
      if (c.detectionRate !== undefined) parts.push(`det ${c.detectionRate === null ? '—' : pct(c.detectionRate)}`);
      if (c.falsePositiveRate !== undefined) parts.push(`FPR ${pct(c.falsePositiveRate)}`);
      return `<td class="num"${c.reason ? ` title="${escapeHtml(c.reason)}"` : ''}>${escapeHtml(parts.join(' · '))}</td>`;
    });
    const mitigations = d.mitigations.map((m) => `${m.id} ${m.name}`).join(', ');
    const lead = `<td><b>${escapeHtml(d.name)}</b><br><small>${escapeHtml(d.kind)}${mitigations ? ` · ${escapeHtml(mitigations)}` : ''}</small></td>`;
    return `<tr>${lead}<td class="num">${pct(d.cleanAccuracy)}</td><td class="num">${pct(d.cleanAccuracyCost)}</td>${cells.join('')}</tr>`;
  });
  return `<table class="summary"><thead>${head}</thead><tbody>${body.join('\n')}</tbody></table>`;
}

/** Inline SVG in HTML needs no namespace declarations; dropping them keeps the page free of URLs. */
function inlineSvg(svg: string): string {
  return svg.replace(/\s+xmlns(:xlink)?="[^"]*"/g, '');
}

const NORM_LABEL: Record<string, string> = { linf: 'L-inf', l2: 'L2' };

/** One robustness curve per norm (budgets in different norms do not share an axis). */
async function robustnessCharts(report: Report): Promise<string[]> {
  const byNorm = new Map<string, ChartSeries[]>();
  for (const attack of report.attacks) {
    const points = attack.rows
      .filter((r) => r.eps !== undefined && r.accuracy !== undefined)
      .map((r) => ({ x: r.eps as number, y: r.accuracy as number }))
      .sort((a, b) => a.x - b.x);
    if (points.length === 0) continue;
    const norm = attack.threatModel.norm;
    const list = byNorm.get(norm) ?? [];
    list.push({ name: attack.name, points });
    byNorm.set(norm, list);
  }
  const charts: string[] = [];
  for (const [norm, series] of byNorm) {
    const label = NORM_LABEL[norm] ?? norm;
    const svg = await lineChartSvg({
      title: `Accuracy under attack (${label})`,
      xTitle: `budget ε (${label})`,
      yTitle: 'accuracy',
      series,
      rules: [{ label: `clean ${percent(report.clean.accuracy)}`, y: report.clean.accuracy }],
      yDomain: [0, 1],
      xZero: true,
    });
    charts.push(`<figure class="chart card">${inlineSvg(svg)}</figure>`);
  }
  return charts;
}

/** vega and vega-lite take ~0.4 s of CPU to load: only commands that draw a chart pay for them. */
async function lineChartSvg(options: LineChartOptions): Promise<string> {
  const charts = await import('./charts.js');
  return charts.lineChartSvg(options);
}

async function extraChart(chart: ReportChart): Promise<string> {
  const svg = await lineChartSvg({ ...chart });
  return `<figure class="chart card">${inlineSvg(svg)}</figure>`;
}

// ---------------------------------------------------------------------------------------
// Examples: image grid or feature-change table

interface ImageGeometry {
  height: number;
  width: number;
  channels: 1 | 3;
}

/** NHWC images with 1 or 3 channels (or plain [h, w]); anything else is shown as features. */
function imageGeometry(shape: number[]): ImageGeometry | undefined {
  if (shape.length === 2) return { height: shape[0], width: shape[1], channels: 1 };
  if (shape.length === 3 && (shape[2] === 1 || shape[2] === 3)) {
    return { height: shape[0], width: shape[1], channels: shape[2] };
  }
  return undefined;
}

function toBytes(values: number[], [low, high]: [number, number]): Uint8Array {
  const out = new Uint8Array(values.length);
  const scale = 255 / (high - low);
  for (let i = 0; i < values.length; i++) out[i] = Math.max(0, Math.min(255, Math.round((values[i] - low) * scale)));
  return out;
}

/** The perturbation scaled so its largest entry reaches black or white, centred at grey. */
function perturbationBytes(clean: number[], adversarial: number[]): { bytes: Uint8Array; maxAbs: number } {
  let maxAbs = 0;
  for (let i = 0; i < clean.length; i++) maxAbs = Math.max(maxAbs, Math.abs(adversarial[i] - clean[i]));
  const bytes = new Uint8Array(clean.length).fill(128);
  if (maxAbs > 0) {
    for (let i = 0; i < clean.length; i++) bytes[i] = Math.round(128 + (127 * (adversarial[i] - clean[i])) / maxAbs);
  }
  return { bytes, maxAbs };
}

function className(classNames: readonly string[], index: number): string {
  return classNames[index] ?? String(index);
}

function predictionLine(label: string, predicted: number, truth: number, classNames: readonly string[]): string {
  const css = predicted === truth ? 'kept' : 'flip';
  return `${label} → <span class="${css}">${escapeHtml(className(classNames, predicted))}</span>`;
}

function imageGrid(
  ex: ReportExamples,
  g: ImageGeometry,
  range: [number, number],
  classNames: readonly string[],
): string {
  // ×3 for MNIST/CIFAR-sized images; large images are shown closer to their own size.
  const zoom = Math.max(1, Math.min(3, Math.floor(128 / Math.max(g.height, g.width))));
  const w = g.width * zoom;
  const h = g.height * zoom;
  const img = (bytes: Uint8Array, alt: string) =>
    `<img src="${pngDataUri(encodePng(bytes, g.width, g.height, g.channels))}" width="${w}" height="${h}" alt="${escapeHtml(alt)}" title="${escapeHtml(alt)}">`;
  const captions = ex.captions;
  const showDifference = captions?.showDifference ?? true;
  const [first, second] = [captions?.clean ?? 'clean', captions?.adversarial ?? 'adv'];
  const cards = ex.clean.map((clean, i) => {
    const adversarial = ex.adversarial[i];
    const truth = ex.labels[i];
    const { bytes, maxAbs } = perturbationBytes(clean, adversarial);
    const difference = showDifference ? img(bytes, `perturbation, max |δ| = ${sig(maxAbs, 3)}`) : '';
    const deltaLine = showDifference ? `<br><small>max |δ| = ${escapeHtml(sig(maxAbs, 3))}</small>` : '';
    return `<figure class="pair"><div class="imgs">${img(toBytes(clean, range), first)}${img(
      toBytes(adversarial, range),
      second,
    )}${difference}</div>
<figcaption>true: <b>${escapeHtml(className(classNames, truth))}</b><br>${predictionLine(escapeHtml(first), ex.cleanPredictions[i], truth, classNames)}<br>${predictionLine(escapeHtml(second), ex.adversarialPredictions[i], truth, classNames)}${deltaLine}</figcaption></figure>`;
  });
  const legend =
    captions?.legend ??
    `Each example: clean input, adversarial input (ε = ${sig(ex.eps, 5)}), and the perturbation amplified to full contrast (grey = unchanged).`;
  return `<p class="legend">${escapeHtml(legend)}</p>
<div class="grid">${cards.join('\n')}</div>`;
}

/** For tabular examples: the few features each attack changed most. */
function featureTable(ex: ReportExamples, classNames: readonly string[], top = 5): string {
  const rows = ex.clean.flatMap((clean, i) => {
    const adversarial = ex.adversarial[i];
    const changed = clean
      .map((v, j) => ({ j, delta: adversarial[j] - v }))
      .filter((c) => c.delta !== 0)
      .sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta))
      .slice(0, top);
    const truth = ex.labels[i];
    const lead = `<td rowspan="${Math.max(1, changed.length)}">${i + 1}</td><td rowspan="${Math.max(1, changed.length)}">${escapeHtml(
      className(classNames, truth),
    )}<br>${predictionLine('clean', ex.cleanPredictions[i], truth, classNames)}<br>${predictionLine(
      'adv',
      ex.adversarialPredictions[i],
      truth,
      classNames,
    )}</td>`;
    if (changed.length === 0) return [`<tr>${lead}<td colspan="4">no feature changed</td></tr>`];
    return changed.map(
      (c, k) =>
        `<tr>${k === 0 ? lead : ''}<td>${escapeHtml(ex.featureNames?.[c.j] ?? `feature ${c.j}`)}</td><td class="num">${escapeHtml(
          sig(clean[c.j]),
        )}</td><td class="num">${escapeHtml(sig(adversarial[c.j]))}</td><td class="num">${escapeHtml(
          `${c.delta > 0 ? '+' : ''}${sig(c.delta)}`,
        )}</td></tr>`,
    );
  });
  return `<p class="legend">Largest feature changes per example (ε = ${escapeHtml(sig(ex.eps, 5))}).</p>
<table class="features"><thead><tr><th>#</th><th>label / predictions</th><th>feature</th><th>clean</th><th>adversarial</th><th>change</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function examplesSection(attack: ReportAttack, classNames: readonly string[]): string {
  const ex = attack.examples;
  if (!ex || ex.clean.length === 0) return '';
  const geometry = imageGeometry(ex.shape);
  const body = geometry
    ? imageGrid(ex, geometry, attack.threatModel.inputRange, classNames)
    : featureTable(ex, classNames);
  return `<h4>Examples</h4>${body}`;
}

function mitigationsItem(attack: ReportAttack): string {
  if (!attack.mitigations?.length) return '';
  const links = attack.mitigations.map(
    (m) =>
      `<a href="https://atlas.mitre.org/mitigations/${escapeHtml(m.id)}">${escapeHtml(m.id)}</a> ${escapeHtml(m.name)}`,
  );
  return `\n<dt>Mitigations</dt><dd>${links.join('; ')}</dd>`;
}

async function attackSection(attack: ReportAttack, classNames: readonly string[]): Promise<string> {
  const charts = await Promise.all((attack.charts ?? []).map(extraChart));
  return `<section class="card attack">
<h3>${escapeHtml(attack.title)} <small>(${escapeHtml(attack.name)})</small></h3>
<dl class="meta"><dt>Method</dt><dd>${escapeHtml(attack.citation)}</dd>
<dt>MITRE ATLAS</dt><dd>${atlasLink(attack)} — ${escapeHtml(attack.atlasName)}</dd>
<dt>Threat model</dt><dd>${escapeHtml(attack.threatModelText)}</dd>${mitigationsItem(attack)}</dl>
${charts.join('\n')}
${examplesSection(attack, classNames)}
</section>`;
}

/** A detector's figures: headline metrics, operating point, per-class table, confusion matrix, notes, charts. */
async function detectorSection(d: ReportDetector): Promise<string> {
  const fmt = (v: number | string) => (typeof v === 'number' ? String(v) : escapeHtml(v));
  const rows = (record: Record<string, number | string>) =>
    Object.entries(record)
      .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${fmt(v)}</td></tr>`)
      .join('');
  const perClass = d.perClass?.length
    ? `<h4>Per class</h4><table class="summary"><thead><tr><th>Class</th><th>Precision</th><th>Recall</th><th>F1</th><th>Support</th></tr></thead><tbody>${d.perClass
        .map(
          (c) =>
            `<tr><td>${escapeHtml(c.name)}</td><td class="num">${c.precision}</td><td class="num">${c.recall}</td><td class="num">${c.f1}</td><td class="num">${c.support}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const confusion = d.confusion
    ? `<h4>Confusion matrix (rows: true class, columns: predicted)</h4><table class="summary"><thead><tr><th></th>${d.confusion.classNames
        .map((c) => `<th>${escapeHtml(c)}</th>`)
        .join('')}</tr></thead><tbody>${d.confusion.matrix
        .map(
          (row, t) =>
            `<tr><th>${escapeHtml(d.confusion?.classNames[t] ?? '')}</th>${row.map((v) => `<td class="num">${v}</td>`).join('')}</tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const charts = await Promise.all((d.charts ?? []).map(extraChart));
  return `<section class="card attack">
<h3>${escapeHtml(d.title)} <small>(${escapeHtml(d.name)}, ${escapeHtml(d.kind)})</small></h3>
${d.citation ? `<dl class="meta"><dt>Method</dt><dd>${escapeHtml(d.citation)}</dd></dl>` : ''}
<table class="summary"><tbody>${rows(d.metrics)}</tbody></table>
${d.operatingPoint ? `<h4>Operating point</h4><table class="summary"><tbody>${rows(d.operatingPoint)}</tbody></table>` : ''}
${perClass}
${confusion}
${d.notes?.length ? `<ul>${d.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : ''}
${charts.join('\n')}
</section>`;
}

/** The whole report as one self-contained HTML document. */
export async function renderHtml(report: Report): Promise<string> {
  const classNames = report.dataset.classNames;
  const curves = await robustnessCharts(report);
  const sections = [];
  for (const attack of report.attacks) sections.push(await attackSection(attack, classNames));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aegis report — ${escapeHtml(report.model.name)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${header(report)}
<h2>Findings</h2>
${report.attacks.length > 0 ? summaryTable(report.attacks) : '<p>No attacks were run.</p>'}
${report.detectors?.length ? `<h2>Detector evaluation</h2>\n${(await Promise.all(report.detectors.map(detectorSection))).join('\n')}` : ''}
${report.defenses?.length ? `<h2>Defense matrix</h2>\n<p>Robust accuracy per attack and budget; detectors also show detection rate and false-positive rate. Cost = undefended clean accuracy minus the defense's.</p>\n${defenseMatrixTable(report.defenses)}` : ''}
${curves.length > 0 ? `<h2>Robustness curve</h2>\n${curves.join('\n')}` : ''}
${sections.length > 0 ? `<h2>Attacks</h2>\n${sections.join('\n')}` : ''}
<footer>Generated by Aegis ${escapeHtml(report.tool.version)} · schema ${escapeHtml(report.schema)} · ${escapeHtml(report.createdAt)}</footer>
</main>
</body>
</html>
`;
}
