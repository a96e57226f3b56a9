// The training loop around the native trainer: batches in, steps, metrics.jsonl, progress,
// checkpoints every N iterations and at the end (rank 0 only), resume from the newest checkpoint,
// a clean stop on abort (after a checkpoint), and a hard stop naming the iteration on a NaN/Inf loss.
import { promises as fsp } from 'fs';
import * as path from 'path';
import { writeSafetensors } from '../weights/safetensors';
import { latestCheckpoint, modelTensors, saveCheckpoint } from './checkpoint';
import { readMetrics, writeCurves, type MetricsRecord } from './curves';
import { NativeTrainer, type DistributedOptions, type NativeTrainerOptions, type TrainBatch } from './native_trainer';
import { ProgressReporter, type Progress } from './progress';
import { imagesPerMicroBatch, type SolverConfig } from './solver';

/**
 * Where batches come from. `batch(iteration)` must depend only on (seed, iteration, rank) so
 * that a resumed run sees exactly the data an uninterrupted one would.
 */
export interface BatchSource {
  /** This rank's micro-batches of `iteration`, each of `imagesPerMicroBatch` images. */
  batch(iteration: number): Promise<TrainBatch[]>;
  /** Frees workers and files; called once at the end. */
  close?(): Promise<void>;
}

export interface LoopOptions {
  model: NativeTrainerOptions['model'];
  modelConfig?: NativeTrainerOptions['modelConfig'];
  initialWeights?: NativeTrainerOptions['initialWeights'];
  numClasses: number;
  solver: SolverConfig;
  /**
   * Builds this rank's batch source once the split of the batch and the first iteration (after
   * a resume) are known.
   */
  source: (imagesPerMicroBatch: number, startIteration: number) => BatchSource | Promise<BatchSource>;
  outDir: string;
  /** The resolved config, saved with every checkpoint and the final weights. */
  config: unknown;
  resume?: boolean;
  device?: string;
  distributed?: DistributedOptions;
  /** Stop early: after the next step on every rank, with a checkpoint. */
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** Draw a progress bar (TTY) or lines on this stream (rank 0 only). */
  progressStream?: NodeJS.WriteStream;
  /** Validation, every solver.evalEvery iterations and at the end (rank 0 only). */
  evaluate?: (weights: string, iteration: number) => Promise<{ ap: number; ap50?: number }>;
}

export interface TrainResult {
  /** Iterations done (== solver.iterations unless stopped by the signal). */
  iteration: number;
  /** The newest checkpoint (rank 0), undefined on other ranks. */
  checkpoint?: string;
  /** model.safetensors: the final weights under torchvision's names (rank 0). */
  weights?: string;
  metrics?: string;
  curves: string[];
  losses: Record<string, number>;
  /** true when the signal stopped the run early. */
  aborted: boolean;
}

