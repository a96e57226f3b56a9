// The demo's report folder: report.html (the whole report in one self-contained page, see
// html.ts), metrics.json (every run's numbers, config and wall times, the intervals), table.md
// (the Table 3 shaped results), loss_curves.png (each run's detection loss, from its metrics.jsonl)
// and ap_by_size.png (the six COCO numbers per model).
import { promises as fsp } from 'fs';
import * as path from 'path';
import { barChartSvg, lineChartSvg, svgToPng, type LineSeries } from '../plot';
import { readMetrics, type MetricsRecord } from '../train/curves';
import { reportHtml, type ReportCharts } from './html';
import type { DemoResult, RunRecord } from './result';
import { TABLE_COLUMNS, tableCaption, wallTime } from './table';

/** Sized to be read at half the report's width, two charts a row. */
const CHART = { width: 720, height: 420 };

/** Trailing mean over `window` points: single iterations of 2 images are too noisy to read. */
function smooth(values: number[], window: number): number[] {
  let sum = 0;
  return values.map((v, i) => {
    sum += v - (i >= window ? values[i - window] : 0);
    return sum / Math.min(i + 1, window);
  });
}

/** The four Faster R-CNN loss terms: IR R-CNN's relation loss is left out so the curves compare. */
function detectionLoss(losses: Record<string, number>): number {
  return losses.loss - (losses.loss_relation ?? 0);
}

/** A run's name in chart legends. */
function seriesName(result: DemoResult, run: RunRecord): string {
  const name = result.rows.find((r) => r.variant.key === run.variant)?.variant.short ?? run.variant;
  return result.options.seeds > 1 ? `${name}, seed ${run.seed}` : name;
}

function lossCurvesSvg(result: DemoResult, metrics: MetricsRecord[][]): string {
  const series: LineSeries[] = [];
  let window = 1;
  result.runs.forEach((run, i) => {
    const records = metrics[i].filter((r) => r.losses?.loss !== undefined);
    window = Math.max(1, Math.round(records.length / 40));
    series.push({
      name: seriesName(result, run),
      x: records.map((r) => r.iteration),
      y: smooth(records.map((r) => detectionLoss(r.losses as Record<string, number>)), window),
    });
  });
  const smoothed = window > 1 ? `, mean of ${window} iterations` : '';
  return lineChartSvg({ series, title: `Detection loss (RPN + box head, no relation loss${smoothed})`, xLabel: 'iteration', yLabel: 'loss', ...CHART });
}

/** Val AP over training, where the runs evaluated during training (--eval-every); undefined otherwise. */
function apCurvesSvg(result: DemoResult, metrics: MetricsRecord[][]): string | undefined {
  const series: LineSeries[] = result.runs.map((run, i) => {
    const records = metrics[i].filter((r) => r.ap !== undefined);
    return { name: seriesName(result, run), x: records.map((r) => r.iteration), y: records.map((r) => 100 * (r.ap as number)) };
  });
  if (series.every((s) => s.x.length === 0)) return undefined;
  return lineChartSvg({ series, title: 'COCO AP on the val split during training (%)', xLabel: 'iteration', yLabel: 'AP (%)', ...CHART });
}

function seedsNote(result: DemoResult): string {
  return result.options.seeds > 1 ? `, mean of ${result.options.seeds} seeds` : '';
}

function apBarsSvg(result: DemoResult): string {
  const series = result.rows.map((row) => ({ name: row.variant.short, values: row.mean }));
  const title = `COCO AP on the synthetic val split (%${seedsNote(result)})`;
  return barChartSvg({ labels: [...TABLE_COLUMNS], series, title, yLabel: 'AP (%)', ...CHART });
}

function perCategorySvg(result: DemoResult): string {
  const categories = Object.keys(result.runs[0]?.perCategory ?? {});
  const series = result.rows.map((row) => {
    const own = result.runs.filter((r) => r.variant === row.variant.key);
    const values = categories.map((name) => {
      const defined = own.map((r) => r.perCategory[name]).filter((v) => v >= 0);
      return defined.length ? (100 * defined.reduce((a, b) => a + b, 0)) / defined.length : NaN;
    });
    return { name: row.variant.short, values };
  });
  const title = `AP per category on the val split (%${seedsNote(result)})`;
  return barChartSvg({ labels: categories, series, title, yLabel: 'AP (%)', ...CHART });
}

function tableMarkdown(result: DemoResult): string {
  return ['# IR R-CNN demo: ablation on the synthetic small-object set', '', tableCaption(result), '', result.table, '', result.note, '', wallTime(result), ''].join('\n');
}

/** Writes the report files into `out` and returns their paths. */
export async function writeReport(out: string, result: DemoResult): Promise<string[]> {
  const files = {
    html: path.join(out, 'report.html'),
    metrics: path.join(out, 'metrics.json'),
    table: path.join(out, 'table.md'),
    losses: path.join(out, 'loss_curves.png'),
    bars: path.join(out, 'ap_by_size.png'),
  };
  const metrics = await Promise.all(result.runs.map((run) => readMetrics(run.metrics)));
  const charts: ReportCharts = {
    losses: lossCurvesSvg(result, metrics),
    ap: apCurvesSvg(result, metrics),
    bySize: apBarsSvg(result),
    perCategory: perCategorySvg(result),
  };
  await svgToPng(charts.losses, files.losses);
  await svgToPng(charts.bySize, files.bars);
  await fsp.writeFile(files.table, tableMarkdown(result));
  await fsp.writeFile(files.html, await reportHtml(result, charts));
  const rows = result.rows.map((r) => ({ ...r, variant: r.variant.key, label: r.variant.label, columns: TABLE_COLUMNS }));
  await fsp.writeFile(files.metrics, `${JSON.stringify({ ...result, rows, files: [...result.files, ...Object.values(files)] }, null, 2)}\n`);
  return Object.values(files);
}
