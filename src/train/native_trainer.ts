// Typed access to the addon's trainer (native/addon/train_bindings.cpp): create, step, save and
// restore state, dispose. Everything else about training lives in TypeScript.
import type { ModelConfig } from '../config';
import { nativeModelConfig } from '../config/native';
import { IrRcnnError } from '../errors';
import { nativeFunction, nativeTargets, type NativeTargets } from '../native';
import type { ImageTargets, RgbImage, Tensor } from '../types';

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

/** A peer's default time to answer. */
const DEFAULT_TIMEOUT_MS = 60000;

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

interface NativeBatch {
  images: RgbImage[];
  targets: NativeTargets[];
}

function toNative(batch: TrainBatch): NativeBatch {
  return { images: batch.images, targets: nativeTargets(batch.targets) };
}

/** The options as the addon takes them: every one given, and only those of the model's kind. */
function nativeOptions(options: NativeTrainerOptions): object {
  const { model, modelConfig, initialWeights, numClasses, distributed, ...solver } = options;
  if (model === 'detector' && !modelConfig) throw new IrRcnnError('ERR_INVALID_ARGUMENT', 'trainer: the detector needs a modelConfig');
  return {
    model,
    ...(modelConfig && model === 'detector' ? { modelConfig: nativeModelConfig(modelConfig), initialWeights } : { numClasses }),
    ...solver,
    distributed: distributed && { ...distributed, timeoutMs: distributed.timeoutMs ?? DEFAULT_TIMEOUT_MS },
  };
}

/** The opaque native trainer. */
type Handle = { readonly __trainer: unique symbol };

/**
 * The native trainer (argument errors reject, never throw). One step at a time; dispose() frees
 * it and leaves the process group (`await using trainer = await NativeTrainer.create(...)`).
 */
export class NativeTrainer {
  private constructor(private readonly handle: Handle) {}

  static async create(options: NativeTrainerOptions): Promise<NativeTrainer> {
    const create = nativeFunction<(o: object) => Promise<Handle>>('trainerCreate');
    return new NativeTrainer(await create(nativeOptions(options)));
  }

  /**
   * One iteration over `microBatches` (gradients accumulated over them). `requestStop` asks every
   * rank to stop after this step: result.stop is then true on all of them.
   */
  async step(microBatches: TrainBatch[], requestStop = false): Promise<StepResult> {
    const step = nativeFunction<(h: Handle, b: NativeBatch[], stop: boolean) => Promise<StepResult>>('trainerStep');
    return step(this.handle, microBatches.map(toNative), requestStop);
  }

  async state(): Promise<TrainerState> {
    return nativeFunction<(h: Handle) => Promise<TrainerState>>('trainerState')(this.handle);
  }

  async loadState(state: TrainerState): Promise<void> {
    return nativeFunction<(h: Handle, s: TrainerState) => Promise<void>>('trainerLoadState')(this.handle, state);
  }

  /** Frees the trainer once a running step is done, and leaves the process group; later calls reject with ERR_DISPOSED. */
  async dispose(): Promise<void> {
    return nativeFunction<(h: Handle) => Promise<void>>('trainerDispose')(this.handle);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}

/** Whether this build of the addon can train on several processes (c10d). */
export function distributedAvailable(): boolean {
  return nativeFunction<() => boolean>('distributedAvailable')();
}
