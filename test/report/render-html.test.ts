import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeThreatModel } from '../../src/core/threat-model.js';
import { buildReport } from '../../src/report/build-report.js';
import { escapeHtml, renderHtml } from '../../src/report/render-html.js';
import { decodePng, evasionResult, HOSTILE, imagePairs, pngDataUris, reportInput } from './fixtures.js';

const lineMarks = (html: string) => (html.match(/aria-roledescription="line mark"/g) ?? []).length;

async function sampleHtml() {
  const report = buildReport(
    reportInput([
      evasionResult('fgsm', 'gradients', imagePairs(4, 8, 8, 1, 0.1)),
      evasionResult('square', 'scores', imagePairs(2, 8, 8, 1, 0.2)),
    ]),
  );
  return { report, html: await renderHtml(report) };
}

describe('renderHtml', () => {
  it('shows the model, dataset, seed, date and clean accuracy', async () => {
    const { html, report } = await sampleHtml();
    assert.match(html, /^<!doctype html>/);
    assert.ok(html.includes(report.model.sha256 as string));
    assert.match(html, /cnn\.onnx/);
    assert.match(html, /synthetic \(100 examples/);
    assert.match(html, /<dt>Seed<\/dt><dd>7<\/dd>/);
    assert.match(html, /2025-01-02 03:04:05Z/);
    assert.match(html, />91\.2%</);
  });

  it('has a summary table row per budget with ATLAS links and threat models', async () => {
    const { html } = await sampleHtml();
    const table = html.slice(html.indexOf('<table class="summary">'), html.indexOf('</table>'));
    assert.equal((table.match(/<tr>/g) ?? []).length, 1 + 2 * 3);
    assert.match(table, /<a href="https:\/\/atlas\.mitre\.org\/techniques\/AML\.T0043\/000"[^>]*>AML\.T0043\.000<\/a>/);
    assert.match(table, /<a href="https:\/\/atlas\.mitre\.org\/techniques\/AML\.T0043\/001"[^>]*>AML\.T0043\.001<\/a>/);
    assert.match(table, /white-box \(model internals and gradients\)/);
    for (const col of ['ε', 'accuracy', 'success rate', 'mean perturbation', 'queries', 'seconds']) {
      assert.ok(table.includes(`<th>${col}</th>`), col);
    }
    assert.match(table, /<td class="num">87\.7%<\/td><td class="num">12\.3%<\/td>/);
    assert.match(table, /<td class="num">37,035<\/td>/); // square queries at eps 0.2
  });

  it('draws the robustness curve as an inline SVG with one line per attack', async () => {
    const { html } = await sampleHtml();
    assert.equal((html.match(/<svg/g) ?? []).length, 1);
    assert.equal(lineMarks(html), 2);
    assert.match(html, /Accuracy under attack \(L-inf\)/);
  });

  it('draws one curve per norm', async () => {
    const report = buildReport(
      reportInput([evasionResult('pgd', 'gradients'), evasionResult('cw', 'gradients', undefined, 'l2')]),
    );
    const html = await renderHtml(report);
    assert.equal((html.match(/<svg/g) ?? []).length, 2);
    assert.match(html, /\(L2\)/);
    assert.equal(lineMarks(html), 2);
  });

  it('shows each example pair as three decodable PNGs with class names', async () => {
    const { html } = await sampleHtml();
    const pngs = pngDataUris(html);
    assert.equal(pngs.length, 3 * (4 + 2));
    assert.equal((html.match(/<img /g) ?? []).length, pngs.length);
    for (const bytes of pngs) {
      const png = decodePng(bytes);
      assert.equal(png.width, 8);
      assert.equal(png.height, 8);
      assert.equal(png.colorType, 0);
      assert.equal(png.raw.length, 8 * (1 + 8));
    }
    // The perturbation image is a ±eps checkerboard amplified to full contrast around grey.
    const perturbation = decodePng(pngs[2]).raw;
    // Row 4, columns 4 and 5 are unclipped (+eps, -eps); pixels are stored to 3 decimals,
    // so they come back within a grey level or two of white and black.
    const at = (y: number, x: number) => perturbation[y * (1 + 8) + 1 + x];
    assert.ok(at(4, 4) >= 253, `+eps pixel ${at(4, 4)}`);
    assert.ok(at(4, 5) <= 3, `-eps pixel ${at(4, 5)}`);
    assert.ok(at(0, 1) > 3 && at(0, 1) < 128, `clipped -eps pixel ${at(0, 1)}`);
    assert.match(html, /width="24" height="24"/); // ×3
    assert.match(html, /image-rendering:pixelated/);
    assert.match(
      html,
      /true: <b>zero<\/b><br>clean → <span class="kept">zero<\/span><br>adv → <span class="flip">&lt;script/,
    );
  });

  it('draws RGB examples as colour PNGs', async () => {
    const report = buildReport(reportInput([evasionResult('fgsm', 'gradients', imagePairs(1, 6, 5, 3, 0.05))]));
    const pngs = pngDataUris(await renderHtml(report));
    assert.equal(pngs.length, 3);
    const png = decodePng(pngs[0]);
    assert.equal(png.colorType, 2);
    assert.equal(png.width, 5);
    assert.equal(png.raw.length, 6 * (1 + 5 * 3));
  });

  it('shows the largest feature changes for tabular examples instead of images', async () => {
    const pairs = {
      shape: [6],
      eps: 0.3,
      clean: [Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6)],
      adversarial: [Float32Array.of(0.1, 0.45, 0.3, 0.1, 0.5, 0.61)],
      labels: [1],
      cleanPredictions: [1],
      adversarialPredictions: [3],
    };
    const html = await renderHtml(buildReport(reportInput([evasionResult('fgsm', 'gradients', pairs)])));
    assert.equal(pngDataUris(html).length, 0);
    const table = html.slice(html.indexOf('<table class="features">'));
    const features = [...table.matchAll(/<td>(feature \d+)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual(features, ['feature 3', 'feature 1', 'feature 5']); // by |change|, unchanged ones left out
    assert.match(table, /<td class="num">-0\.3<\/td>/);
    assert.match(table, /<td class="num">\+0\.25<\/td>/);
  });

  it('renders charts other attack families attach', async () => {
    const report = buildReport({
      ...reportInput([]),
      attacks: [
        {
          attack: 'lira',
          title: 'LiRA',
          citation: 'Carlini et al. (2022)',
          atlas: 'AML.T0024.000',
          threatModel: makeThreatModel({ access: 'scores' }),
          rows: [{ auc: 0.61 }],
          charts: [
            {
              title: 'ROC (log-log)',
              xTitle: 'FPR',
              yTitle: 'TPR',
              logX: true,
              logY: true,
              series: [
                {
                  name: 'lira',
                  points: [
                    { x: 0.001, y: 0.01 },
                    { x: 1, y: 1 },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    const html = await renderHtml(report);
    assert.equal((html.match(/<svg/g) ?? []).length, 1); // no eps rows → no robustness curve
    assert.match(html, /ROC \(log-log\)/);
    assert.match(html, /<th>auc<\/th>/);
    assert.match(html, /Infer Training Data Membership/);
  });

  it('is self-contained: no scripts, no external resources, only ATLAS links', async () => {
    const { html } = await sampleHtml();
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /<link|<iframe|<object|<embed|@import|url\(/i);
    for (const m of html.matchAll(/\s(?:src|href)="([^"]*)"/g)) {
      assert.match(
        m[1],
        /^(data:image\/png;base64,|https:\/\/atlas\.mitre\.org\/techniques\/AML\.T\d{4}(\/\d{3})?$)/,
        m[1],
      );
    }
    for (const m of html.matchAll(/(?:https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s"<]*/gi)) {
      assert.match(m[0], /^https:\/\/atlas\.mitre\.org\/techniques\//, m[0]);
    }
  });

  it('escapes class names, model names and attack fields', async () => {
    const hostileModel = '"><img src=x onerror=alert(1)>';
    const result = evasionResult('<b>fgsm</b>', 'gradients', imagePairs(4, 8, 8, 1, 0.1));
    result.title = '<i>title</i>';
    result.citation = '<a href="http://evil.example">x</a>';
    const input = reportInput([result]);
    input.model = { ...input.model, name: hostileModel };
    input.command = 'aegis attack --model "<x>"';
    const html = await renderHtml(buildReport(input));
    assert.doesNotMatch(html, /<script/i);
    assert.ok(html.includes(escapeHtml(HOSTILE)));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
    assert.doesNotMatch(html, /<img src=x/);
    assert.doesNotMatch(html, /<b>fgsm<\/b>|<i>title<\/i>|<a href="http:\/\/evil/);
    assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
    assert.equal(pngDataUris(html).length, 12);
  });
});
