// Typed access to the addon's trainer (native/addon/train_bindings.cpp): create, step, save and
// restore state, close. Everything else about training lives in TypeScript.
import type { ModelConfig } from '../config';
import { nativeFunction } from '../native';
import type { Tensor } from '../types';

/** One image and its ground truth as the trainer takes them (image pixels, HWC RGB). */
export interface RgbImage {
  data: Uint8Array;
  height: number;
  width: number;
}
export interface ImageTargets {
  /** x1, y1, x2, y2 per box. */
  boxes: Float32Array;
  /** 1..numClasses-1 per box (0 is background). */
  labels: Int32Array;
  /** x1, y1, x2, y2 per iscrowd region (ignored: never a positive). */
  crowdBoxes: Float32Array;
}
export interface TrainBatch {
  images: RgbImage[];
  targets: ImageTargets[];
}

export interface DistributedOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** A peer that does not answer within this time fails the run (default 60 s). */
  timeoutMs?: number;
}

export interface NativeTrainerOptions {
  /** 'detector': the Faster R-CNN / IR R-CNN of modelConfig; 'probe': a tiny model for testing the training machinery. */
  model: 'detector' | 'probe';
  modelConfig?: ModelConfig;
  /** Tensors under the model's names that replace the random initialisation (detector only). */
  initialWeights?: Record<string, Tensor>;
  /** Classes of the probe model (the detector takes modelConfig.numClasses). */
  numClasses: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  warmupFactor: number;
  warmupIters: number;
  milestones: number[];
  gamma: number;
  clipGradNorm: number;
  amp: boolean;
  device: string;
  seed: number;
  distributed?: DistributedOptions;
}

export interface StepResult {
  /** Each loss term averaged over the micro-batches (and ranks), plus their sum `loss`. */
  losses: Record<string, number>;
  lr: number;
  /** Iterations done after this step. */
  iteration: number;
  /** false: a loss term was NaN or Inf; nothing was updated. */
  finite: boolean;
  /** AMP lowered its loss scale instead of updating (overflowing gradients). */
  skipped: boolean;
  /** Some rank asked to stop after this step (all ranks see the same). */
  stop: boolean;
}

export interface TrainerState {
  iteration: number;
  tensors: Record<string, Tensor>;
}

interface NativeTensor {
  data: Uint8Array | Float32Array | Int32Array;
  shape: number[];
}
interface NativeBatch {
  images: NativeTensor[];
  targets: { boxes: NativeTensor; labels: NativeTensor; crowdBoxes: NativeTensor }[];
}

function toNative(batch: TrainBatch): NativeBatch {
  if (batch.images.length !== batch.targets.length) {
    throw new Error(`trainer: a batch has ${batch.images.length} images but ${batch.targets.length} targets`);
  }
  return {
    images: batch.images.map((image) => ({ data: image.data, shape: [image.height, image.width, 3] })),
    targets: batch.targets.map((t) => ({
      boxes: { data: t.boxes, shape: [t.boxes.length / 4, 4] },
      labels: { data: t.labels, shape: [t.labels.length] },
      crowdBoxes: { data: t.crowdBoxes, shape: [t.crowdBoxes.length / 4, 4] },
    })),
  };
}

/** The native trainer (argument errors reject, never throw). One step at a time; close() frees it and leaves the process group. */
export class NativeTrainer {
  private constructor(private handle: number | undefined) {}

  static async create(options: NativeTrainerOptions): Promise<NativeTrainer> {
    const create = nativeFunction<(o: NativeTrainerOptions) => Promise<number>>('trainerCreate');
    return new NativeTrainer(await create(options));
  }

  /**
   * One iteration over `microBatches` (gradients accumulated over them). `requestStop` asks every
   * rank to stop after this step: result.stop is then true on all of them.
   */
  async step(microBatches: TrainBatch[], requestStop = false): Promise<StepResult> {
    const step = nativeFunction<(h: number, b: NativeBatch[], stop: boolean) => Promise<StepResult>>('trainerStep');
    return step(this.open(), microBatches.map(toNative), requestStop);
  }

  async state(): Promise<TrainerState> {
    return nativeFunction<(h: number) => Promise<TrainerState>>('trainerState')(this.open());
  }

  async loadState(state: TrainerState): Promise<void> {
    return nativeFunction<(h: number, s: TrainerState) => Promise<void>>('trainerLoadState')(this.open(), state);
  }

  async close(): Promise<void> {
    if (this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    await nativeFunction<(h: number) => Promise<void>>('trainerClose')(handle);
  }

  private open(): number {
    if (this.handle === undefined) throw new Error('trainer: already closed');
    return this.handle;
  }
}

/** Whether this build of the addon can train on several processes (c10d). */
export function distributedAvailable(): boolean {
  return nativeFunction<() => boolean>('distributedAvailable')();
}
