// Typed access to the IR module's native pieces (paper §3.2–3.4) for tests and inspection: the
// per-row top-K graph builder, one pass of the module on given features and boxes, and the sparse
// propagation P·X of eq. 6 with its gradients.
import { relationOptionsSchema, type RelationOptionsInput } from './config/relation';
import { IrRcnnError } from './errors';
import { nativeFunction } from './native';
import type { FloatTensor, Int32Tensor, Tensor } from './types';
import type { DeviceOption } from './ops';


/** A per-row top-K graph in CSR form: the edges of row i are rowPtr[i] .. rowPtr[i+1]-1. */
export interface TopKGraph {
  rowPtr: Int32Tensor;
  cols: Int32Tensor;
  scores: FloatTensor;
}

/** The fused undirected graph (both directions stored), sorted by (src, dst). */
export interface RelationGraph {
  src: Int32Tensor;
  dst: Int32Tensor;
  /** The edge value used in propagation: 1 ('binary') or the relatedness. */
  weight: FloatTensor;
  /** 1 semantic, 2 spatial, 3 both. */
  type: Tensor<Uint8Array>;
}

/** The propagation matrix of eq. 6 as a COO list, sorted by (row, col), diagonal included. */
export interface PropagationMatrix {
  rows: Int32Tensor;
  cols: Int32Tensor;
  values: FloatTensor;
}

export interface RelationForwardInput extends DeviceOption {
  /** Box-head features f, [N, D]; D sets the module's width. Float64 runs the module in double. */
  features: FloatTensor;
  /** Proposals (x1, y1, x2, y2) in network-input pixels, [N, 4]. */
  boxes: FloatTensor;
  options?: RelationOptionsInput;
  /** Parameter values by state-dict name (phi.0.weight, gcn.1.weight, ...); others start at torch's default init. */
  weights?: Record<string, FloatTensor>;
  /** Class labels [N] (0 = background): the auxiliary loss is computed (and back-propagated). */
  labels?: Int32Array;
  /** dL/df̃, [N, D]: backward runs on sum(f̃ · gradOutput) + auxLoss. */
  gradOutput?: FloatTensor;
  /** Run the module under CPU autocast (bfloat16 matmuls), as mixed-precision training runs it. Default false. */
  autocast?: boolean;
}

export interface RelationForwardOutput {
  /** f̃ = f + H^L (eq. 7). */
  features: FloatTensor;
  graph: RelationGraph;
  /** Φ(f̂)Φ(f̂)ᵀ/√D before the sigmoid of eq. 1, f̂ the standardised features (absent with the semantic graph off). */
  semanticLogits?: FloatTensor;
  /** Absent when no reasoning ran (both graphs off). */
  propagation?: PropagationMatrix;
  auxLoss?: number;
  /** Gradients of 'features' and of every parameter, when labels or gradOutput were given. */
  gradients?: Record<string, FloatTensor>;
}

export interface PropagateInput extends DeviceOption {
  rows: Int32Array;
  cols: Int32Array;
  values: Float32Array | Float64Array;
  /** [N, C]; P is N×N. */
  input: FloatTensor;
  gradOutput: FloatTensor;
  /** The product: entry by entry, as a dense N×N matrix, or (default) by P's density as the IR module chooses. */
  product?: 'sparse' | 'dense' | 'byDensity';
}

export interface PropagateOutput {
  output: FloatTensor;
  gradInput: FloatTensor;
  gradValues: FloatTensor;
  /** The product used (byDensity resolved). */
  product: 'sparse' | 'dense';
}

const invalid = (message: string): IrRcnnError => new IrRcnnError('ERR_INVALID_ARGUMENT', message);

function checkSquare(what: string, t: Tensor): void {
  if (t.shape.length !== 2 || t.shape[0] !== t.shape[1]) throw invalid(`${what}: expected a square [N, N] matrix, got [${t.shape.join(', ')}]`);
}

/** For each row, the k highest-scoring columns whose keep entry is nonzero (ties: lower column first). */
export function buildTopKGraph(scores: FloatTensor, keep: Tensor<Uint8Array>, k: number, { device }: DeviceOption = {}): Promise<TopKGraph> {
  checkSquare('buildTopKGraph scores', scores);
  if (keep.shape.join() !== scores.shape.join()) throw invalid('buildTopKGraph keep: expected the shape of scores');
  if (!Number.isInteger(k) || k < 0) throw invalid(`buildTopKGraph k: expected an integer >= 0, got ${k}`);
  return nativeFunction<(a: object) => Promise<TopKGraph>>('buildTopKGraph')({ scores, keep, k, device });
}

/** One pass of the IR module (and optionally its backward) on one image's RoIs. */
export function relationForward(input: RelationForwardInput): Promise<RelationForwardOutput> {
  const parsed = relationOptionsSchema.safeParse(input.options ?? {});
  if (!parsed.success) throw invalid(parsed.error.issues[0].message);
  const { features, boxes } = input;
  if (features.shape.length !== 2) throw invalid(`relationForward features: expected [N, D], got [${features.shape.join(', ')}]`);
  if (boxes.shape.length !== 2 || boxes.shape[0] !== features.shape[0] || boxes.shape[1] !== 4)
    throw invalid(`relationForward boxes: expected [${features.shape[0]}, 4], got [${boxes.shape.join(', ')}]`);
  const labels = input.labels && { data: input.labels, shape: [input.labels.length] };
  // The addon takes every reasoning option, resolved here; `enabled` is the model config's alone.
  const { enabled: _enabled, ...options } = parsed.data;
  return nativeFunction<(a: object) => Promise<RelationForwardOutput>>('relationForward')({ ...input, options, labels });
}

/** P·input for P given as a COO list, with the gradients for gradOutput (sparse GCN check). */
export function relationPropagate(input: PropagateInput): Promise<PropagateOutput> {
  const e = input.values.length;
  if (input.rows.length !== e || input.cols.length !== e) throw invalid('relationPropagate: rows, cols and values must have the same length');
  return nativeFunction<(a: object) => Promise<PropagateOutput>>('relationPropagate')({
    ...input,
    rows: { data: input.rows, shape: [e] },
    cols: { data: input.cols, shape: [e] },
    values: { data: input.values, shape: [e] },
  });
}
