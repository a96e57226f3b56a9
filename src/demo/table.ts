// The demo's results in the shape of the paper's Table 3: one row per model, which graphs it uses
// (Sem, Spa) and the six COCO numbers AP, AP50, AP75, APs, APm, APl in percent. Over several seeds
// each cell is the mean ± the sample standard deviation. Each model after the baseline also gets
// its paired difference to the baseline in AP and APs with a 95% bootstrap interval: over the val
// images always, over the seeds with two or more (src/demo/intervals.ts computes them).
import type { Interval } from '../eval/bootstrap';
import type { DemoVariant } from './preset';
import type { DemoResult } from './result';

export const TABLE_COLUMNS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const;
/** The columns whose difference to the baseline the table shows (metrics.json has all six). */
export const DIFFERENCE_COLUMNS = ['AP', 'APs'] as const;

/** What a bootstrap resamples: the val images, or the training seeds. */
export type ResamplingUnit = 'images' | 'seeds';

/** A model's paired difference to the baseline per TABLE_COLUMNS entry, in AP points, by resampling unit. */
export type Differences = Partial<Record<ResamplingUnit, Interval[]>>;

export interface TableRow {
  variant: DemoVariant;
  /** Seeds averaged. */
  runs: number;
  /** Per column (TABLE_COLUMNS order), in percent. NaN where COCO gives -1 (no such objects). */
  mean: number[];
  /** Sample standard deviation over seeds (0 with one seed). */
  std: number[];
  /** The difference to the baseline (none on the baseline's row, or when not computed). */
  difference?: Differences;
}

/** One row per variant from its runs' first six COCO stats (0..1, -1 for "none"), with the differences by variant key. */
export function tableRows(variants: DemoVariant[], runs: { variant: string; stats: number[] }[], differences = new Map<string, Differences>()): TableRow[] {
  return variants.map((variant) => {
    const own = runs.filter((r) => r.variant === variant.key);
    const mean: number[] = [];
    const std: number[] = [];
    TABLE_COLUMNS.forEach((_, c) => {
      const values = own.map((r) => (r.stats[c] < 0 ? NaN : 100 * r.stats[c]));
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.length > 1 ? values.reduce((a, v) => a + (v - m) ** 2, 0) / (values.length - 1) : 0;
      mean.push(m);
      std.push(Math.sqrt(variance));
    });
    return { variant, runs: own.length, mean, std, difference: differences.get(variant.key) };
  });
}

function cell(mean: number, std: number, runs: number): string {
  if (!Number.isFinite(mean)) return '–';
  return runs > 1 ? `${mean.toFixed(1)} ± ${std.toFixed(1)}` : mean.toFixed(1);
}

/** One decimal with its sign; "0.0" where it rounds to zero. */
function signed(v: number): string {
  const text = Math.abs(v).toFixed(1);
  return text === '0.0' ? text : `${v > 0 ? '+' : '-'}${text}`;
}

/** "+4.1 [+2.9, +5.3]"; "–" where undefined. */
export function intervalCell(interval: Interval): string {
  if (![interval.estimate, interval.low, interval.high].every(Number.isFinite)) return '–';
  return `${signed(interval.estimate)} [${signed(interval.low)}, ${signed(interval.high)}]`;
}

/** The table's header and cells, as text (for Markdown and the HTML report alike). */
export function tableCells(rows: TableRow[]): { header: string[]; body: string[][] } {
  const units = (['images', 'seeds'] as const).filter((unit) => rows.some((r) => r.difference?.[unit]));
  const deltas = units.flatMap((unit) => DIFFERENCE_COLUMNS.map((name) => ({ unit, name, column: TABLE_COLUMNS.indexOf(name) })));
  const header = ['Model', 'Sem', 'Spa', ...TABLE_COLUMNS, ...deltas.map(({ unit, name }) => `Δ${name} (${unit})`)];
  const body = rows.map((r) => [
    r.variant.label,
    r.variant.semantic ? '✓' : '',
    r.variant.spatial ? '✓' : '',
    ...r.mean.map((m, c) => cell(m, r.std[c], r.runs)),
    ...deltas.map(({ unit, column }) => {
      const interval = r.difference?.[unit]?.[column];
      return interval ? intervalCell(interval) : '';
    }),
  ]);
  return { header, body };
}

/** The table as GitHub Markdown (also readable as plain text in a terminal). */
export function formatTable(rows: TableRow[]): string {
  const { header, body } = tableCells(rows);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((line) => line[c].length)));
  const line = (cells: string[]) => `| ${cells.map((text, c) => text.padEnd(widths[c])).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** What the Δ columns mean, one paragraph; '' when the table has none. */
export function differenceNote(rows: TableRow[], bootstrap: { resamples: number; valImages: number; seeds: number }): string {
  const has = (unit: ResamplingUnit) => rows.some((r) => r.difference?.[unit]);
  if (!has('images') && !has('seeds')) return '';
  const units = [
    has('images') ? `(images) draws the ${bootstrap.valImages} val images with replacement, the same draw for every model and seed, and evaluates COCO AP again` : '',
    has('seeds') ? `(seeds) draws the ${bootstrap.seeds} seeds with replacement, each seed's pair kept together (with few seeds this interval understates the uncertainty)` : '',
  ].filter(Boolean);
  return (
    `Δ: difference to the baseline in AP points, paired (same seeds, same val images), mean over seeds, with its 95% interval ` +
    `[low, high] from a percentile bootstrap of ${bootstrap.resamples} resamples: ${units.join('; ')}.`
  );
}

/** The table's caption: what was trained on what, and what the numbers are. */
export function tableCaption(result: DemoResult): string {
  const o = result.options;
  const d = result.dataset;
  const seeds = o.seeds > 1 ? `mean ± std over seeds 0..${o.seeds - 1}` : 'seed 0';
  return (
    `COCO box AP (%) on ${d.valImagesCount} val images (${d.objects.val.small} small, ${d.objects.val.medium} medium, ` +
    `${d.objects.val.large} large objects); every model trained from scratch for ${o.iterations} iterations on ` +
    `${d.trainImagesCount} images of ${d.imageSize} px; ${seeds}. Shape of the paper's Table 3.`
  );
}

/** How long the demo took, where. */
export function wallTime(result: DemoResult): string {
  return `Wall time ${(result.wallSeconds / 60).toFixed(1)} min on ${result.machine.cpus} CPU cores (${result.machine.threads} LibTorch threads).`;
}
