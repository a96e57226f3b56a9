// Grouped bar charts as SVG: AP per size bucket or per category, one bar group per label and one
// bar per series within it.
import { PALETTE, checkSize, frameSvg, linearScale, plotArea, svgDocument } from './frame';

export interface BarSeries {
  name: string;
  /** One value per label; non-finite values draw no bar. */
  values: ArrayLike<number>;
  color?: string;
}

export interface BarChartSpec {
  labels: string[];
  series: BarSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  yRange?: [number, number];
  width?: number;
  height?: number;
}

export function barChartSvg(spec: BarChartSpec): string {
  const width = spec.width ?? 640;
  const height = spec.height ?? 420;
  checkSize('barChart', width, height);
  spec.series.forEach((s, i) => {
    if (s.values.length !== spec.labels.length) {
      throw new Error(`barChart: series ${i} ('${s.name}') has ${s.values.length} values for ${spec.labels.length} labels`);
    }
  });
  const colored = spec.series.map((s, i) => ({ ...s, color: s.color ?? PALETTE[i % PALETTE.length] }));
  // A single series needs no legend: the title says what it is.
  const legend = colored.length > 1 ? colored.map(({ name, color }) => ({ name, color })) : [];
  const frame = { width, height, title: spec.title, xLabel: spec.xLabel, yLabel: spec.yLabel, legend };
  const area = plotArea(frame);
  const finite = colored.flatMap((s) => Array.from(s.values).filter(Number.isFinite));
  const [y0, y1] = spec.yRange ?? [Math.min(0, ...finite), Math.max(0, ...finite)];
  const y = linearScale(y0, y1, area.bottom, area.top);
  const group = (area.right - area.left) / Math.max(1, spec.labels.length);
  const barWidth = (group * 0.8) / Math.max(1, colored.length);
  const labels = spec.labels.map((text, i) => ({ at: area.left + group * (i + 0.5), text }));
  const body = frameSvg(frame, area, { labels }, y);
  const base = y.toPixel(Math.max(y.min, Math.min(y.max, 0)));
  spec.labels.forEach((_, i) => {
    colored.forEach((s, j) => {
      const v = s.values[i];
      if (!Number.isFinite(v)) return;
      const top = y.toPixel(v);
      const bx = area.left + group * i + group * 0.1 + barWidth * j;
      body.push(`<rect x="${bx.toFixed(1)}" y="${Math.min(top, base).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${Math.abs(base - top).toFixed(1)}" fill="${s.color}"/>`);
    });
  });
  return svgDocument(width, height, body);
}
