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
import { detectSliced, shrunk, type SlicedDetectOptions } from './slice/detect';
import { tileGrid, type Tile } from './slice/tiles';
import type { BoxList } from './slice/merge';
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
  /**
   * Sliced detection for large images: the model also sees overlapping tiles of `size` pixels
   * at full resolution (`overlap` share between neighbours, default 0.2), and the tiles'
   * detections are merged in original-image pixels. `batchSize` is then tiles per pass.
   */
  tiles?: { size: number; overlap?: number };
  /** With tiles: also detect on the whole image, resized as without tiles (default true). */
  fullImage?: boolean;
  /** With tiles: 'nmm' (default) grows a kept box to the union of its matches (a cut object becomes whole); 'nms' drops them. */
  merge?: 'nms' | 'nmm';
  /** With tiles: how boxes match when merging, IoU or IoS (intersection over the smaller box, default). */
  matchMetric?: 'iou' | 'ios';
  /** With tiles: boxes match above this (default 0.5). */
  matchThreshold?: number;
  /** With tiles: merge boxes of different classes too (default false). */
  classAgnostic?: boolean;
  /**
   * With tiles, for IR models: 'tile' (default) reasons over each tile's proposals alone;
   * 'image' pools the proposals of every tile into one set in whole-image pixels and runs the
   * relation module and the box predictor once over it, so that the graphs connect objects of
   * different tiles. With 'image' the tiles' duplicates are removed before classification, and
   * `returnGraph` gives the whole image's graph.
   */
  relationScope?: 'tile' | 'image';
  /** With tiles: called after each pass, with the image's index and its tiles done of all. */
  onProgress?: (progress: { image: number; done: number; total: number }) => void;
  /** Stops a sliced detection between passes (rejects with the signal's reason). */
  signal?: AbortSignal;
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
  gatherTiles: () =>
    nativeFunction<(h: Handle, image: RgbImage[], regions: Region[], gathered: GatheredProposals | null, maxProposals: number) => Promise<GatheredProposals>>(
      'detectorGatherTiles',
    ),
  detectGathered: () =>
    nativeFunction<(h: Handle, gathered: GatheredProposals, size: { height: number; width: number }, options: NativeDetectOptions) => Promise<RawDetections[]>>(
      'detectorDetectGathered',
    ),
};

/**
 * A region of the image given to gatherTiles: a tile, or the whole image shrunk; whole-image
 * pixels are region pixels × factor + (x, y) (factors default to 1).
 */
type Region = Tile & { factorX?: number; factorY?: number };

