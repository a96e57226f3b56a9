// The Detector: a config, a native Faster R-CNN / IR R-CNN built from it, torchvision-compatible
// weights loaded into it, and detect() from image paths or Buffers to COCO-style detections.
// dispose() frees the native model (`await using det = await Detector.load(...)` does it at the
// end of the scope); garbage collection frees one that is never disposed.
import { resolveConfig, type Config, type ConfigInput } from './config';
import { nativeModelConfig } from './config/native';
import { ResultDrawer, type DetectDrawOptions } from './draw';
import { IrRcnnError } from './errors';
import { decodeRgb } from './image';
import { nativeFunction, nativeTargets, type NativeTargets } from './native';
import { checkStrict, matchStateDict, readStateDict, type StrictOptions } from './weights';
import type { Detection, Float32Tensor, ImageSource, ImageTargets, Int32Tensor, RgbImage, Tensor } from './types';

/** The relation graph among an image's detections (detect({ returnGraph: true }), IR models). */
export interface DetectionGraph {
  /** Edge endpoints, as indices into the image's detections (both directions listed). */
  src: Int32Array;
  dst: Int32Array;
  /** 1 semantic, 2 spatial, 3 both. */
  type: Uint8Array;
  weight: Float32Array;
}

export interface ImageResult {
  detections: Detection[];
  graph?: DetectionGraph;
}

export interface DetectOptions extends DetectDrawOptions {
  /** Keep detections scoring above this (default: the config's, 0.05). */
  scoreThreshold?: number;
  /** Per-class NMS IoU threshold (default: the config's, 0.5). */
  nmsThreshold?: number;
  /** At most this many detections per image (default: the config's, 100). */
  maxDetections?: number;
  /** Images per forward pass (default 1). */
  batchSize?: number;
  /** Also return the relation graph among the detections (IR models). */
  returnGraph?: boolean;
}

export interface LoadOptions extends StrictOptions {
  /** Preset name, JSON file or config object. */
  config: string | ConfigInput;
  /** A .pth (torch.save) or .safetensors state dict; without it the model is randomly initialised. */
  weights?: string;
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** Overrides model.numClasses (e.g. 81 for a COCO model without torchvision's empty ids). */
  numClasses?: number;
}

export interface ParameterCount {
  /** All parameters (FrozenBatchNorm statistics are buffers and do not count), as torchvision counts. */
  total: number;
  /** Parameters that training updates. */
  trainable: number;
  /** Parameters of the IR module (roi_heads.relation.*). */
  relation: number;
}

/** The opaque native model. */
type Handle = { readonly __detector: unique symbol };
interface RawDetections {
  boxes: Float32Tensor;
  scores: Float32Tensor;
  labels: Int32Tensor;
  proposalIndex: Int32Tensor;
  graph?: { src: Int32Tensor; dst: Int32Tensor; type: Tensor<Uint8Array>; weight: Float32Tensor };
}
/** detect()'s options as the addon takes them: every one given. */
interface NativeDetectOptions {
  scoreThreshold: number;
  nmsThreshold: number;
  maxDetections: number;
  returnGraph: boolean;
}

/** Every stage of one forward pass (Detector.trace): for parity tests and inspection. */
export interface DetectorTrace {
  imageSizes: [number, number][];
  batchShape: number[];
  features: Float32Tensor[];
  proposals: Float32Tensor[];
  classLogits: Float32Tensor;
  boxRegression: Float32Tensor;
  detections: RawDetections[];
}

const native = {
  create: () => nativeFunction<(config: object) => Handle>('createDetector'),
  stateShapes: () => nativeFunction<(h: Handle) => Record<string, number[]>>('detectorStateShapes'),
  loadState: () => nativeFunction<(h: Handle, state: Record<string, Tensor>) => Promise<void>>('detectorLoadState'),
  stateDict: () => nativeFunction<(h: Handle) => Promise<Record<string, Float32Tensor>>>('detectorStateDict'),
  parameterCount: () => nativeFunction<(h: Handle) => ParameterCount>('detectorParameterCount'),
  toDevice: () => nativeFunction<(h: Handle, device: string) => Promise<void>>('detectorToDevice'),
  detect: () => nativeFunction<(h: Handle, images: RgbImage[], options: NativeDetectOptions) => Promise<RawDetections[]>>('detectorDetect'),
  losses: () =>
    nativeFunction<(h: Handle, images: RgbImage[], targets: NativeTargets[], options: { seed?: number }) => Promise<Record<string, number>>>(
      'detectorLosses',
    ),
  trace: () =>
    nativeFunction<(h: Handle, images: RgbImage[], options: NativeDetectOptions, proposals?: Float32Tensor[]) => Promise<DetectorTrace>>(
      'detectorTrace',
    ),
  dispose: () => nativeFunction<(h: Handle) => Promise<void>>('detectorDispose'),
};

function checkNumber(value: number | undefined, what: string, min: number, max: number, integer = false): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new IrRcnnError('ERR_INVALID_ARGUMENT', `detect: ${what} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got ${String(value)}`);
  }
}

export class Detector {
  private constructor(
    private readonly handle: Handle,
    /** The resolved config the model was built from. */
    readonly config: Config,
  ) {}

