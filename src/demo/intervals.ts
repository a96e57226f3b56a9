// The demo's confidence intervals: each model's paired difference to the baseline, by bootstrap
// over the val images (re-evaluating every run's detections.json on each resample) and, with two
// or more seeds, over the seeds (from the runs' COCO numbers).
import { loadCocoAnnotations } from '../data/coco';
import { pairedImageBootstrap, pairedSeedBootstrap, type Interval } from '../eval/bootstrap';
import { readCocoResults } from '../eval/results_reader';
import type { DemoVariant } from './preset';
import type { RunRecord } from './result';
import { TABLE_COLUMNS, type Differences } from './table';

/** The bootstrap's settings as metrics.json records them. */
export interface BootstrapSummary {
  resamples: number;
  seed: number;
  level: number;
  seconds: number;
}

const percent = (i: Interval): Interval => ({ estimate: 100 * i.estimate, low: 100 * i.low, high: 100 * i.high });

/** Differences to variants[0] (the baseline) of every other variant, by variant key; each variant has runs for seeds 0..seeds-1. */
export async function differenceIntervals(
  valAnnotations: string,
  variants: DemoVariant[],
  runs: RunRecord[],
  options: { seeds: number; resamples: number },
): Promise<{ differences: Map<string, Differences>; bootstrap: BootstrapSummary }> {
  const started = Date.now();
  const bootstrap = { resamples: options.resamples, seed: 0, level: 0.95 };
  const seeds = Array.from({ length: options.seeds }, (_, s) => s);
  const runOf = (variant: DemoVariant, seed: number): RunRecord => {
    const run = runs.find((r) => r.variant === variant.key && r.seed === seed);
    if (!run) throw new Error(`demo: no run of ${variant.key} with seed ${seed}`);
    return run;
  };
  const gt = await loadCocoAnnotations(valAnnotations);
  const detections = await Promise.all(variants.map((v) => Promise.all(seeds.map((s) => readCocoResults(runOf(v, s).detections, gt)))));
  const overImages = pairedImageBootstrap(gt, detections, bootstrap);
  const differences = new Map<string, Differences>();
  variants.slice(1).forEach((variant, m) => {
    const difference: Differences = { images: overImages[m].map(percent) };
    if (seeds.length > 1) {
      const column = (v: DemoVariant, c: number) => seeds.map((s) => (runOf(v, s).stats[c] < 0 ? NaN : runOf(v, s).stats[c]));
      difference.seeds = TABLE_COLUMNS.map((_, c) => percent(pairedSeedBootstrap(column(variants[0], c), column(variant, c), bootstrap)));
    }
    differences.set(variant.key, difference);
  });
  return { differences, bootstrap: { ...bootstrap, seconds: (Date.now() - started) / 1000 } };
}