/** Proposals of one image gathered tile by tile (relationScope 'image'), whole-image pixels. */
interface GatheredProposals {
  boxes: Float32Tensor;
  scores: Float32Tensor;
  features: Float32Tensor;
  scale: number;
}

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
    if (options.tiles !== undefined) {
      for (let i = 0; i < images.length; i++) {
        const pixels = await decodeRgb(images[i], i);
        const result = await this.detectTiles(pixels, i, options);
        await drawer?.draw(i, [pixels], [result]);
        results.push(result);
      }
      return results;
    }
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

  /** Sliced detection of one decoded image (detect() with `tiles`). */
  private async detectTiles(image: RgbImage, index: number, options: DetectOptions): Promise<ImageResult> {
    const sliced = this.slicedOptions(index, options);
    if ((options.relationScope ?? 'tile') === 'image') return this.detectImageScope(image, sliced, options);
    if (options.returnGraph) {
      throw new IrRcnnError('ERR_INVALID_ARGUMENT', "detect: returnGraph with tiles needs relationScope 'image' (per-tile graphs do not join)");
    }
    // Each tile keeps the config's detections per image; the cap applies to the merged list.
    const perTile = this.nativeOptions({ ...options, maxDetections: undefined, returnGraph: false });
    const merged = await detectSliced(image, async (pixels) => (await native.detect()(this.handle, pixels, perTile)).map(boxList), sliced);
    return this.toResult({ boxes: { data: merged.boxes, shape: [merged.scores.length, 4] }, scores: { data: merged.scores, shape: [merged.scores.length] }, labels: { data: merged.labels, shape: [merged.labels.length] } });
  }

  /**
   * relationScope 'image': backbone, RPN and box head tile by tile, their proposals gathered in
   * whole-image pixels (duplicates of overlapping tiles merged, the most confident kept), then the
   * relation module and the predictor once over all of them.
   */
  private async detectImageScope(image: RgbImage, sliced: SlicedDetectOptions, options: DetectOptions): Promise<ImageResult> {
    const grid = tileGrid(image.width, image.height, sliced.tiles);
    const passes: { image: RgbImage; regions: Region[] }[] = [];
    for (let start = 0; start < grid.length; start += sliced.batchSize) passes.push({ image, regions: grid.slice(start, start + sliced.batchSize) });
    if (sliced.fullImage) {
      const small = await shrunk(image, sliced.minSize, sliced.maxSize);
      const whole = { x: 0, y: 0, width: small.image.width, height: small.image.height, factorX: small.factorX, factorY: small.factorY };
      passes.push({ image: small.image, regions: [whole] });
    }
    // As many proposals as the tiles would each keep, for the image's share of tiles, at most 4000:
    // the relation module's pairwise matrices grow with the square of it.
    const maxProposals = Math.min(4000, this.config.model.rpn.postNmsTopNTest * Math.max(1, Math.ceil(grid.length / 4)));
    let gathered: GatheredProposals | null = null;
    let done = 0;
    for (const pass of passes) {
      sliced.signal?.throwIfAborted();
      gathered = await native.gatherTiles()(this.handle, [pass.image], pass.regions, gathered, maxProposals);
      done += pass.regions.length;
      sliced.onProgress?.(done, grid.length + (sliced.fullImage ? 1 : 0));
    }
    const nativeOptions = { ...this.nativeOptions(options), maxDetections: sliced.maxDetections };
    const [raw] = await native.detectGathered()(this.handle, gathered as GatheredProposals, { height: image.height, width: image.width }, nativeOptions);
    return this.toResult(raw);
  }

  private slicedOptions(index: number, options: DetectOptions): SlicedDetectOptions {
    const tiles = { size: options.tiles?.size as number, overlap: options.tiles?.overlap ?? 0.2 };
    checkNumber(options.matchThreshold, 'matchThreshold', 0, 1);
    const oneOf = <T extends string>(value: T | undefined, what: string, allowed: readonly T[], fallback: T): T => {
      if (value === undefined) return fallback;
      if (!allowed.includes(value)) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `detect: ${what} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got '${String(value)}'`);
      return value;
    };
    oneOf(options.relationScope, 'relationScope', ['tile', 'image'], 'tile');
    return {
      tiles,
      fullImage: options.fullImage ?? true,
      minSize: this.config.model.minSize,
      maxSize: this.config.model.maxSize,
      batchSize: options.batchSize ?? 1,
      maxDetections: options.maxDetections ?? this.config.model.roi.maxDetections,
      method: oneOf(options.merge, 'merge', ['nms', 'nmm'], 'nmm'),
      metric: oneOf(options.matchMetric, 'matchMetric', ['iou', 'ios'], 'ios'),
      threshold: options.matchThreshold ?? 0.5,
      classAgnostic: options.classAgnostic ?? false,
      onProgress: options.onProgress && ((done, total) => options.onProgress?.({ image: index, done, total })),
      signal: options.signal,
    };
  }

  /**
   * Every stage of one pass; `proposals` (network-input pixels) replace the RPN's when given.
   * A test hook: `traceDetector` in ir-rcnn/testing; left out of the published types.
   * @internal
   */
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

  private toResult(raw: Pick<RawDetections, 'boxes' | 'scores' | 'labels' | 'graph'>): ImageResult {
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

/** The addon's detections of one image as merge.ts takes them. */
function boxList(raw: RawDetections): BoxList {
  return { boxes: raw.boxes.data, scores: raw.scores.data, labels: raw.labels.data };
}
