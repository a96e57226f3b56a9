// Line charts as SVG: precision–recall curves, loss curves, anything y over x with a legend.
import { PALETTE, checkSize, frameSvg, linearScale, plotArea, svgDocument, tickLabel } from './frame';

export interface LineSeries {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  color?: string;
}

export interface LineChartSpec {
  series: LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Fixed axis ranges; default: the data's extent widened to nice ticks. */
  xRange?: [number, number];
  yRange?: [number, number];
  width?: number;
  height?: number;
}

/** The chart as SVG text. Non-finite points leave a gap in their line. */
export function lineChartSvg(spec: LineChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 420;
  checkSize('lineChart', width, height);
  spec.series.forEach((s, i) => {
    if (s.x.length !== s.y.length) throw new Error(`lineChart: series ${i} ('${s.name}') has ${s.x.length} x values but ${s.y.length} y values`);
  });
  const colored = spec.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length] }));
  const frame = { width, height, title: spec.title, xLabel: spec.xLabel, yLabel: spec.yLabel, legend: colored.map(({ name, color }) => ({ name, color })) };
  const area = plotArea(frame);
  const [x0, x1] = spec.xRange ?? extent(colored.map((s) => s.x));
  const [y0, y1] = spec.yRange ?? extent(colored.map((s) => s.y));
  const x = linearScale(x0, x1, area.left, area.right);
  const y = linearScale(y0, y1, area.bottom, area.top);
  const body = frameSvg(frame, area, { labels: x.ticks.map((t) => ({ at: x.toPixel(t), text: tickLabel(t) })) }, y);
  for (const s of colored) {
    for (const segment of segments(s, x.toPixel, y.toPixel)) {
      body.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" points="${segment}"/>`);
    }
  }
  return svgDocument(width, height, body);
}

/** Runs of consecutive finite points, as SVG point lists. */
function segments(s: LineSeries, px: (v: number) => number, py: (v: number) => number): string[] {
  const out: string[] = [];
  let current: string[] = [];
  for (let i = 0; i <= s.x.length; i++) {
    if (i < s.x.length && Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) {
      current.push(`${px(s.x[i]).toFixed(1)},${py(s.y[i]).toFixed(1)}`);
    } else {
      if (current.length) out.push(current.join(' '));
      current = [];
    }
  }
  return out;
}

function extent(arrays: ArrayLike<number>[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      if (Number.isFinite(a[i])) {
        lo = Math.min(lo, a[i]);
        hi = Math.max(hi, a[i]);
      }
    }
  }
  return [lo, hi];
}
