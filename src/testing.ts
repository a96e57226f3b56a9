// ir-rcnn/testing: hooks for parity tests, benchmarks and inspection, kept out of the main API.
// They expose the model's inner stages (the gradient of RoIAlign, one pass of the IR module, the
// top-K graph builder) and make synthetic evaluation cases; a user detecting or training objects
// needs none of them.
import type { Detector, DetectOptions, DetectorTrace } from './detector';
import type { Float32Tensor, RgbImage } from './types';
export { roiAlignBackward, type RoiAlignBackwardOptions } from './ops';
export {
  buildTopKGraph,
  relationForward,
  relationPropagate,
  type PropagateInput,
  type PropagateOutput,
  type PropagationMatrix,
  type RelationForwardInput,
  type RelationForwardOutput,
  type RelationGraph,
  type TopKGraph,
} from './relation';
export { makeSyntheticEvalCase, writeSyntheticEvalCase, type SyntheticEvalCase } from './eval/synthetic';
export type { DetectorTrace } from './detector';

/** Every stage of one forward pass of `detector` (for parity tests); `proposals` replace the RPN's. */
export function traceDetector(detector: Detector, images: RgbImage[], options: DetectOptions = {}, proposals?: Float32Tensor[]): Promise<DetectorTrace> {
  return detector.trace(images, options, proposals);
}
