// The demo experiment: generate the synthetic small-object set, train every Table 3 model on it
// with the same recipe and seed, evaluate each on the val split with the project's COCO
// evaluation, bootstrap the differences to the baseline, draw a few val images, and write the
// report. Repeated over seeds on request.
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RelationOptionsInput } from '../config/relation';
import { loadCocoAnnotations, type CocoAnnotations } from '../data/coco';
import { generateSyntheticDataset } from '../data/synthetic';
import { Detector } from '../detector';
import { drawDetections } from '../draw';
import { evaluate } from '../eval';
import { decodeRgb } from '../image';
import { torchInfo } from '../native';
import { train } from '../train/train';
import { differenceIntervals } from './intervals';
import { chooseKernels } from './kernels';
import { BASELINE, IR_RCNN, demoVariants, variantConfig, type DemoVariant } from './preset';
import { writeReport } from './report';
import type { DatasetSummary, DemoOptions, DemoResult, RunRecord } from './result';
import { differenceNote, formatTable, tableRows } from './table';

export type { DatasetSummary, DemoOptions, DemoResult, RunRecord } from './result';

/**
 * The default run: sized to finish within 15 minutes on a 2-core CPU. Each model trains about
 * 5 minutes (0.4 s an iteration of two 192 px images, 4–5 images a second), with room left for
 * the data, both evaluations, the drawings and a busy machine.
 */
export const DEMO_DEFAULTS = {
  out: 'ir-rcnn-demo',
  images: 600,
  valImages: 100,
  iterations: 700,
  seeds: 1,
  ablation: false,
  relationSettings: [] as RelationOptionsInput[],
  imageSize: 192,
  dataSeed: 0,
  drawImages: 4,
  /** Bootstrap resamples of the intervals: 1000 take about 6 s per run of 100 val images on this project's machine (12 s for the default two runs). */
  resamples: 1000,
  /** Validation every this many iterations for the AP curves (0: only at the end; each costs an evaluation). */
  evalEvery: 0,
  /** AVX2 kernels and 2 threads wherever the CPU allows, for the same bits across machines (see kernels.ts). */
  kernels: 'portable',
} as const;

const seconds = (since: number): number => (Date.now() - since) / 1000;

function areaCounts(ann: CocoAnnotations): { small: number; medium: number; large: number } {
  const counts = { small: 0, medium: 0, large: 0 };
  for (const area of ann.annotations.area) {
    if (area < 32 ** 2) counts.small++;
    else if (area < 96 ** 2) counts.medium++;
    else counts.large++;
  }
  return counts;
}

function categoryNames(ann: CocoAnnotations): Map<number, string> {
  return new Map(Array.from(ann.categories.ids, (id, i) => [id, ann.categories.names[i]] as [number, string]));
}

/**
 * sha256 over the set's files (each annotation file and the images it lists, name and bytes):
 * two machines' data compare by it. Only what the set names counts, not leftovers of an earlier run.
 */
async function datasetHash(splits: { annotations: string; images: string; fileNames: string[] }[]): Promise<string> {
  const hash = createHash('sha256');
  for (const split of splits) {
    hash.update(await fsp.readFile(split.annotations));
    for (const name of split.fileNames) hash.update(`${name}\0`).update(await fsp.readFile(path.join(split.images, name)));
  }
  return hash.digest('hex');
}

async function makeDataset(o: DemoOptions): Promise<DatasetSummary> {
  const started = Date.now();
  const dir = path.join(o.out, 'data');
  o.log(`generating the synthetic set: ${o.images} train + ${o.valImages} val images of ${o.imageSize} px (seed ${o.dataSeed}) in ${dir}`);
  const data = await generateSyntheticDataset({ out: dir, images: o.images, valImages: o.valImages, seed: o.dataSeed, size: o.imageSize });
  const [trainAnn, valAnn] = await Promise.all([loadCocoAnnotations(data.trainAnnotations), loadCocoAnnotations(data.valAnnotations)]);
  const objects = { train: areaCounts(trainAnn), val: areaCounts(valAnn) };
  const v = objects.val;
  const sha256 = await datasetHash([
    { annotations: data.trainAnnotations, images: data.trainImages, fileNames: trainAnn.images.fileNames },
    { annotations: data.valAnnotations, images: data.valImages, fileNames: valAnn.images.fileNames },
  ]);
  o.log(`  val objects: ${v.small} small, ${v.medium} medium, ${v.large} large; files' sha256 ${sha256.slice(0, 16)}… (${seconds(started).toFixed(0)} s)`);
  return {
    ...data,
    seed: o.dataSeed,
    imageSize: o.imageSize,
    trainImagesCount: o.images,
    valImagesCount: o.valImages,
    objects,
    sha256,
    seconds: seconds(started),
  };
}

