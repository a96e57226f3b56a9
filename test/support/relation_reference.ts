// A dense, plain-TypeScript reference of the IR module (paper eqs. 1–7), written from the paper
// and DESIGN.md independently of the C++ code, for the relation tests. Everything is N×N and
// double precision: fine for the handful of boxes the tests use.

export type Matrix = number[][];
export type Box = [number, number, number, number];

export interface ReferenceOptions {
  k: number;
  layers: number;
  lambda: number;
  overlapThreshold: number;
  semantic: boolean;
  spatial: boolean;
  edgeWeights: 'binary' | 'relatedness';
  propagation: 'laplacian' | 'adjacency';
}

export const paperOptions: ReferenceOptions = {
  k: 64,
  layers: 2,
  lambda: 5e-4,
  overlapThreshold: 0.7,
  semantic: true,
  spatial: true,
  edgeWeights: 'binary',
  propagation: 'laplacian',
};

export function zeros(rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
}

/** Row-major data → rows × cols matrix. */
export function toMatrix(data: ArrayLike<number>, rows: number, cols: number): Matrix {
  return Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => data[i * cols + j]));
}

export function matmul(a: Matrix, b: Matrix): Matrix {
  const out = zeros(a.length, b[0]?.length ?? 0);
  for (let i = 0; i < a.length; i++)
    for (let k = 0; k < b.length; k++) for (let j = 0; j < out[i].length; j++) out[i][j] += a[i][k] * b[k][j];
  return out;
}

export function transpose(a: Matrix): Matrix {
  return (a[0] ?? []).map((_, j) => a.map((row) => row[j]));
}

/** x Wᵀ + b, torch's Linear with weight [out, in]. */
export function linear(x: Matrix, weight: Matrix, bias?: number[]): Matrix {
  return matmul(x, transpose(weight)).map((row) => row.map((v, j) => v + (bias ? bias[j] : 0)));
}

export function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** δ(i, j): 0 on the diagonal and where IoU > threshold, 1 elsewhere. */
export function overlapIndicator(boxes: Box[], threshold: number): boolean[][] {
  return boxes.map((a, i) => boxes.map((b, j) => i !== j && !(iou(a, b) > threshold)));
}

/** Eq. 3: m_ij = min(w) min(h) / (w_i h_i + w_j h_j − min(w) min(h)). */
export function spatialSimilarity(a: Box, b: Box): number {
  const [wa, ha, wb, hb] = [a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1]];
  const m = Math.min(wa, wb) * Math.min(ha, hb);
  return m / (wa * ha + wb * hb - m);
}

/** Eq. 4: w_ij = exp(−λ · distance between the centres). */
export function distanceWeight(a: Box, b: Box, lambda: number): number {
  const dx = (a[0] + a[2]) / 2 - (b[0] + b[2]) / 2;
  const dy = (a[1] + a[3]) / 2 - (b[1] + b[3]) / 2;
  return Math.exp(-lambda * Math.hypot(dx, dy));
}

/** Per row, the k best kept columns by score (ties: lower column first), brute force. */
export function topKRows(scores: ArrayLike<number>, keep: ArrayLike<number | boolean>, n: number, k: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const cols: number[] = [];
    for (let j = 0; j < n; j++) if (keep[i * n + j]) cols.push(j);
    cols.sort((a, b) => scores[i * n + b] - scores[i * n + a] || a - b);
    return cols.slice(0, k);
  });
}

export interface ReferenceEdge {
  src: number;
  dst: number;
  type: number;
  weight: number;
}

export interface ReferenceOutput {
  semanticLogits?: Matrix;
  spatialScores: Matrix;
  edges: ReferenceEdge[];
  propagation: Matrix;
  features: Matrix;
}

export type Weights = Record<string, Matrix | number[]>;

const leakyRelu = (v: number) => (v > 0 ? v : 0.01 * v);

/** A row made zero-mean and unit-variance (population variance + 1e-5), as layer_norm without parameters. */
export function standardize(row: number[]): number[] {
  const mean = row.reduce((a, b) => a + b, 0) / row.length;
  const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length;
  return row.map((v) => (v - mean) / Math.sqrt(variance + 1e-5));
}

