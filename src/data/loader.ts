// The training data stream: sampler → sharp decodes (several in flight) → batches of RGB images
// with their boxes in the resized images' pixels, `prefetch` batches ahead of the trainer.
// Deterministic given the seed: the order, the batches and the flips depend only on
// (seed, epoch, rank, worldSize), never on timing.
import * as path from 'path';
import type { ImageTargets, RgbImage } from '../types';
import { imageAnnotations, nonEmptyImageIndices, type CocoAnnotations } from './coco';
import { decodeImage, transformBoxes } from './images';
import { batchesPerEpoch, flipCoin, makeBatches, shardIndices } from './sampler';

export interface BatchLoaderOptions {
  batchSize: number;
  /** Short side after resizing (torchvision's min_size). */
  minSize: number;
  /** Cap on the long side (torchvision's max_size). */
  maxSize: number;
  /** Mirror half of the images left–right (a seeded coin per image and epoch). */
  flip?: boolean;
  seed?: number;
  rank?: number;
  worldSize?: number;
  /** Batches hold only landscape (w >= h) or only portrait images. Default true. */
  groupByAspectRatio?: boolean;
  /** Batches decoded ahead of the consumer. Default 2. */
  prefetch?: number;
  /** Default true. */
  shuffle?: boolean;
  /** Passes over the data; Infinity never ends. Default 1. */
  epochs?: number;
  /** Batches to skip from the very start (resume): they are not decoded. Default 0. */
  startBatch?: number;
  /** Sample only images with a trainable box (isTrainableBox in coco.ts). Default true. */
  skipEmptyImages?: boolean;
  /** Told about every image that cannot be read or decoded; it is left out of its batch. */
  onWarning?: (message: string) => void;
}

export interface Batch {
  images: RgbImage[];
  /** Boxes in the pixels of the resized (and possibly mirrored) images. */
  targets: ImageTargets[];
  /** Index into ann.images of each image. */
  imageIndices: Int32Array;
  epoch: number;
  /** Position of this batch since the start of epoch 0 (what startBatch counts). */
  batch: number;
}

/** Batches per epoch on each rank, for schedules and progress. */
export function loaderBatchesPerEpoch(ann: CocoAnnotations, options: BatchLoaderOptions): number {
  return batchesPerEpoch(sampledImages(ann, options).length, options.worldSize ?? 1, options.batchSize);
}

/** An async iterator of batches; validate options up front so mistakes surface at creation. */
export function createBatchLoader(
  ann: CocoAnnotations,
  imagesDir: string,
  options: BatchLoaderOptions,
): AsyncIterableIterator<Batch> {
  const { batchSize, minSize, maxSize } = options;
  const { rank = 0, worldSize = 1, prefetch = 2, epochs = 1, startBatch = 0 } = options;
  const positiveInteger = (value: number, name: string) => {
    if (!Number.isInteger(value) || value < 1) throw new Error(`batch loader: ${name} must be a positive integer (got ${value})`);
  };
  positiveInteger(batchSize, 'batchSize');
  positiveInteger(worldSize, 'worldSize');
  positiveInteger(prefetch, 'prefetch');
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new Error(`batch loader: rank must be an integer in [0, ${worldSize}) (got ${rank})`);
  }
  if (!(minSize >= 0) || !(maxSize >= minSize)) {
    throw new Error(`batch loader: need 0 <= minSize <= maxSize (got ${minSize}, ${maxSize})`);
  }
  if (!(epochs > 0) || !(Number.isInteger(epochs) || epochs === Infinity)) {
    throw new Error(`batch loader: epochs must be a positive integer or Infinity (got ${epochs})`);
  }
  if (!Number.isInteger(startBatch) || startBatch < 0) {
    throw new Error(`batch loader: startBatch must be an integer >= 0 (got ${startBatch})`);
  }
  const images = sampledImages(ann, options);
  if (images.length === 0) throw new Error(`${ann.file}: no images with boxes to train on`);
  return prefetched(batchPlan(ann, images, options), prefetch, (plan) => loadBatch(ann, imagesDir, plan, options));
}

