// The detection ops (torchvision 0.14 semantics) as typed async functions. Every function takes
// one options object; tensors are { data, shape } with Float32Array or Float64Array data (the
// result has the input's type), and indices come back as Int32Array. Work runs off the JS thread.
import { IrRcnnError } from './errors';
import { nativeFunction } from './native';
import type { FloatArray, FloatTensor, Int32Tensor, Tensor } from './types';

/** Where an op runs: 'cpu' (default), 'cuda' or 'cuda:N'. Inputs are copied there and the result back. */
export interface DeviceOption {
  device?: string;
}

export interface RoiAlignOptions<D extends FloatArray> extends DeviceOption {
  /** Feature maps [B, C, H, W]. */
  input: Tensor<D>;
  /** [K, 5] rows of (batch index, x1, y1, x2, y2) in image coordinates. */
  rois: Tensor<D>;
  /** Pooled size: one number or [height, width]. Default 7. */
  outputSize?: number | [number, number];
  /** Feature-map size / image size, e.g. 0.25 for a stride-4 map. Default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; <= 0 is adaptive (ceil(roi size / output size)). Default -1. */
  samplingRatio?: number;
  /** Shift by half a pixel so corners fall on pixel centres (Detectron2). Default false. */
  aligned?: boolean;
}

/** RoIAlign forward: [K, C, outH, outW], as torchvision.ops.roi_align. */
export function roiAlign<D extends FloatArray>(options: RoiAlignOptions<D>): Promise<Tensor<D>> {
  return call('roiAlign', options);
}

export interface RoiAlignBackwardOptions<D extends FloatArray> extends DeviceOption {
  /** Gradient of the RoIAlign output, [K, C, outH, outW] (the output size is read from it). */
  gradOutput: Tensor<D>;
  rois: Tensor<D>;
  /** Shape of the forward input, [B, C, H, W]. */
  inputShape: [number, number, number, number];
  spatialScale?: number;
  samplingRatio?: number;
  aligned?: boolean;
}

/** Gradient of RoIAlign w.r.t. its input, [B, C, H, W] (the rois get none, as in torchvision). */
export function roiAlignBackward<D extends FloatArray>(options: RoiAlignBackwardOptions<D>): Promise<Tensor<D>> {
  return call('roiAlignBackward', options);
}

export interface MultiScaleRoiAlignOptions<D extends FloatArray> extends DeviceOption {
  /** FPN maps used for pooling, finest first (P2..P5), each [B, C, Hl, Wl]. */
  features: Tensor<D>[];
  /** One [Ni, 4] box list per image, in image coordinates. */
  boxes: Tensor<D>[];
  /** [height, width] of each image; each map's scale is inferred from the largest height. */
  imageSizes: [number, number][];
  /** Default 7. */
  outputSize?: number;
  /** Default 2. */
  samplingRatio?: number;
  /** LevelMapper's s0 and k0: a box of sqrt(area) = s0 goes to level k0. Defaults 224 and 4. */
  canonicalScale?: number;
  canonicalLevel?: number;
}

/** torchvision's MultiScaleRoIAlign: each box is pooled from its FPN level. [sum Ni, C, out, out]. */
export function multiScaleRoiAlign<D extends FloatArray>(options: MultiScaleRoiAlignOptions<D>): Promise<Tensor<D>> {
  return call('multiScaleRoiAlign', options);
}

export interface AssignFpnLevelsOptions extends DeviceOption {
  boxes: FloatTensor;
  /** Finest and coarsest level numbers, e.g. 2 and 5 for P2..P5. Defaults 2 and 5. */
  kMin?: number;
  kMax?: number;
  canonicalScale?: number;
  canonicalLevel?: number;
}

/** The level index (0 = kMin) torchvision's LevelMapper gives each box. */
export function assignFpnLevels(options: AssignFpnLevelsOptions): Promise<Int32Tensor> {
  return call('assignFpnLevels', options);
}

export interface NmsOptions<D extends FloatArray> extends DeviceOption {
  /** [N, 4] (x1, y1, x2, y2). */
  boxes: Tensor<D>;
  /** [N], same array type as boxes. */
  scores: Tensor<D>;
  /** A box is dropped when its IoU with a kept, higher-scoring box exceeds this. */
  iouThreshold: number;
}

/** Indices of the kept boxes by decreasing score (ties: lower index first). */
export function nms<D extends FloatArray>(options: NmsOptions<D>): Promise<Int32Tensor> {
  return call('nms', options);
}

export interface BatchedNmsOptions<D extends FloatArray> extends NmsOptions<D> {
  /** [N] class (or image) index of each box; boxes of different indices never suppress each other. */
  idxs: Tensor<Int32Array | BigInt64Array>;
}

/** Per-class NMS (torchvision's batched_nms, coordinate-offset form). */
export function batchedNms<D extends FloatArray>(options: BatchedNmsOptions<D>): Promise<Int32Tensor> {
  return call('batchedNms', options);
}

/** IoU matrix [N, M] of boxes1 [N, 4] and boxes2 [M, 4]. */
export function boxIou<D extends FloatArray>(options: { boxes1: Tensor<D>; boxes2: Tensor<D> } & DeviceOption): Promise<Tensor<D>> {
  return call('boxIou', options);
}

/** (wx, wy, ww, wh): [10, 10, 5, 5] for Faster R-CNN's box head, [1, 1, 1, 1] for the RPN. Default [1, 1, 1, 1]. */
export type BoxCoderWeights = [number, number, number, number];

/** Regression targets [N, 4] that turn each proposal into its reference box (BoxCoder.encode_single). */
export function encodeBoxes<D extends FloatArray>(options: {
  reference: Tensor<D>;
  proposals: Tensor<D>;
  weights?: BoxCoderWeights;
} & DeviceOption): Promise<Tensor<D>> {
  return call('encodeBoxes', options);
}

/**
 * Applies deltas [N, 4*C] to boxes [N, 4] and returns [N, C, 4] (BoxCoder.decode). dw and dh are
 * clamped at `clip` (default log(1000/16)) so that exp() cannot overflow.
 */
export function decodeBoxes<D extends FloatArray>(options: {
  deltas: Tensor<D>;
  boxes: Tensor<D>;
  weights?: BoxCoderWeights;
  clip?: number;
} & DeviceOption): Promise<Tensor<D>> {
  return call('decodeBoxes', options);
}

/** Clamps x to [0, width] and y to [0, height]. */
export function clipBoxes<D extends FloatArray>(options: { boxes: Tensor<D>; height: number; width: number } & DeviceOption): Promise<Tensor<D>> {
  return call('clipBoxes', options);
}

/** Indices of the boxes whose width and height are both >= minSize. */
export function removeSmallBoxes(options: { boxes: FloatTensor; minSize: number } & DeviceOption): Promise<Int32Tensor> {
  return call('removeSmallBoxes', options);
}

// The addon checks tensors, sizes and numbers; here only the argument itself, so that a
// missing options object gets a message naming the op rather than a property-access error.
async function call<R>(name: string, options: unknown): Promise<R> {
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw new IrRcnnError('ERR_INVALID_ARGUMENT', `${name}: expected an options object`);
  return nativeFunction<(options: unknown) => Promise<R>>(name)(options);
}
