import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineChartSpec, lineChartSvg } from '../../src/report/charts.js';

const lineMarks = (svg: string) => (svg.match(/aria-roledescription="line mark"/g) ?? []).length;

describe('lineChartSvg', () => {
  it('renders one line per series, with a labelled rule', async () => {
    const svg = await lineChartSvg({
      title: 'Accuracy under attack',
      xTitle: 'eps',
      yTitle: 'accuracy',
      series: [
        {
          name: 'fgsm',
          points: [
            { x: 0.05, y: 0.6 },
            { x: 0.1, y: 0.2 },
          ],
        },
        {
          name: 'pgd',
          points: [
            { x: 0.05, y: 0.4 },
            { x: 0.1, y: 0.05 },
          ],
        },
        {
          name: 'square',
          points: [
            { x: 0.05, y: 0.7 },
            { x: 0.1, y: 0.5 },
          ],
        },
      ],
      rules: [{ label: 'clean 88%', y: 0.88 }],
      yDomain: [0, 1],
    });
    assert.match(svg, /^<svg[^>]*width="\d+" height="\d+"/);
    assert.equal(lineMarks(svg), 3);
    assert.match(svg, /role-mark[^"]*"[^>]*aria-roledescription="rule mark container"/);
    assert.match(svg, />clean 88%</);
    assert.match(svg, />Accuracy under attack</);
    for (const name of ['fgsm', 'pgd', 'square']) assert.match(svg, new RegExp(`>${name}<`));
  });

  it('keeps same-named series apart and escapes their names', async () => {
    const svg = await lineChartSvg({
      title: 't',
      xTitle: 'x',
      yTitle: 'y',
      series: [
        {
          name: '<b>pgd</b>',
          points: [
            { x: 1, y: 1 },
            { x: 2, y: 2 },
          ],
        },
        {
          name: '<b>pgd</b>',
          points: [
            { x: 1, y: 2 },
            { x: 2, y: 3 },
          ],
        },
      ],
    });
    assert.equal(lineMarks(svg), 2);
    assert.doesNotMatch(svg, /<b>/);
    assert.match(svg, /&lt;b&gt;pgd&lt;\/b&gt; \(2\)/);
  });

  it('drops points a log axis cannot show', () => {
    const spec = lineChartSpec({
      title: 'ROC',
      xTitle: 'FPR',
      yTitle: 'TPR',
      logX: true,
      logY: true,
      series: [
        {
          name: 'roc',
          points: [
            { x: 0, y: 0 },
            { x: 0.01, y: 0.1 },
            { x: 1, y: 1 },
          ],
        },
      ],
    });
    const layer = (spec as { layer: { data: { values: { x: number }[] } }[] }).layer[0];
    assert.deepEqual(
      layer.data.values.map((v) => v.x),
      [0.01, 1],
    );
  });

  it('renders log-log charts', async () => {
    const svg = await lineChartSvg({
      title: 'ROC',
      xTitle: 'FPR',
      yTitle: 'TPR',
      logX: true,
      logY: true,
      series: [
        {
          name: 'roc',
          points: [
            { x: 0.001, y: 0.01 },
            { x: 0.1, y: 0.3 },
            { x: 1, y: 1 },
          ],
        },
      ],
    });
    assert.equal(lineMarks(svg), 1);
    assert.match(svg, /log scale/);
  });
});
