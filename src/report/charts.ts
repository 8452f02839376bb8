/**
 * Line charts for reports: a vega-lite spec compiled with vega-lite and rendered to an SVG
 * string by vega headless in Node (renderer 'none'; text widths are estimated, no canvas).
 * One generic function serves the robustness curve, ROC curves and fidelity-vs-queries.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  name: string;
  points: ChartPoint[];
}

/** A labelled horizontal reference line (e.g. clean accuracy). */
export interface ChartRule {
  label: string;
  y: number;
}

export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  series: ChartSeries[];
  rules?: ChartRule[];
  logX?: boolean;
  logY?: boolean;
  /** Start a linear x axis at zero (budgets). */
  xZero?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracies. */
  yDomain?: [number, number];
  width?: number;
  height?: number;
}

/** Series names must be unique, or vega would merge two attacks into one line. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    return count === 1 ? name : `${name} (${count})`;
  });
}

/** The vega-lite spec behind lineChartSvg (exported for tests and for embedding elsewhere). */
export function lineChartSpec(options: LineChartOptions): TopLevelSpec {
  const names = uniqueNames(options.series.map((s) => s.name));
  // Log scales cannot show zero or negative values: drop those points rather than fail.
  const keep = (p: ChartPoint) =>
    Number.isFinite(p.x) && Number.isFinite(p.y) && (!options.logX || p.x > 0) && (!options.logY || p.y > 0);
  const values = options.series.flatMap((s, i) =>
    s.points.filter(keep).map((p, order) => ({ series: names[i], x: p.x, y: p.y, order })),
  );
  const yScale = {
    ...(options.logY ? { type: 'log' as const } : { zero: false }),
    ...(options.yDomain ? { domain: options.yDomain } : {}),
  };
  const rules = (options.rules ?? []).filter((r) => Number.isFinite(r.y) && (!options.logY || r.y > 0));
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [
    {
      data: { values },
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: {
          field: 'x',
          type: 'quantitative',
          title: options.xTitle,
          scale: options.logX ? { type: 'log' } : { zero: options.xZero ?? false },
        },
        y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: yScale },
        color: { field: 'series', type: 'nominal', title: null, scale: { domain: names } },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  ];
  if (rules.length > 0) {
    layers.push(
      {
        data: { values: rules },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#666' },
        encoding: { y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: rules },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -4, dy: -2, color: '#444' },
        encoding: {
          y: { field: 'y', type: 'quantitative' },
          x: { value: options.width ?? 480 },
          text: { field: 'label' },
        },
      },
    );
  }
  return {
    title: options.title,
    width: options.width ?? 480,
    height: options.height ?? 280,
    background: 'white',
    layer: layers,
  };
}

/** Renders the chart to a standalone SVG string. */
export async function lineChartSvg(options: LineChartOptions): Promise<string> {
  const vg = compile(lineChartSpec(options)).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
