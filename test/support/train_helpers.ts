// Shared by test/train.test.ts and its worker processes: a deterministic batch source for the
// probe model. Image i of iteration t depends only on (seed, t, i), and rank r takes its
// contiguous share of the global batch, so one process and N ranks see the same global batch.
import { Random, hash32 } from '../../src/data/random';
import type { BatchSource } from '../../src/train/loop';
import type { NativeTrainerOptions, TrainBatch } from '../../src/train/native_trainer';

export function probeImage(seed: number, iteration: number, index: number): TrainBatch {
  const rng = new Random(hash32(hash32(seed, iteration), index));
  const height = 16;
  const width = 24;
  const label = rng.int(1, 2);
  // The label is visible in the image (brighter for class 2), so the probe can learn it.
  const base = label === 2 ? 160 : 60;
  const data = new Uint8Array(height * width * 3).map(() => base + rng.int(0, 60));
  const x = rng.uniform(0, 12);
  const y = rng.uniform(0, 8);
  return {
    images: [{ data, height, width }],
    targets: [{ boxes: new Float32Array([x, y, x + 8, y + 6]), labels: new Int32Array([label]), crowdBoxes: new Float32Array(0) }],
  };
}

export function probeSource(seed: number, rank: number, microBatches: number, perMicroBatch: number): BatchSource {
  return {
    async batch(iteration: number): Promise<TrainBatch[]> {
      const out: TrainBatch[] = [];
      for (let m = 0; m < microBatches; m++) {
        const first = (rank * microBatches + m) * perMicroBatch;
        const parts = Array.from({ length: perMicroBatch }, (_, i) => probeImage(seed, iteration, first + i));
        out.push({ images: parts.flatMap((p) => p.images), targets: parts.flatMap((p) => p.targets) });
      }
      return out;
    },
  };
}

/** The probe trainer settings shared by the tests and the workers. */
export const PROBE: NativeTrainerOptions = {
  model: 'probe',
  numClasses: 3,
  lr: 0.05,
  momentum: 0.9,
  weightDecay: 1e-4,
  warmupFactor: 0.1,
  warmupIters: 2,
  milestones: [],
  gamma: 0.1,
  clipGradNorm: 0,
  amp: false,
  device: 'cpu',
  seed: 0,
};