async function trainAndEvaluate(o: DemoOptions, data: DatasetSummary, variant: DemoVariant, seed: number, categories: Map<number, string>): Promise<RunRecord> {
  const config = variantConfig(variant, { iterations: o.iterations, seed, imageSize: o.imageSize, evalEvery: o.evalEvery });
  const dir = path.join(o.out, 'runs', `${variant.key}-seed${seed}`);
  await fsp.rm(dir, { recursive: true, force: true });
  o.log(`training ${variant.label}, seed ${seed}: ${o.iterations} iterations of ${config.train.imagesPerBatch} images → ${dir}`);
  const trainStart = Date.now();
  const result = await train({
    config,
    data: { annotations: data.trainAnnotations, images: data.trainImages },
    val: o.evalEvery > 0 ? { annotations: data.valAnnotations, images: data.valImages } : undefined,
    outDir: dir,
    progressStream: o.progressStream,
    onWarning: (message) => o.log(`warning: ${message}`),
  });
  const trainSeconds = seconds(trainStart);
  if (result.weights === undefined || result.metrics === undefined) throw new Error(`demo: training ${variant.key} wrote no weights`);
  // The demo never resumes; the final weights are model.safetensors, so the optimizer state can go.
  await fsp.rm(path.join(dir, 'checkpoints'), { recursive: true, force: true });

  const evalStart = Date.now();
  const detector = await Detector.load({ config: result.config, weights: result.weights });
  const detections = path.join(dir, 'detections.json');
  const evaluation = await evaluate(detector, { annotations: data.valAnnotations, images: data.valImages }, { resultsFile: detections });
  const evalSeconds = seconds(evalStart);
  const [ap, , , aps] = evaluation.stats;
  o.log(`  ${variant.label}: AP ${(100 * ap).toFixed(1)}, APs ${(100 * aps).toFixed(1)} (train ${trainSeconds.toFixed(0)} s, eval ${evalSeconds.toFixed(0)} s)`);
  const perCategory: Record<string, number> = {};
  evaluation.perCategory.forEach((value, id) => (perCategory[categories.get(id) ?? String(id)] = value));
  return {
    variant: variant.key,
    seed,
    config,
    dir,
    weights: result.weights,
    metrics: result.metrics,
    detections,
    parameters: detector.parameterCount(),
    iterations: result.iteration,
    finalLosses: result.losses,
    trainSeconds,
    evalSeconds,
    stats: evaluation.stats,
    perCategory,
  };
}

/** Draws the first val images with the baseline's and the full IR R-CNN's detections (seed 0, the preset's settings). */
async function drawVal(o: DemoOptions, data: DatasetSummary, runs: RunRecord[]): Promise<string[]> {
  const ann = await loadCocoAnnotations(data.valAnnotations);
  const count = Math.min(o.drawImages, ann.images.ids.length);
  if (count === 0) return [];
  const shown = [BASELINE, IR_RCNN].map((v) => ({ variant: v, run: runs.find((r) => r.variant === v.key && r.seed === 0) as RunRecord }));
  const detectors = await Promise.all(shown.map(({ run }) => Detector.load({ config: run.config, weights: run.weights })));
  const categories = categoryNames(ann);
  const dir = path.join(o.out, 'val_images');
  await fsp.mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const image = path.join(data.valImages, ann.images.fileNames[i]);
    const pixels = await decodeRgb(image);
    const panels = [];
    for (let m = 0; m < shown.length; m++) {
      const [result] = await detectors[m].detectPixels([pixels], { returnGraph: shown[m].variant !== BASELINE });
      panels.push({ title: shown[m].variant.short, result });
    }
    const file = path.join(dir, `${path.parse(ann.images.fileNames[i]).name}.png`);
    await drawDetections(pixels, panels, file, { categories, minScore: 0.5, scale: 2 });
    files.push(file);
  }
  return files;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  try {
    await fsp.mkdir(o.out, { recursive: true });
  } catch (error) {
    throw new Error(`${o.out}: cannot create the report folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  // What decides the bits of the trained weights besides the seed (see kernels.ts).
  const kernels = o.kernels ?? chooseKernels('native');
  const vars = Object.entries(kernels.env).map(([name, value]) => `${name}=${value}`).join(' ');
  o.log(`kernels: ${kernels.mode}${vars ? ` (${vars})` : ''}, ${torchInfo().intraOpThreads} LibTorch threads; CPU: ${kernels.cpuFlags.join(' ') || 'flags unknown'}`);
  const dataset = await makeDataset(o);
  const categories = categoryNames(await loadCocoAnnotations(dataset.valAnnotations));
  const variants = demoVariants(o.ablation, o.relationSettings);
  const runs: RunRecord[] = [];
  for (let seed = 0; seed < o.seeds; seed++) {
    for (const variant of variants) runs.push(await trainAndEvaluate(o, dataset, variant, seed, categories));
  }
  o.log(`bootstrap: ${o.resamples} resamples of the val images${o.seeds > 1 ? ' and of the seeds' : ''} for the intervals of the differences to the baseline`);
  const { differences, bootstrap } = await differenceIntervals(dataset.valAnnotations, variants, runs, { seeds: o.seeds, resamples: o.resamples });
  o.log(`  ${runs.length} runs × ${o.valImages} val images in ${bootstrap.seconds.toFixed(1)} s`);
  o.log(`drawing ${Math.min(o.drawImages, o.valImages)} val images with detections and the relation graph`);
  const drawings = await drawVal(o, dataset, runs);
  const rows = tableRows(variants, runs, differences);
  const info = torchInfo();
  const result: DemoResult = {
    options: {
      out: o.out, images: o.images, valImages: o.valImages, iterations: o.iterations, seeds: o.seeds,
      ablation: o.ablation, relationSettings: o.relationSettings, imageSize: o.imageSize, dataSeed: o.dataSeed, drawImages: o.drawImages, resamples: o.resamples, evalEvery: o.evalEvery,
    },
    dataset,
    runs,
    rows,
    bootstrap,
    table: formatTable(rows),
    note: differenceNote(rows, { resamples: o.resamples, valImages: o.valImages, seeds: o.seeds }),
    drawings,
    files: [...drawings],
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', torch: info.torchVersion, threads: info.intraOpThreads, kernels },
    wallSeconds: 0,
  };
  result.wallSeconds = seconds(started);
  result.files.push(...(await writeReport(o.out, result)));
  return result;
}
