// The large-image demo (`npm run demo -- --large`): small objects in large frames, as in aerial and
// traffic imagery. A synthetic set of 2048-px scenes (objects 6–22 px, as in the default demo) is
// sliced into tiles (`ir-rcnn slice`), the Faster R-CNN baseline and IR R-CNN train on the tiles,
// and each is evaluated on the whole val scenes four ways: the whole image resized to the model's
// input size (the objects shrink to a few pixels), tiles, tiles plus the whole image, and tiles
// with relationScope 'image' (one relation graph over the proposals of every tile). Each (model,
// way) runs in a process of its own, so its time and peak memory are its own.
import * as fs from 'fs';
import * as path from 'path';
import { loadCocoAnnotations } from '../data/coco';
import { generateSyntheticDataset } from '../data/synthetic';
import type { DetectOptions } from '../detector';
import { evaluateResults } from '../eval/evaluate';
import { sliceDataset } from '../slice/dataset';
import { train } from '../train/train';
import { runDetectJob } from './detect_child';
import { BASELINE, IR_RCNN, variantConfig } from './preset';

export interface LargeDemoOptions {
  /** Report folder: data/, tiles/, runs/, large.md, large.json. */
  out: string;
  /** Side of the synthetic scenes. */
  sceneSize: number;
  /** Training scenes (sliced into tiles) and val scenes (evaluated whole). */
  images: number;
  valImages: number;
  /** Tile side for training and sliced detection, and the share neighbouring tiles overlap. */
  tile: number;
  overlap: number;
  /** Training iterations of each model (2 tiles each). */
  iterations: number;
  dataSeed: number;
  log: (line: string) => void;
}

export const LARGE_DEMO_DEFAULTS = {
  out: 'ir-rcnn-demo-large',
  sceneSize: 2048,
  images: 8,
  valImages: 4,
  tile: 256,
  overlap: 0.2,
  iterations: 400,
  dataSeed: 0,
} as const;

/** The ways a model sees a large val scene. */
const MODES: { key: string; label: string; options: (o: LargeDemoOptions) => DetectOptions }[] = [
  { key: 'whole', label: 'whole image resized', options: () => ({}) },
  { key: 'tiles', label: 'tiles', options: (o) => ({ tiles: { size: o.tile, overlap: o.overlap }, fullImage: false }) },
  { key: 'tiles_full', label: 'tiles + whole image', options: (o) => ({ tiles: { size: o.tile, overlap: o.overlap }, fullImage: true }) },
  { key: 'tiles_image_scope', label: "tiles, relationScope 'image'", options: (o) => ({ tiles: { size: o.tile, overlap: o.overlap }, fullImage: false, relationScope: 'image' }) },
];

/** Detections kept per scene (a scene holds about 200 objects) and the evaluation's maxDets. */
const MAX_DETECTIONS = 1000;
const MAX_DETS = [10, 100, MAX_DETECTIONS];

export interface LargeDemoRow {
  model: string;
  mode: string;
  ap: number;
  ap50: number;
  aps: number;
  apTiny: number;
  ap16to32: number;
  secondsPerImage: number;
  peakMiB: number;
}

export interface LargeDemoResult {
  options: Omit<LargeDemoOptions, 'log'>;
  tiles: number;
  valObjects: number;
  trainSeconds: Record<string, number>;
  rows: LargeDemoRow[];
  table: string;
  wallSeconds: number;
}

