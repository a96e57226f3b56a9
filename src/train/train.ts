// train(): the detector of a config trained on a COCO-format set, with progress, metrics,
// checkpoints, resume, validation and curves. Distributed when `distributed` (or torchrun's
// environment: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) says so.
import { resolveConfig, type Config, type ConfigInput } from '../config';
import { loadCocoAnnotations } from '../data/coco';
import { Detector } from '../detector';
import { evaluate } from '../eval/evaluate';
import { checkStrict, matchStateDict, readStateDict } from '../weights';
import { cocoSource } from './coco_source';
import { runTraining, type TrainResult } from './loop';
import type { DistributedOptions } from './native_trainer';
import type { Tensor } from '../types';
import type { Progress } from './progress';

export interface TrainDataset {
  /** COCO instances JSON. */
  annotations: string;
  /** Folder the images' file_name entries are relative to. */
  images: string;
}

export interface TrainOptions {
  /** Preset name, JSON file or config object (its `train` section is the recipe). */
  config: string | ConfigInput;
  data: TrainDataset & { val?: TrainDataset };
  /** Validation set (also accepted as data.val). */
  val?: TrainDataset;
  outDir: string;
  /** Continue from the newest checkpoint in outDir/checkpoints. */
  resume?: boolean;
  /** Overrides train.iterations. */
  iterations?: number;
  /** Initial weights (.pth or .safetensors): a Faster R-CNN checkpoint or an ImageNet backbone; matched by name. */
  weights?: string;
  /** Ignore tensors of `weights` that the model has no place for (default: refuse the file). */
  allowUnexpected?: boolean;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  onProgress?: (progress: Progress) => void;
  /** Stops after the current iteration, writing a checkpoint first. */
  signal?: AbortSignal;
  /** Show a progress bar / lines on this stream (rank 0). */
  progressStream?: NodeJS.WriteStream;
  /** Told about images that could not be read (they are skipped). */
  onWarning?: (message: string) => void;
  /** Default: from RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT when WORLD_SIZE > 1. */
  distributed?: DistributedOptions;
}

/** The process group torchrun (or `ir-rcnn train --nproc-per-node`) describes in the environment. */
export function distributedFromEnv(env: NodeJS.ProcessEnv = process.env): DistributedOptions | undefined {
  const worldSize = Number(env.WORLD_SIZE ?? '1');
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new Error(`WORLD_SIZE: expected an integer >= 1, got '${env.WORLD_SIZE}'`);
  if (worldSize === 1) return undefined;
  const rank = Number(env.RANK);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new Error(`RANK: expected an integer in [0, ${worldSize}), got '${env.RANK}'`);
  const masterPort = Number(env.MASTER_PORT ?? '29500');
  if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535) throw new Error(`MASTER_PORT: expected a port, got '${env.MASTER_PORT}'`);
  const timeoutMs = env.IR_RCNN_DIST_TIMEOUT_MS === undefined ? undefined : Number(env.IR_RCNN_DIST_TIMEOUT_MS);
  return { rank, worldSize, masterAddr: env.MASTER_ADDR ?? '127.0.0.1', masterPort, timeoutMs };
}

/** CUDA device of this rank: LOCAL_RANK picks the GPU, as torchrun intends. */
function rankDevice(device: string | undefined): string {
  if (device === 'cuda' && process.env.LOCAL_RANK !== undefined) return `cuda:${process.env.LOCAL_RANK}`;
  return device ?? 'cpu';
}

/**
 * Trains a detector. The model predicts class indices 1..C of the training set's categories, in
 * their order; unless the config maps class indices to category ids already, the config that is
 * saved with the weights (and returned) gets that map, so the trained Detector reports the
 * dataset's category ids.
 */
export async function train(options: TrainOptions): Promise<TrainResult & { config: Config }> {
  const resolved = resolveConfig(options.config, options.iterations !== undefined ? { train: { iterations: options.iterations } } : {});
  const distributed = options.distributed ?? distributedFromEnv();
  const rank = distributed?.rank ?? 0;
  const worldSize = distributed?.worldSize ?? 1;
  const annotations = await loadCocoAnnotations(options.data.annotations);
  const classes = annotations.categories.ids.length + 1;
  if (classes > resolved.model.numClasses) {
    throw new Error(`${options.data.annotations}: ${classes - 1} categories need model.numClasses >= ${classes}, the config has ${resolved.model.numClasses}`);
  }
  const config = withCategoryIds(resolved, annotations.categories.ids);
  const initialWeights = options.weights === undefined ? undefined : await mappedWeights(config, options.weights, options.allowUnexpected ?? false);
  const val = options.val ?? options.data.val;
  const device = rankDevice(options.device);
  const result = await runTraining({
    model: 'detector',
    modelConfig: config.model,
    initialWeights,
    numClasses: config.model.numClasses,
    solver: config.train,
    config,
    outDir: options.outDir,
    resume: options.resume,
    device,
    distributed,
    signal: options.signal,
    onProgress: options.onProgress,
    progressStream: options.progressStream,
    source: (imagesPerMicroBatch, startIteration) =>
      cocoSource({
        annotations,
        images: options.data.images,
        imagesPerMicroBatch,
        microBatches: config.train.microBatches,
        startIteration,
        minSize: config.model.minSize,
        maxSize: config.model.maxSize,
        flip: config.data.horizontalFlip,
        prefetch: config.data.prefetch,
        seed: config.train.seed,
        rank,
        worldSize,
        onWarning: options.onWarning,
      }),
    evaluate:
      val === undefined
        ? undefined
        : async (weights) => {
            const detector = await Detector.load({ config, weights, device });
            const result = await evaluate(detector, val);
            return { ap: result.stats[0], ap50: result.stats[1] };
          },
  });
  return { ...result, config };
}

/** `config` with model.categoryIds from the dataset's categories (class index i is ids[i - 1]) when it has none; unused classes map to 0. */
function withCategoryIds(config: Config, ids: ArrayLike<number>): Config {
  if (config.model.categoryIds) return config;
  const categoryIds = Array.from({ length: config.model.numClasses }, (_, i) => (i >= 1 && i <= ids.length ? ids[i - 1] : 0));
  return { ...config, model: { ...config.model, categoryIds } };
}

/**
 * A checkpoint's tensors under this model's names (torchvision's older layouts accepted). A partial
 * match (a backbone, or a Faster R-CNN for an IR model) is what fine-tuning starts from; tensors
 * the model has no place for mean the wrong file or config, and are refused unless allowed.
 */
async function mappedWeights(config: Config, file: string, allowUnexpected: boolean): Promise<Record<string, Tensor>> {
  const shapes = (await Detector.load({ config })).stateShapes();
  const matched = matchStateDict(shapes, await readStateDict(file), file);
  if (matched.tensors.size === 0) throw new Error(`weights ${file}: no tensor matches this model`);
  checkStrict(matched, file, { depth: config.model.depth, relation: config.model.relation.enabled }, { allowMissing: true, allowUnexpected });
  return Object.fromEntries(matched.tensors);
}
