// Section "relation": the IR module's pieces on N proposals with K = 64 — the per-row top-K graph
// builder, one whole pass of the module (Φ, both graphs, fusion, 2 sparse GCN layers) and one GCN
// product P·X with its backward — next to the same math done with dense N×N matrices in PyTorch. Our module pass also builds its
// parameters (4.2M, default init) and returns the N×N semantic logits, as relationForward does.
import * as ops from '../src/ops';
import { buildTopKGraph, relationForward, relationPropagate } from '../src/relation';
import { timeReference } from './compare';
import type { Section } from './context';
import { measure, row, type BenchRow } from './harness';
import { randomBoxes, randomFloats } from './inputs';
import type { Tensor } from '../src/types';

const K = 64;
const DIM = 1024;

/** δ of eq. 1 as a 0/1 matrix: pairs overlapping by IoU > 0.7, and i = j, are not candidates. */
async function keepMask(boxes: Tensor<Float32Array>): Promise<Tensor<Uint8Array>> {
  const iou = await ops.boxIou({ boxes1: boxes, boxes2: boxes });
  const n = boxes.shape[0];
  const keep = Uint8Array.from(iou.data, (v) => (v <= 0.7 ? 1 : 0));
  for (let i = 0; i < n; i++) keep[i * n + i] = 0;
  return { data: keep, shape: [n, n] };
}

export const relationSection: Section = async (context) => {
  const rows: BenchRow[] = [];
  const { plan } = context;
  for (const n of context.quick ? [128] : [512, 1000]) {
    context.log(`relation: N = ${n}`);
    const boxes = randomBoxes(20 + n, n, 1088, 800);
    const keep = await keepMask(boxes);
    const scores = randomFloats(21 + n, [n, n]);
    const graph = await measure(() => buildTopKGraph(scores, keep, K), plan);
    const graphRef = await timeReference(context, `top_k_graph_${n}`, 'dense masked topk (PyTorch)', { scores, keep }, {
      op: 'top_k_graph', scores: 'scores', keep: 'keep', k: K,
    }, plan);
    rows.push(row('relation', `top-K graph build, N ${n}, K ${K}`, graph, graphRef?.reference));

    const features = randomFloats(22 + n, [n, DIM]);
    const options = { k: K, layers: 2, lambda: 5e-4, overlapThreshold: 0.7 };
    const pass = await relationForward({ features, boxes, options });
    const edges = pass.graph.src.data.length;
    const module = await measure(() => relationForward({ features, boxes, options }), plan);
    const moduleRef = await timeReference(context, `relation_module_${n}`, 'dense module (PyTorch)', { features, boxes }, {
      op: 'relation_module', features: 'features', boxes: 'boxes', ...options,
    }, plan);
    rows.push(row('relation', `IR module forward (graphs + 2-layer GCN), N ${n}, D ${DIM}`, module, moduleRef?.reference, { extra: { edges } }));

    // One GCN layer's product P·X (eq. 6) with its gradients, P the module's propagation matrix.
    const p = pass.propagation;
    if (!p) throw new Error('relationForward returned no propagation matrix');
    const values = Float32Array.from(p.values.data);
    const gradOutput = randomFloats(23 + n, [n, DIM]);
    const sparse = { rows: p.rows.data, cols: p.cols.data, values, input: features, gradOutput };
    const gcn = await measure(() => relationPropagate(sparse), plan);
    const gcnRef = await timeReference(context, `propagate_${n}`, 'dense P @ X + backward (PyTorch)', {
      rows: p.rows, cols: p.cols, values: { data: values, shape: [values.length] }, input: features, gradOutput,
    }, { op: 'propagate', rows: 'rows', cols: 'cols', values: 'values', input: 'input', gradOutput: 'gradOutput' }, plan);
    rows.push(row('relation', `GCN product P·X forward + backward, N ${n}, D ${DIM}`, gcn, gcnRef?.reference, { extra: { 'nonzeros of P': values.length } }));
  }
  if (!context.quick) rows.push(...(await productCrossover(context)));
  return rows;
};

/**
 * The GCN product's crossover (native/model/relation.h, kDenseProductDensity): the module's P for
 * N proposals and K edges per row, multiplied entry by entry and as a dense matrix, forward and
 * backward. Ours is the product the module picks by P's density; the reference column is the
 * other one, so a ratio above 1 says the density rule chose wrong.
 */
async function productCrossover(context: Parameters<Section>[0]): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const k of [16, 64]) {
    for (const n of [256, 512, 1000, 2000]) {
      context.log(`relation: GCN product crossover, N = ${n}, K = ${k}`);
      const boxes = randomBoxes(40 + n, n, 1088, 800);
      const features = randomFloats(41 + n, [n, DIM]);
      const p = (await relationForward({ features, boxes, options: { k, layers: 2, lambda: 5e-4, overlapThreshold: 0.7 } })).propagation;
      if (!p) throw new Error('relationForward returned no propagation matrix');
      const input = { rows: p.rows.data, cols: p.cols.data, values: Float32Array.from(p.values.data), input: features, gradOutput: randomFloats(42 + n, [n, DIM]) };
      const time = (product: 'sparse' | 'dense') => measure(() => relationPropagate({ ...input, product }), context.plan);
      const [sparse, dense] = [await time('sparse'), await time('dense')];
      const { product } = await relationPropagate(input);
      const [chosen, other] = product === 'dense' ? [dense, sparse] : [sparse, dense];
      rows.push(row('relation', `GCN product by density, N ${n}, K ${k}, D ${DIM}`, chosen, { name: `the ${product === 'dense' ? 'sparse' : 'dense'} product`, stats: other }, {
        extra: { density: (input.values.length / (n * n)).toFixed(3), chosen: product, 'sparse ms': sparse.medianMs.toFixed(1), 'dense ms': dense.medianMs.toFixed(1) },
      }));
    }
  }
  return rows;
}
