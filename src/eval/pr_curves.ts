// Precision–recall curves from an evaluation, per category and per size bucket, as PNG charts:
// the curves pycocotools' precision array holds (101 recall points, envelope applied).
import * as fs from 'fs';
import * as path from 'path';
import { lineChartSvg, type LineSeries } from '../plot/line_chart';
import { svgToPng } from '../plot/png';
import type { EvalArrays } from './cocoeval';
import { numpyMean, pyFixed, summaryValue } from './summarize';

export interface PrCurveOptions {
  /** IoU threshold of the curves; must be one of the evaluation's (default 0.5). */
  iouThreshold?: number;
  /** Category ids to draw (default: the `maxCategories` with the highest AP). */
  categories?: number[];
  /** Default 10. */
  maxCategories?: number;
  width?: number;
  height?: number;
}

/** One curve per category (area 'all', largest maxDets), labelled with its AP at that IoU. */
export function prCurvesByCategorySvg(e: EvalArrays, options: PrCurveOptions = {}): string {
  const t = thresholdIndex(e, options.iouThreshold ?? 0.5);
  const a = allAreaIndex(e);
  const maxDets = e.params.maxDets[e.params.maxDets.length - 1];
  const area = e.params.areaRanges[a].name;
  const ap = e.categoryIds.map((_, k) => summaryValue(e, { ap: true, iouThreshold: e.params.iouThresholds[t], area, maxDets }, [k]));
  let ks: number[];
  if (options.categories) {
    ks = options.categories.map((id) => {
      const k = e.categoryIds.indexOf(id);
      if (k < 0) throw new Error(`PR curves: category ${id} is not in the evaluation`);
      return k;
    });
  } else {
    ks = e.categoryIds.map((_, k) => k).filter((k) => ap[k] > -1);
    ks.sort((p, q) => ap[q] - ap[p] || p - q);
    ks = ks.slice(0, options.maxCategories ?? 10);
  }
  const series: LineSeries[] = ks.map((k) => ({
    name: `${e.categoryNames[k]} ${ap[k] > -1 ? pyFixed(ap[k], 3) : 'n/a'}`,
    x: e.params.recallThresholds,
    y: curve(e, t, [k], a),
  }));
  return prChartSvg(series, `Precision–recall per category (IoU ${pyFixed(e.params.iouThresholds[t], 2)}, area ${area})`, options);
}

/** One curve per area range: precision at each recall point averaged over categories. */
export function prCurvesBySizeSvg(e: EvalArrays, options: PrCurveOptions = {}): string {
  const t = thresholdIndex(e, options.iouThreshold ?? 0.5);
  const K = e.categoryIds.length;
  const all = Array.from({ length: K }, (_, k) => k);
  const series: LineSeries[] = e.params.areaRanges.map((range, a) => ({
    name: range.name,
    x: e.params.recallThresholds,
    y: curve(e, t, all, a),
  }));
  return prChartSvg(series, `Precision–recall per object size (IoU ${pyFixed(e.params.iouThresholds[t], 2)})`, options);
}

/** Precision against recall, both on [0, 1]. */
function prChartSvg(series: LineSeries[], title: string, options: PrCurveOptions): string {
  return lineChartSvg({
    series,
    title,
    xLabel: 'recall',
    yLabel: 'precision',
    xRange: [0, 1],
    yRange: [0, 1],
    width: options.width ?? 720,
    height: options.height ?? 440,
  });
}

/** Writes pr_by_category.png and pr_by_size.png into `dir`; returns their paths. */
export async function writePrCurves(e: EvalArrays, dir: string, options?: PrCurveOptions): Promise<string[]> {
  const files = [path.join(dir, 'pr_by_category.png'), path.join(dir, 'pr_by_size.png')];
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new Error(`${dir}: cannot create the folder for PR curves (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  await svgToPng(prCurvesByCategorySvg(e, options), files[0]);
  await svgToPng(prCurvesBySizeSvg(e, options), files[1]);
  return files;
}

/** Mean precision over categories `ks` at every recall point (largest maxDets); NaN where undefined. */
function curve(e: EvalArrays, t: number, ks: number[], a: number): Float64Array {
  const [, R, K, A, M] = e.precisionShape;
  const m = M - 1;
  const y = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const values = ks.map((k) => e.precision[(((t * R + r) * K + k) * A + a) * M + m]).filter((v) => v > -1);
    y[r] = values.length ? numpyMean(values) : NaN;
  }
  return y;
}

function thresholdIndex(e: EvalArrays, iou: number): number {
  const t = e.params.iouThresholds.indexOf(iou);
  if (t < 0) {
    const have = Array.from(e.params.iouThresholds, (v) => pyFixed(v, 2)).join(', ');
    throw new Error(`PR curves: IoU threshold ${iou} is not one of the evaluation's (${have})`);
  }
  return t;
}

function allAreaIndex(e: EvalArrays): number {
  return Math.max(0, e.params.areaRanges.findIndex((r) => r.name === 'all'));
}