/** The whole module, dense: Φ, δ, both top-K graphs, the symmetric union, P, L GCN layers, f + H^L. */
export function referenceForward(f: Matrix, boxes: Box[], weights: Weights, o: ReferenceOptions): ReferenceOutput {
  const n = f.length;
  const keep = overlapIndicator(boxes, o.overlapThreshold);
  const keepFlat = keep.flat();
  const spatialScores = boxes.map((a) => boxes.map((b) => spatialSimilarity(a, b) * distanceWeight(a, b, o.lambda)));
  let semanticLogits: Matrix | undefined;
  const type = zeros(n, n);
  const choose = (rows: number[][], bit: number) =>
    rows.forEach((cols, i) =>
      cols.forEach((j) => {
        type[i][j] |= bit;
        type[j][i] |= bit;
      }),
    );
  if (o.semantic) {
    const hidden = linear(f.map(standardize), weights['phi.0.weight'] as Matrix, weights['phi.0.bias'] as number[]).map((r) => r.map((v) => Math.max(0, v)));
    const phi = linear(hidden, weights['phi.2.weight'] as Matrix, weights['phi.2.bias'] as number[]);
    semanticLogits = matmul(phi, transpose(phi)).map((r) => r.map((v) => v / Math.sqrt(f[0].length)));
    choose(topKRows(semanticLogits.flat(), keepFlat, n, o.k), 1);
  }
  if (o.spatial) choose(topKRows(spatialScores.flat(), keepFlat, n, o.k), 2);

  const edges: ReferenceEdge[] = [];
  const e = zeros(n, n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (!type[i][j]) continue;
      const sem = type[i][j] & 1 ? 1 / (1 + Math.exp(-semanticLogits![i][j])) : 0;
      const spa = type[i][j] & 2 ? spatialScores[i][j] : 0;
      e[i][j] = o.edgeWeights === 'binary' ? 1 : Math.max(sem, spa);
      edges.push({ src: i, dst: j, type: type[i][j], weight: e[i][j] });
    }
  const degree = e.map((row) => row.reduce((a, b) => a + b, 0));
  const propagation = zeros(n, n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      if (o.propagation === 'laplacian') {
        // D^-½ (D − E) D^-½ with 0 for D_ii = 0.
        const s = (d: number) => (d > 0 ? 1 / Math.sqrt(d) : 0);
        propagation[i][j] = s(degree[i]) * ((i === j ? degree[i] : 0) - e[i][j]) * s(degree[j]);
      } else {
        propagation[i][j] = ((i === j ? 1 : 0) + e[i][j]) / Math.sqrt((degree[i] + 1) * (degree[j] + 1));
      }
    }
  let h = f;
  if (o.semantic || o.spatial)
    for (let l = 0; l < o.layers; l++) h = matmul(propagation, linear(h, weights[`gcn.${l}.weight`] as Matrix)).map((r) => r.map(leakyRelu));
  const features = o.semantic || o.spatial ? f.map((row, i) => row.map((v, j) => v + h[i][j])) : f;
  return { semanticLogits, spatialScores, edges, propagation, features };
}

/** The auxiliary loss: mean BCE-with-logits over the pairs δ keeps, target 1 for the same foreground class. */
export function referenceAuxLoss(logits: Matrix, labels: ArrayLike<number>, boxes: Box[], overlapThreshold: number, weight: number): number {
  const keep = overlapIndicator(boxes, overlapThreshold);
  let total = 0;
  let pairs = 0;
  logits.forEach((row, i) =>
    row.forEach((x, j) => {
      if (!keep[i][j]) return;
      const t = labels[i] === labels[j] && labels[i] > 0 ? 1 : 0;
      total += Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x)));
      pairs++;
    }),
  );
  return (weight * total) / Math.max(1, pairs);
}

/** A small deterministic PRNG (mulberry32) so that test data is the same on every run. */
export { mulberry32 as random } from '../../src/data/random';
