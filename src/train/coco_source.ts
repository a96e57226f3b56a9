// The batch source of a COCO-format training set: the data loader (src/data) read sequentially,
// one loader batch per micro-batch, started at the resumed iteration's position, so the data
// order and flips depend only on (seed, epoch, position).
import { createBatchLoader, type Batch } from '../data/loader';
import type { CocoAnnotations } from '../data/coco';
import type { BatchSource } from './loop';
import type { TrainBatch } from './native_trainer';

export interface CocoSourceOptions {
  annotations: CocoAnnotations;
  images: string;
  imagesPerMicroBatch: number;
  microBatches: number;
  startIteration: number;
  minSize: number;
  maxSize: number;
  flip: boolean;
  prefetch: number;
  seed: number;
  rank: number;
  worldSize: number;
  onWarning?: (message: string) => void;
}

export function cocoSource(o: CocoSourceOptions): BatchSource {
  const loader = createBatchLoader(o.annotations, o.images, {
    batchSize: o.imagesPerMicroBatch,
    minSize: o.minSize,
    maxSize: o.maxSize,
    flip: o.flip,
    seed: o.seed,
    rank: o.rank,
    worldSize: o.worldSize,
    prefetch: Math.max(1, o.prefetch),
    epochs: Infinity,
    startBatch: o.startIteration * o.microBatches,
    onWarning: o.onWarning,
  });
  let expected = o.startIteration;
  return {
    async batch(iteration: number): Promise<TrainBatch[]> {
      if (iteration !== expected) throw new Error(`training data: iteration ${iteration} asked for, the loader is at ${expected}`);
      expected++;
      const out: TrainBatch[] = [];
      for (let m = 0; m < o.microBatches; m++) {
        const next: IteratorResult<Batch> = await loader.next();
        if (next.done) throw new Error(`${o.annotations.file}: the data loader ended`);
        out.push({ images: next.value.images, targets: next.value.targets });
      }
      return out;
    },
    async close(): Promise<void> {
      await loader.return?.(undefined);
    },
  };
}
