// Paired bootstrap confidence intervals for "model B minus model A" in COCO AP: over training seeds
// (the runs' numbers, resampled with replacement, differences paired by seed) and over the
// validation images (each resample draws the images with replacement, the same draw for every
// model and seed, and evaluates COCO AP again on it). Percentile intervals, seeded, so a report's
// intervals are reproducible.
import type { CocoAnnotations } from '../data/coco';
import { Random } from '../data/random';
import { ImageSampleEvaluator } from './cocoeval';
import type { Detections } from './detections';
import { resolveParams } from './params';
import { summaryValue, type SummaryLine } from './summarize';

export interface BootstrapOptions {
  /** Resamples drawn (default 1000). */
  resamples?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

/** A difference and its percentile interval; NaN where undefined (e.g. APl with no large objects). */
export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** The six AP numbers of pycocotools' summary (AP, AP50, AP75, APs, APm, APl), all at maxDets 100. */
export const AP_LINES: SummaryLine[] = [
  { ap: true, area: 'all', maxDets: 100 },
  { ap: true, iouThreshold: 0.5, area: 'all', maxDets: 100 },
  { ap: true, iouThreshold: 0.75, area: 'all', maxDets: 100 },
  { ap: true, area: 'small', maxDets: 100 },
  { ap: true, area: 'medium', maxDets: 100 },
  { ap: true, area: 'large', maxDets: 100 },
];

function resolve(options: BootstrapOptions): Required<BootstrapOptions> {
  const { resamples = 1000, seed = 0, level = 0.95 } = options;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrap: level must be in (0, 1), got ${level}`);
  return { resamples, seed, level };
}

/** numpy.quantile(values, q) (linear interpolation) of values already sorted ascending. */
function quantile(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/** The central `level` percentile interval of the finite `values` around `estimate`; NaN bounds when none is finite. */
export function percentileInterval(estimate: number, values: ArrayLike<number>, level: number): Interval {
  const finite = Float64Array.from(Array.from(values).filter(Number.isFinite)).sort();
  if (finite.length === 0) return { estimate, low: NaN, high: NaN };
  return { estimate, low: quantile(finite, (1 - level) / 2), high: quantile(finite, (1 + level) / 2) };
}

const mean = (values: ArrayLike<number>): number => Array.from(values).reduce((sum, v) => sum + v, 0) / values.length;

/**
 * The mean over seeds of b[s] − a[s], with its interval from resampling the seeds with
 * replacement (a resample keeps each seed's pair together). NaN values (undefined numbers) make
 * the difference undefined.
 */
export function pairedSeedBootstrap(a: number[], b: number[], options: BootstrapOptions = {}): Interval {
  if (a.length !== b.length || a.length === 0) throw new Error(`bootstrap: expected the same number (> 0) of seeds for both models, got ${a.length} and ${b.length}`);
  const { resamples, seed, level } = resolve(options);
  const differences = a.map((v, s) => b[s] - v);
  const random = new Random(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < differences.length; i++) sum += differences[random.int(0, differences.length - 1)];
    means[r] = sum / differences.length;
  }
  return percentileInterval(mean(differences), means, level);
}

/**
 * For each model after the first, per AP_LINES entry: the mean over seeds of (model − models[0])
 * on the whole val set, with its interval from resampling the val images. `models[m][s]` are model
 * m's detections with seed s (every model has the same seeds). Values are AP in 0..1; a resample
 * where a number is undefined (say, no large object drawn) leaves that number out.
 */
export function pairedImageBootstrap(gt: CocoAnnotations, models: Detections[][], options: BootstrapOptions = {}): Interval[][] {
  const seeds = models[0]?.length ?? 0;
  if (models.length < 2 || seeds === 0 || models.some((runs) => runs.length !== seeds)) {
    throw new Error(`bootstrap: expected two or more models with the same number (> 0) of seeds, got ${models.map((runs) => runs.length).join(', ')}`);
  }
  const { resamples, seed, level } = resolve(options);
  // Only maxDets 100 enters the AP numbers: the smaller ones would triple the work for nothing.
  const params = resolveParams({ maxDets: [100] });
  const evaluators = models.map((runs) => runs.map((dets) => new ImageSampleEvaluator(gt, dets, params)));
  const images = evaluators[0][0].images;
  /** Per model and line, the mean over seeds of the number on the sample `counts`. */
  const evaluate = (counts: Int32Array): number[][] =>
    evaluators.map((runs) => {
      const sums = new Float64Array(AP_LINES.length);
      for (const evaluator of runs) {
        const arrays = evaluator.evaluate(counts);
        AP_LINES.forEach((line, c) => {
          const value = summaryValue(arrays, line);
          sums[c] += value < 0 ? NaN : value;
        });
      }
      return Array.from(sums, (sum) => sum / seeds);
    });
  const differences = (values: number[][]): number[][] => values.slice(1).map((model) => model.map((v, c) => v - values[0][c]));

  const full = differences(evaluate(new Int32Array(images).fill(1)));
  const random = new Random(seed);
  const draws = full.map(() => AP_LINES.map(() => new Float64Array(resamples)));
  const counts = new Int32Array(images);
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < images; i++) counts[random.int(0, images - 1)]++;
    differences(evaluate(counts)).forEach((model, m) => model.forEach((d, c) => (draws[m][c][r] = d)));
  }
  return full.map((model, m) => model.map((estimate, c) => percentileInterval(estimate, draws[m][c], level)));
}