export async function runTraining(options: LoopOptions): Promise<TrainResult> {
  const { solver, outDir } = options;
  const rank = options.distributed?.rank ?? 0;
  const worldSize = options.distributed?.worldSize ?? 1;
  const perMicroBatch = imagesPerMicroBatch(solver, worldSize);
  const leader = rank === 0;
  const checkpointDir = path.join(outDir, 'checkpoints');
  const metricsFile = path.join(outDir, 'metrics.jsonl');
  if (leader) await fsp.mkdir(outDir, { recursive: true });

  const reporter = leader && options.progressStream ? new ProgressReporter(options.progressStream, solver.logEvery) : undefined;
  const trainer = await NativeTrainer.create({
    model: options.model,
    modelConfig: options.modelConfig,
    initialWeights: options.initialWeights,
    numClasses: options.numClasses,
    lr: solver.lr,
    momentum: solver.momentum,
    weightDecay: solver.weightDecay,
    warmupFactor: solver.warmupFactor,
    warmupIters: solver.warmupIters,
    milestones: solver.milestones,
    gamma: solver.gamma,
    clipGradNorm: solver.clipGradNorm,
    amp: solver.amp,
    device: options.device ?? 'cpu',
    // Each rank its own random stream (RoI sampling); the weights are rank 0's, broadcast.
    seed: solver.seed + rank,
    distributed: options.distributed,
  });
  let source: BatchSource | undefined;
  try {
    let iteration = 0;
    let checkpoint: string | undefined;
    if (options.resume) {
      const found = await latestCheckpoint(checkpointDir);
      if (found) {
        await trainer.loadState(found.state);
        iteration = found.state.iteration;
        checkpoint = found.file;
        reporter?.message(`resumed from ${found.file} at iteration ${iteration}`);
      } else {
        reporter?.message(`no checkpoint in ${checkpointDir}: starting from iteration 0`);
      }
    }
    source = await options.source(perMicroBatch, iteration);
    const history = leader ? await startMetrics(metricsFile, options.resume ? iteration : 0) : [];
    let savedAt = checkpoint ? iteration : -1;
    const save = async (): Promise<string> => {
      const state = await trainer.state();
      savedAt = state.iteration;
      return saveCheckpoint(checkpointDir, { state, config: options.config, sampler: { seed: solver.seed, iteration: state.iteration } }, solver.keepCheckpoints);
    };

    let losses: Record<string, number> = {};
    let aborted = false;
    const started = Date.now();
    const firstIteration = iteration;
    const batchOf = source.batch.bind(source);
    let next = iteration < solver.iterations ? batchOf(iteration) : undefined;
    while (iteration < solver.iterations && !aborted) {
      const batches = await (next as Promise<TrainBatch[]>);
      // Load the next batch while this one trains.
      next = iteration + 1 < solver.iterations ? batchOf(iteration + 1) : undefined;
      next?.catch(() => undefined);
      // An abort becomes a stop request that all ranks honour after the same step.
      const result = await trainer.step(batches, options.signal?.aborted ?? false);
      if (!result.finite) {
        const terms = Object.entries(result.losses).map(([k, v]) => `${k}=${v}`).join(', ');
        const kept = checkpoint ? `the last good checkpoint is ${checkpoint}` : 'no checkpoint had been written yet';
        throw new Error(`training stopped: non-finite loss at iteration ${iteration + 1} (${terms}); ${kept}`);
      }
      iteration = result.iteration;
      losses = result.losses;
      aborted = result.stop && iteration < solver.iterations;
      const seconds = (Date.now() - started) / 1000;
      const perSecond = (iteration - firstIteration) / Math.max(seconds, 1e-9);
      const progress: Progress = {
        iteration,
        iterations: solver.iterations,
        losses,
        lr: result.lr,
        imagesPerSecond: perSecond * solver.imagesPerBatch,
        etaSeconds: (solver.iterations - iteration) / perSecond,
      };
      options.onProgress?.(progress);
      if (!leader) continue;
      reporter?.update(progress);
      const record: MetricsRecord = { iteration, losses, lr: result.lr };
      history.push(record);
      await fsp.appendFile(metricsFile, `${JSON.stringify({ ...record, imagesPerSecond: progress.imagesPerSecond })}\n`);
      if (iteration % solver.checkpointEvery === 0 || iteration === solver.iterations) checkpoint = await save();
      if (options.evaluate && solver.evalEvery > 0 && iteration % solver.evalEvery === 0 && iteration < solver.iterations) {
        history.push(await validate(options, trainer, outDir, iteration, metricsFile, reporter));
      }
    }
    next?.catch(() => undefined);

    const result: TrainResult = { iteration, losses, aborted, curves: [] };
    if (!leader) return result;
    if (aborted && savedAt !== iteration) checkpoint = await save();
    result.checkpoint = checkpoint;
    result.metrics = metricsFile;
    if (!aborted) {
      result.weights = await writeWeights(trainer, outDir, options.config);
      if (options.evaluate) history.push(await validate(options, trainer, outDir, iteration, metricsFile, reporter));
    }
    result.curves = await writeCurves(outDir, history);
    reporter?.finish();
    return result;
  } finally {
    reporter?.finish();
    await source?.close?.();
    await trainer.dispose();
  }
}

/** metrics.jsonl restarted (or, on resume, cut back to the checkpoint's iteration). */
async function startMetrics(file: string, keepUpTo: number): Promise<MetricsRecord[]> {
  const kept = keepUpTo > 0 ? (await readMetrics(file)).filter((r) => r.iteration <= keepUpTo) : [];
  await fsp.writeFile(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return kept;
}

async function writeWeights(trainer: NativeTrainer, outDir: string, config: unknown): Promise<string> {
  const file = path.join(outDir, 'model.safetensors');
  await writeSafetensors(file, modelTensors(await trainer.state()), { format: 'ir-rcnn-model', config: JSON.stringify(config) });
  return file;
}

async function validate(
  options: LoopOptions,
  trainer: NativeTrainer,
  outDir: string,
  iteration: number,
  metricsFile: string,
  reporter: ProgressReporter | undefined,
): Promise<MetricsRecord> {
  const weights = await writeWeights(trainer, outDir, options.config);
  const { ap, ap50 } = await (options.evaluate as NonNullable<LoopOptions['evaluate']>)(weights, iteration);
  const record: MetricsRecord = { iteration, ap, ap50 };
  await fsp.appendFile(metricsFile, `${JSON.stringify(record)}\n`);
  reporter?.message(`iteration ${iteration}: validation AP ${(100 * ap).toFixed(2)}${ap50 === undefined ? '' : `, AP50 ${(100 * ap50).toFixed(2)}`}`);
  return record;
}
