// The parts every chart shares: the plot frame with title, axis labels, ticks and grid, the legend,
// scales with "nice" 1-2-5 ticks, a colour palette, and XML escaping. Charts are plain SVG text so
// they can be saved as .svg or rendered to PNG (png.ts) without a browser.

/** Matplotlib's tab10: distinct, colour-blind-friendlier than pure hues. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface FrameSpec {
  width: number;
  height: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Legend entries (name, colour), drawn to the right of the plot when there are any. */
  legend: { name: string; color: string }[];
}

/** Pixel box of the plotting area inside the frame. */
export interface PlotArea {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';
const LEGEND_WIDTH = 150;

export function plotArea(spec: FrameSpec): PlotArea {
  return {
    left: 64,
    top: spec.title ? 40 : 16,
    right: spec.width - (spec.legend.length ? LEGEND_WIDTH : 20),
    bottom: spec.height - (spec.xLabel ? 52 : 32),
  };
}

/** A linear map from data to pixels over a domain widened to nice tick values. */
export interface Scale {
  min: number;
  max: number;
  ticks: number[];
  toPixel(v: number): number;
}

export function linearScale(min: number, max: number, pixelFrom: number, pixelTo: number, tickCount = 5): Scale {
  if (!(Number.isFinite(min) && Number.isFinite(max))) {
    min = 0;
    max = 1;
  }
  if (min === max) {
    min -= Math.abs(min) * 0.5 || 0.5;
    max += Math.abs(max) * 0.5 || 0.5;
  }
  const step = niceStep((max - min) / tickCount);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks = Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);
  return { min: lo, max: hi, ticks, toPixel: (v) => pixelFrom + ((v - lo) / (hi - lo)) * (pixelTo - pixelFrom) };
}

/** The 1, 2 or 5 × 10^k step closest above `raw`. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
}

/** Tick label: short, without floating-point noise (0.30000000000000004 → 0.3). */
export function tickLabel(v: number): string {
  return Number(v.toPrecision(6)).toString();
}

/** The frame around `area`: background, grid, axes, ticks, labels, title and legend. */
export function frameSvg(spec: FrameSpec, area: PlotArea, x: { labels: { at: number; text: string }[] }, y: Scale): string[] {
  const out: string[] = [];
  out.push(`<rect width="${spec.width}" height="${spec.height}" fill="white"/>`);
  for (const t of y.ticks) {
    const py = y.toPixel(t).toFixed(1);
    out.push(`<line x1="${area.left}" y1="${py}" x2="${area.right}" y2="${py}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${area.left - 6}" y="${py}" ${FONT} font-size="11" text-anchor="end" dominant-baseline="middle">${tickLabel(t)}</text>`);
  }
  for (const { at, text } of x.labels) {
    const px = at.toFixed(1);
    out.push(`<line x1="${px}" y1="${area.bottom}" x2="${px}" y2="${area.bottom + 4}" stroke="#333"/>`);
    out.push(`<text x="${px}" y="${area.bottom + 16}" ${FONT} font-size="11" text-anchor="middle">${escapeXml(text)}</text>`);
  }
  out.push(`<rect x="${area.left}" y="${area.top}" width="${area.right - area.left}" height="${area.bottom - area.top}" fill="none" stroke="#333"/>`);
  if (spec.title) {
    out.push(`<text x="${spec.width / 2}" y="24" ${FONT} font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(spec.title)}</text>`);
  }
  if (spec.xLabel) {
    out.push(`<text x="${(area.left + area.right) / 2}" y="${spec.height - 14}" ${FONT} font-size="12" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  }
  if (spec.yLabel) {
    const cy = (area.top + area.bottom) / 2;
    out.push(`<text x="16" y="${cy}" ${FONT} font-size="12" text-anchor="middle" transform="rotate(-90 16 ${cy})">${escapeXml(spec.yLabel)}</text>`);
  }
  // As many legend entries as fit beside the plot; the rest are counted.
  const fits = Math.max(1, Math.floor((area.bottom - area.top) / 18));
  const shown = spec.legend.length > fits ? spec.legend.slice(0, fits - 1) : spec.legend;
  shown.forEach(({ name, color }, i) => {
    const ly = area.top + 8 + i * 18;
    out.push(`<rect x="${area.right + 12}" y="${ly - 5}" width="14" height="10" fill="${color}"/>`);
    out.push(`<text x="${area.right + 32}" y="${ly}" ${FONT} font-size="11" dominant-baseline="middle">${escapeXml(truncate(name, 18))}</text>`);
  });
  if (shown.length < spec.legend.length) {
    const ly = area.top + 8 + shown.length * 18;
    out.push(`<text x="${area.right + 12}" y="${ly}" ${FONT} font-size="11" dominant-baseline="middle">… ${spec.legend.length - shown.length} more</text>`);
  }
  return out;
}

export function svgDocument(width: number, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${body.join('\n')}\n</svg>\n`;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function truncate(text: string, n: number): string {
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

/** Checks a chart size; one-line error naming the chart. */
export function checkSize(what: string, width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 200 && height >= 150 && width <= 8000 && height <= 8000)) {
    throw new Error(`${what}: width and height must be integers in [200, 8000] × [150, 8000], got ${width} × ${height}`);
  }
}
