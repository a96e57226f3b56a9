// The demo's report folder: metrics.json (every run's numbers, config and wall times), table.md
// (the Table 3 shaped results), loss_curves.png (each run's detection loss, from its
// metrics.jsonl) and ap_by_size.png (the six COCO numbers per model).
import { promises as fsp } from 'fs';
import * as path from 'path';
import { barChartSvg, lineChartSvg, svgToPng, type LineSeries } from '../plot';
import { readMetrics } from '../train/curves';
import type { DemoResult } from './result';
import { TABLE_COLUMNS } from './table';

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

async function lossCurves(result: DemoResult, file: string): Promise<void> {
  const series: LineSeries[] = [];
  let window = 1;
  for (const run of result.runs) {
    const records = (await readMetrics(run.metrics)).filter((r) => r.losses?.loss !== undefined);
    window = Math.max(1, Math.round(records.length / 40));
    const name = result.rows.find((r) => r.variant.key === run.variant)?.variant.short ?? run.variant;
    series.push({
      name: result.options.seeds > 1 ? `${name}, seed ${run.seed}` : name,
      x: records.map((r) => r.iteration),
      y: smooth(records.map((r) => detectionLoss(r.losses as Record<string, number>)), window),
    });
  }
  const smoothed = window > 1 ? `, mean of ${window} iterations` : '';
  const title = `Detection loss (RPN + box head, no relation loss${smoothed})`;
  await svgToPng(lineChartSvg({ series, title, xLabel: 'iteration', yLabel: 'loss', width: 900, height: 480 }), file);
}

async function apBars(result: DemoResult, file: string): Promise<void> {
  const series = result.rows.map((row) => ({ name: row.variant.short, values: row.mean }));
  const seeds = result.options.seeds > 1 ? `, mean of ${result.options.seeds} seeds` : '';
  const title = `COCO AP on the synthetic val split (%${seeds})`;
  await svgToPng(barChartSvg({ labels: [...TABLE_COLUMNS], series, title, yLabel: 'AP (%)', width: 900, height: 480 }), file);
}

function tableMarkdown(result: DemoResult): string {
  const o = result.options;
  const d = result.dataset;
  const seeds = o.seeds > 1 ? `mean ± std over seeds 0..${o.seeds - 1}` : 'seed 0';
  return [
    '# IR R-CNN demo: ablation on the synthetic small-object set',
    '',
    `COCO box AP (%) on ${d.valImagesCount} val images (${d.objects.val.small} small, ${d.objects.val.medium} medium, ` +
      `${d.objects.val.large} large objects); every model trained from scratch for ${o.iterations} iterations on ` +
      `${d.trainImagesCount} images of ${d.imageSize} px; ${seeds}. Shape of the paper's Table 3.`,
    '',
    result.table,
    '',
    `Wall time ${(result.wallSeconds / 60).toFixed(1)} min on ${result.machine.cpus} CPU cores (${result.machine.threads} LibTorch threads).`,
    '',
  ].join('\n');
}

/** Writes the report files into `out` and returns their paths. */
export async function writeReport(out: string, result: DemoResult): Promise<string[]> {
  const files = {
    metrics: path.join(out, 'metrics.json'),
    table: path.join(out, 'table.md'),
    losses: path.join(out, 'loss_curves.png'),
    bars: path.join(out, 'ap_by_size.png'),
  };
  await lossCurves(result, files.losses);
  await apBars(result, files.bars);
  await fsp.writeFile(files.table, tableMarkdown(result));
  const rows = result.rows.map((r) => ({ ...r, variant: r.variant.key, label: r.variant.label, columns: TABLE_COLUMNS }));
  await fsp.writeFile(files.metrics, `${JSON.stringify({ ...result, rows, files: [...result.files, ...Object.values(files)] }, null, 2)}\n`);
  return Object.values(files);
}
