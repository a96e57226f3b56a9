// The training recipe (the paper's §4.1 by default: 90k iterations, 16 images a batch, lr 0.02
// ×0.1 at 60k and 80k, momentum 0.9, weight decay 1e-4), validated like every config part.
import { z } from 'zod';

export const solverSchema = z
  .object({
    iterations: z.number().int().positive().default(90000),
    /** Images per iteration over all ranks and micro-batches (the paper: 16). */
    imagesPerBatch: z.number().int().positive().default(16),
    /** Gradient accumulation: each rank's share of the batch runs in this many forward/backward passes. */
    microBatches: z.number().int().positive().default(1),
    lr: z.number().positive().default(0.02),
    momentum: z.number().min(0).lt(1).default(0.9),
    weightDecay: z.number().min(0).default(1e-4),
    warmupFactor: z.number().positive().max(1).default(1 / 1000),
    warmupIters: z.number().int().min(0).default(1000),
    milestones: z.array(z.number().int().min(0)).default([60000, 80000]),
    gamma: z.number().positive().default(0.1),
    /** Clip the global gradient norm to this value; 0 turns clipping off. */
    clipGradNorm: z.number().min(0).default(0),
    /** Mixed precision (CUDA only). */
    amp: z.boolean().default(false),
    checkpointEvery: z.number().int().positive().default(5000),
    keepCheckpoints: z.number().int().positive().default(3),
    /** Evaluate on the validation set every N iterations (0: only at the end). */
    evalEvery: z.number().int().min(0).default(0),
    /** Progress lines (when not on a TTY) every N iterations. */
    logEvery: z.number().int().positive().default(20),
    seed: z.number().int().min(0).default(0),
  })
  .strict()
  .refine((s) => s.milestones.every((m, i) => i === 0 || m > s.milestones[i - 1]), {
    message: 'milestones must be ascending',
    path: ['milestones'],
  });

export type SolverConfig = z.output<typeof solverSchema>;
export type SolverInput = z.input<typeof solverSchema>;

/** Validates a solver section; the error names the first bad field. */
export function resolveSolver(input: SolverInput | undefined, where = 'solver'): SolverConfig {
  const parsed = solverSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/** Images each rank takes per micro-batch; the batch must split evenly. */
export function imagesPerMicroBatch(solver: SolverConfig, worldSize: number): number {
  const parts = worldSize * solver.microBatches;
  if (solver.imagesPerBatch % parts !== 0) {
    throw new Error(
      `solver.imagesPerBatch: ${solver.imagesPerBatch} images do not split into ${worldSize} rank(s) × ${solver.microBatches} micro-batch(es)`,
    );
  }
  return solver.imagesPerBatch / parts;
}
