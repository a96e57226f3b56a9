// The work of the rows whose FLOPs are known, and the machine's float32 peak that the table shows
// their rate as a share of. The peak is measured here, not quoted from a data sheet: the best of a
// few float32 products through torch's BLAS (sgemm) at the bench's thread count, the fastest thing
// this machine's LibTorch does. The detector's FLOPs are counted on torchvision's model
// (torchvision_bench.py, forward_flops), which is our architecture too.
import type { BenchContext } from './context';
import { timeReference } from './compare';

export interface Peak {
  gflops: number;
  /** How it was measured, for the results header. */
  how: string;
}

const SIZE = 2048;
const RUNS = 5;

/** The CPU's float32 peak as torch.mm reaches it, or undefined (with a notice) when Python cannot run it. */
export async function measurePeak(context: BenchContext): Promise<Peak | undefined> {
  if (!context.torchvision) return undefined;
  context.log(`float32 peak: torch.mm ${SIZE}×${SIZE}, best of ${RUNS}`);
  const product = await timeReference(context, 'float32 peak', 'torch.mm', {}, { op: 'matmul', size: SIZE }, { warmup: 1, repeats: RUNS });
  if (!product) return undefined;
  return {
    gflops: (2 * SIZE ** 3) / product.reference.stats.minMs / 1e6,
    how: `torch.mm ${SIZE}×${SIZE}, best of ${RUNS}, ${context.threads} thread${context.threads > 1 ? 's' : ''}`,
  };
}

/** How roiAlignFlops counts, for the rows' notes. */
export const ROI_ALIGN_FLOPS = 'FLOPs = boxes × C × out² × sampling² × 7 (a bilinear sample: 4 multiplies, 3 adds)';

/**
 * RoIAlign forward: each box has out × out bins per channel, each the mean of sampling² bilinear
 * samples of 4 multiplies and 3 adds. The sample positions and weights, shared by all channels, and
 * the mean are not counted.
 */
export function roiAlignFlops(boxes: number, channels: number, outputSize: number, samplingRatio: number): number {
  return boxes * channels * outputSize ** 2 * samplingRatio ** 2 * 7;
}