interface PlannedBatch {
  imageIndices: number[];
  flips: boolean[];
  epoch: number;
  batch: number;
}

function sampledImages(ann: CocoAnnotations, options: BatchLoaderOptions): Int32Array {
  return options.skipEmptyImages === false
    ? Int32Array.from({ length: ann.images.ids.length }, (_, i) => i)
    : nonEmptyImageIndices(ann);
}

/** Which images, mirrored or not, make up each batch; cheap, computed one epoch at a time. */
function* batchPlan(ann: CocoAnnotations, images: Int32Array, options: BatchLoaderOptions): Generator<PlannedBatch> {
  const { batchSize, seed = 0, rank = 0, worldSize = 1, shuffle = true, epochs = 1, startBatch = 0 } = options;
  const perEpoch = batchesPerEpoch(images.length, worldSize, batchSize);
  const { widths, heights } = ann.images;
  const group = options.groupByAspectRatio === false ? undefined : (k: number) => (widths[images[k]] >= heights[images[k]] ? 0 : 1);
  for (let epoch = Math.floor(startBatch / perEpoch); epoch < epochs; epoch++) {
    const shard = shardIndices(images.length, epoch, { seed, rank, worldSize, shuffle });
    const batches = makeBatches(shard, batchSize, perEpoch, group);
    for (let b = 0; b < perEpoch; b++) {
      const position = epoch * perEpoch + b;
      if (position < startBatch) continue;
      const imageIndices = batches[b].map((k) => images[k]);
      const flips = imageIndices.map((i) => options.flip === true && flipCoin(seed, epoch, i));
      yield { imageIndices, flips, epoch, batch: position };
    }
  }
}

/** Decodes a batch's images concurrently; an image that fails is reported and left out. */
async function loadBatch(ann: CocoAnnotations, imagesDir: string, plan: PlannedBatch, options: BatchLoaderOptions): Promise<Batch> {
  const decoded = await Promise.all(
    plan.imageIndices.map(async (image, k) => {
      const file = path.join(imagesDir, ann.images.fileNames[image]);
      try {
        const annotatedSize = { width: ann.images.widths[image], height: ann.images.heights[image] };
        const img = await decodeImage(file, { minSize: options.minSize, maxSize: options.maxSize, flip: plan.flips[k], annotatedSize });
        const from = { width: img.originalWidth, height: img.originalHeight };
        const targets = imageAnnotations(ann, image);
        targets.boxes = transformBoxes(targets.boxes, from, img, img.flipped);
        targets.crowdBoxes = transformBoxes(targets.crowdBoxes, from, img, img.flipped);
        return { image, rgb: { data: img.data, height: img.height, width: img.width }, targets };
      } catch (error) {
        options.onWarning?.(`${(error as Error).message}; skipped`);
        return undefined;
      }
    }),
  );
  const ok = decoded.filter((d) => d !== undefined);
  return {
    images: ok.map((d) => d.rgb),
    targets: ok.map((d) => d.targets),
    imageIndices: Int32Array.from(ok, (d) => d.image),
    epoch: plan.epoch,
    batch: plan.batch,
  };
}

/**
 * Runs `load` on the plan's items keeping `depth` of them in flight ahead of the consumer, and
 * yields the results in plan order. Batches whose images all failed are not yielded.
 */
async function* prefetched<P>(plan: Iterator<P>, depth: number, load: (p: P) => Promise<Batch>): AsyncGenerator<Batch> {
  const queue: Promise<Batch>[] = [];
  const refill = () => {
    while (queue.length < depth) {
      const next = plan.next();
      if (next.done) return;
      queue.push(load(next.value));
    }
  };
  refill();
  while (queue.length > 0) {
    const batch = await (queue.shift() as Promise<Batch>);
    refill();
    if (batch.images.length > 0) yield batch;
  }
}
