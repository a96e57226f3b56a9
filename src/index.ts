// The public API of ir-rcnn. Everything a user needs is exported from here; the raw addon is not.

// Detection: the detector, its configs and image decoding.
export type { Detection, ImageSource, ImageTargets, RgbImage, Tensor, TensorData, FloatArray, FloatTensor, Float32Tensor, Int32Tensor } from './types';
export { IrRcnnError, isIrRcnnError, ERROR_CODES, type IrRcnnErrorCode } from './errors';
export {
  Detector,
  type DetectionGraph,
  type DetectOptions,
  type ImageResult,
  type LoadOptions,
  type ParameterCount,
} from './detector';
export { resolveConfig, presets, configSchema, COCO_CATEGORY_IDS, type Config, type ConfigInput, type ModelConfig } from './config';
export { relationOptionsSchema, type RelationOptions, type RelationOptionsInput } from './config/relation';
export { decodeRgb } from './image';

// Training.
export { train, distributedFromEnv, type TrainOptions, type TrainDataset } from './train/train';
export type { TrainResult } from './train/loop';
export type { Progress } from './train/progress';
export { solverSchema, type SolverConfig } from './train/solver';

// COCO evaluation, results files and curves.
export {
  evaluate,
  evaluateResults,
  writeCocoResults,
  CocoResultsWriter,
  readCocoResults,
  writePrCurves,
  AREA_PRESETS,
  type EvaluationResult,
  type EvalOptions,
  type EvaluateOptions,
  type AreaRange,
  type CocoResult,
  type ImageDetections,
  type DetectorLike,
  type Dataset,
} from './eval';
export * as plot from './plot';

// Data: COCO annotations, images, batches, the synthetic small-object set.
export { loadCocoAnnotations, imageAnnotations, type CocoAnnotations, type LoadCocoOptions } from './data/coco';
export { createBatchLoader, loaderBatchesPerEpoch, type Batch, type BatchLoaderOptions } from './data/loader';
export { decodeImage, type DecodedImage } from './data/images';
export { generateSyntheticDataset, type SyntheticDataset, type SyntheticOptions } from './data/synthetic';

// The demo: baseline vs IR R-CNN on the synthetic set (npm run demo).
export { runDemo, DEMO_DEFAULTS, type DemoOptions, type DemoResult } from './demo/experiment';

// Weights files.
export { readStateDict, readSafetensors, writeSafetensors, matchStateDict, type MatchedStateDict, type Safetensors } from './weights';

// The detection ops and the IR module's building blocks.
export {
  roiAlign,
  multiScaleRoiAlign,
  assignFpnLevels,
  nms,
  batchedNms,
  boxIou,
  encodeBoxes,
  decodeBoxes,
  clipBoxes,
  removeSmallBoxes,
} from './ops';
export type {
  DeviceOption,
  BoxCoderWeights,
  RoiAlignOptions,
  MultiScaleRoiAlignOptions,
  AssignFpnLevelsOptions,
  NmsOptions,
  BatchedNmsOptions,
} from './ops';

// The native side.
export { setNumThreads, torchInfo, type TorchInfo } from './native';
export { doctor, formatDoctorReport, type DoctorReport, type Problem } from './doctor';