  /** Builds the model of `config`, loads `weights` into it and moves it to `device`. */
  static async load(options: LoadOptions): Promise<Detector> {
    const overrides: ConfigInput = options.numClasses !== undefined ? { model: { numClasses: options.numClasses } } : {};
    const config = resolveConfig(options.config, overrides);
    const detector = new Detector(native.create()(nativeModelConfig(config.model)), config);
    if (options.weights !== undefined) await detector.loadWeights(options.weights, options);
    if (options.device !== undefined && options.device !== 'cpu') await native.toDevice()(detector.handle, options.device);
    return detector;
  }

  /** The model's state-dict names and shapes (parameters, then FrozenBatchNorm buffers). */
  stateShapes(): Map<string, number[]> {
    return new Map(Object.entries(native.stateShapes()(this.handle)));
  }

  /**
   * Loads a .pth or .safetensors file as load_state_dict(strict=True) does: a tensor the model
   * lacks, or one of the model's that the file lacks, is an error unless `options` allows it.
   */
  async loadWeights(file: string, options: StrictOptions = {}): Promise<void> {
    const matched = matchStateDict(this.stateShapes(), await readStateDict(file), file);
    checkStrict(matched, file, { depth: this.config.model.depth, relation: this.config.model.relation.enabled }, options);
    await this.loadState(matched.tensors);
  }

  /** Copies tensors (model names, model shapes) into the model. */
  async loadState(tensors: Map<string, Tensor>): Promise<void> {
    await native.loadState()(this.handle, Object.fromEntries(tensors));
  }

  /** The model's parameters and buffers, float32 on the CPU, under torchvision's names. */
  async stateDict(): Promise<Map<string, Float32Tensor>> {
    return new Map(Object.entries(await native.stateDict()(this.handle)));
  }

  parameterCount(): ParameterCount {
    return native.parameterCount()(this.handle);
  }

  /** Detections for each image (paths or encoded Buffers), boxes in original-image pixels; drawn too with `draw`. */
  async detect(images: ImageSource[], options: DetectOptions = {}): Promise<ImageResult[]> {
    if (!Array.isArray(images)) throw new IrRcnnError('ERR_INVALID_ARGUMENT', 'detect: expected an array of image paths or Buffers');
    checkNumber(options.scoreThreshold, 'scoreThreshold', 0, 1);
    checkNumber(options.nmsThreshold, 'nmsThreshold', 0, 1);
    checkNumber(options.maxDetections, 'maxDetections', 0, 1e6, true);
    checkNumber(options.batchSize, 'batchSize', 1, 1024, true);
    checkNumber(options.drawScoreThreshold, 'drawScoreThreshold', 0, 1);
    const batchSize = options.batchSize ?? 1;
    const drawer = await ResultDrawer.create(images, options);
    const results: ImageResult[] = [];
    for (let start = 0; start < images.length; start += batchSize) {
      const chunk = images.slice(start, start + batchSize);
      const pixels = await Promise.all(chunk.map((source, i) => decodeRgb(source, start + i)));
      const chunkResults = await this.detectPixels(pixels, options);
      await drawer?.draw(start, pixels, chunkResults);
      results.push(...chunkResults);
    }
    return results;
  }

  /** detect() on decoded RGB pixels. */
  async detectPixels(images: RgbImage[], options: DetectOptions = {}): Promise<ImageResult[]> {
    const raw = await native.detect()(this.handle, images, this.nativeOptions(options));
    return raw.map((r) => this.toResult(r));
  }

  /** Every stage of one pass; `proposals` (network-input pixels) replace the RPN's when given. */
  trace(images: RgbImage[], options: DetectOptions = {}, proposals?: Float32Tensor[]): Promise<DetectorTrace> {
    return native.trace()(this.handle, images, this.nativeOptions(options), proposals);
  }

  /**
   * The training losses of one batch (loss_objectness, loss_rpn_box_reg, loss_classifier,
   * loss_box_reg, and loss_relation for IR models), without gradients or updates. The samplers
   * draw from a generator of this call's own: seeded with `seed` (the numbers torchvision draws
   * after torch.manual_seed(seed)), else the detector's; never from a trainer's.
   */
  losses(images: RgbImage[], targets: ImageTargets[], options: { seed?: number } = {}): Promise<Record<string, number>> {
    return native.losses()(this.handle, images, nativeTargets(targets), { seed: options.seed });
  }

  /** Frees the native model once a running call is done; any later call rejects with ERR_DISPOSED. */
  dispose(): Promise<void> {
    return native.dispose()(this.handle);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private nativeOptions(options: DetectOptions): NativeDetectOptions {
    const roi = this.config.model.roi;
    return {
      scoreThreshold: options.scoreThreshold ?? roi.scoreThreshold,
      nmsThreshold: options.nmsThreshold ?? roi.nmsThreshold,
      maxDetections: options.maxDetections ?? roi.maxDetections,
      returnGraph: options.returnGraph ?? false,
    };
  }

  private toResult(raw: RawDetections): ImageResult {
    const ids = this.config.model.categoryIds;
    const b = raw.boxes.data;
    const detections: Detection[] = [];
    for (let i = 0; i < raw.scores.data.length; i++) {
      const label = raw.labels.data[i];
      const [x1, y1, x2, y2] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
      detections.push({ bbox: [x1, y1, x2 - x1, y2 - y1], score: raw.scores.data[i], label, categoryId: ids ? ids[label] : label });
    }
    if (!raw.graph) return { detections };
    const g = raw.graph;
    return { detections, graph: { src: g.src.data, dst: g.dst.data, type: g.type.data, weight: g.weight.data } };
  }
}