export async function runLargeDemo(o: LargeDemoOptions): Promise<LargeDemoResult> {
  const started = Date.now();
  fs.mkdirSync(o.out, { recursive: true });
  o.log(`writing ${o.images} + ${o.valImages} synthetic scenes of ${o.sceneSize} px`);
  const data = await generateSyntheticDataset({ out: path.join(o.out, 'data'), images: o.images, valImages: o.valImages, size: o.sceneSize, seed: o.dataSeed });
  o.log(`slicing the training scenes into ${o.tile}-px tiles (overlap ${o.overlap})`);
  const tiles = await sliceDataset({ annotations: data.trainAnnotations, images: data.trainImages, out: path.join(o.out, 'tiles'), tile: { size: o.tile, overlap: o.overlap }, seed: o.dataSeed });
  const val = await loadCocoAnnotations(data.valAnnotations);
  const images = Array.from(val.images.fileNames, (name, i) => ({ file: path.join(data.valImages, name), imageId: val.images.ids[i] }));
  const rows: LargeDemoRow[] = [];
  const trainSeconds: Record<string, number> = {};
  for (const variant of [BASELINE, IR_RCNN]) {
    const base = variantConfig(variant, { iterations: o.iterations, seed: 0, imageSize: o.tile });
    const config = { ...base, model: { ...base.model, roi: { ...base.model.roi, maxDetections: MAX_DETECTIONS } } };
    const dir = path.join(o.out, 'runs', variant.key);
    fs.rmSync(dir, { recursive: true, force: true });
    o.log(`training ${variant.label} on ${tiles.tiles} tiles: ${o.iterations} iterations`);
    const trainStart = Date.now();
    const trained = await train({ config, data: { annotations: tiles.annotations, images: tiles.images }, outDir: dir });
    trainSeconds[variant.key] = (Date.now() - trainStart) / 1000;
    if (trained.weights === undefined) throw new Error(`demo --large: training ${variant.key} wrote no weights`);
    for (const mode of MODES) {
      const resultsFile = path.join(dir, `detections_${mode.key}.json`);
      const job = { config: trained.config, weights: trained.weights, images, options: { ...mode.options(o), maxDetections: MAX_DETECTIONS }, resultsFile };
      const measured = await runDetectJob(job, path.join(dir, `job_${mode.key}.json`));
      const evaluation = await evaluateResults(val, resultsFile, { areaRanges: 'fine', maxDets: MAX_DETS });
      const row: LargeDemoRow = {
        model: variant.short,
        mode: mode.label,
        ap: evaluation.stats[0],
        ap50: evaluation.stats[1],
        aps: evaluation.stats[3],
        apTiny: evaluation.perSize.tiny.ap,
        ap16to32: evaluation.perSize['s16-32'].ap,
        secondsPerImage: measured.seconds / images.length,
        peakMiB: measured.peakMiB,
      };
      o.log(`  ${variant.short}, ${mode.label}: AP ${pct(row.ap)}, APs ${pct(row.aps)}, ${row.secondsPerImage.toFixed(1)} s/image, peak ${row.peakMiB.toFixed(0)} MiB`);
      rows.push(row);
    }
  }
  const result: LargeDemoResult = {
    options: { out: o.out, sceneSize: o.sceneSize, images: o.images, valImages: o.valImages, tile: o.tile, overlap: o.overlap, iterations: o.iterations, dataSeed: o.dataSeed },
    tiles: tiles.tiles,
    valObjects: val.annotations.ids.length,
    trainSeconds,
    rows,
    table: formatLargeTable(rows),
    wallSeconds: (Date.now() - started) / 1000,
  };
  fs.writeFileSync(path.join(o.out, 'large.json'), `${JSON.stringify(result, null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'large.md'), `${result.table}\n`);
  return result;
}

const pct = (v: number): string => (v < 0 ? '–' : (100 * v).toFixed(1));

/** The Markdown table: COCO AP (maxDets 1000), the tiny (≤ 16²) and 16²–32² buckets, time and memory. */
export function formatLargeTable(rows: LargeDemoRow[]): string {
  const lines = [
    '| Model | Detection | AP | AP50 | APs | AP tiny | AP 16–32 | s / image | peak RSS (MiB) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.model} | ${r.mode} | ${pct(r.ap)} | ${pct(r.ap50)} | ${pct(r.aps)} | ${pct(r.apTiny)} | ${pct(r.ap16to32)} | ${r.secondsPerImage.toFixed(1)} | ${r.peakMiB.toFixed(0)} |`);
  }
  return lines.join('\n');
}
