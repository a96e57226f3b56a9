// The demo's results in the shape of the paper's Table 3: one row per model, which graphs it uses
// (Sem, Spa) and the six COCO numbers AP, AP50, AP75, APs, APm, APl in percent. Over several seeds
// each cell is the mean ± the sample standard deviation.
import type { DemoVariant } from './preset';

export const TABLE_COLUMNS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const;

export interface TableRow {
  variant: DemoVariant;
  /** Seeds averaged. */
  runs: number;
  /** Per column (TABLE_COLUMNS order), in percent. NaN where COCO gives -1 (no such objects). */
  mean: number[];
  /** Sample standard deviation over seeds (0 with one seed). */
  std: number[];
}

/** One row per variant from its runs' first six COCO stats (0..1, -1 for "none"). */
export function tableRows(variants: DemoVariant[], runs: { variant: string; stats: number[] }[]): TableRow[] {
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
    return { variant, runs: own.length, mean, std };
  });
}

function cell(mean: number, std: number, runs: number): string {
  if (!Number.isFinite(mean)) return '–';
  return runs > 1 ? `${mean.toFixed(1)} ± ${std.toFixed(1)}` : mean.toFixed(1);
}

/** The table as GitHub Markdown (also readable as plain text in a terminal). */
export function formatTable(rows: TableRow[]): string {
  const header = ['Model', 'Sem', 'Spa', ...TABLE_COLUMNS];
  const body = rows.map((r) => [
    r.variant.label,
    r.variant.semantic ? '✓' : '',
    r.variant.spatial ? '✓' : '',
    ...r.mean.map((m, c) => cell(m, r.std[c], r.runs)),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((line) => line[c].length)));
  const line = (cells: string[]) => `| ${cells.map((text, c) => text.padEnd(widths[c])).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}
