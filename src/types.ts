// The data types that cross the library: tensors as the addon reads and writes them, images,
// ground truth and detections. Each is defined here once; every module imports it from here.

/** Typed arrays that cross the native boundary; the dtype follows the array type. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A dense, row-major tensor as the addon reads and writes it. */
export interface Tensor<D extends TensorData = TensorData> {
  data: D;
  shape: number[];
}

export type FloatArray = Float32Array | Float64Array;
/** A float32 or float64 tensor; the ops return the array type they were given. */
export type FloatTensor<D extends FloatArray = FloatArray> = Tensor<D>;
export type Float32Tensor = Tensor<Float32Array>;
export type Int32Tensor = Tensor<Int32Array>;

/** 8-bit RGB pixels, row-major height × width × 3. */
export interface RgbImage {
  data: Uint8Array;
  height: number;
  width: number;
}

/** A path or an encoded image (JPEG, PNG, WebP, ...). */
export type ImageSource = string | Buffer;

/**
 * The ground truth of one image, in that image's pixels, as training and Detector.losses() take
 * it. `labels` are class indices 1..numClasses-1 (0 is background), not dataset category ids.
 */
export interface ImageTargets {
  /** x1, y1, x2, y2 per box: the non-crowd boxes with width and height > 0. */
  boxes: Float32Array;
  /** The class index of each box. */
  labels: Int32Array;
  /** x1, y1, x2, y2 per iscrowd region: never a positive, and what overlaps it is ignored. */
  crowdBoxes: Float32Array;
}

/** One detection in original-image pixels. */
export interface Detection {
  /** [x, y, width, height], as in COCO results. */
  bbox: [number, number, number, number];
  score: number;
  /** The model's class index (1..numClasses-1). */
  label: number;
  /** The dataset's category id of that class: config.model.categoryIds[label], or the label when the config has no map. */
  categoryId: number;
}
