// The IR module (paper §3.2–3.4, eqs. 1–7): each equation on a hand-worked five-box example, the
// sparse GCN against dense products, gradients by finite differences, the auxiliary loss, the
// identity when both graphs are off, and the parameter count.
import * as assert from 'assert';

import { relationOptionsSchema } from '../../src/config/relation';
import { isIrRcnnError, type IrRcnnErrorCode } from '../../src/errors';
import { relationForward, relationPropagate, type RelationForwardOutput } from '../../src/relation';
import type { FloatTensor } from '../../src/types';
import {
  paperOptions,
  random,
  referenceAuxLoss,
  referenceForward,
  toMatrix,
  type Box,
  type Matrix,
  type ReferenceOptions,
  type Weights,
} from '../support/relation_reference';

const D = 4;
// b0 and b1 overlap (IoU 90/110 > 0.7, so δ = 0); b2 has b0's size 100 px to the right; b3 is
// 20×20 far below; b4 is 5×5 far away.
const boxes: Box[] = [
  [0, 0, 10, 10],
  [1, 0, 11, 10],
  [100, 0, 110, 10],
  [0, 200, 20, 220],
  [300, 300, 305, 305],
];
// Φ = identity (with ReLU), so Φ(f)Φ(f)ᵀ = f fᵀ can be worked by hand.
const features: Matrix = [
  [2, 0, 0, 0],
  [2, 0, 0, 0],
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 3, 0, 0],
];
const identity = (n: number): Matrix => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const randomMatrix = (rand: () => number, rows: number, cols: number, scale = 1): Matrix =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rand() * 2 - 1) * scale));

/** Φ the identity (with ReLU) and random GCN layers, of width d. */
function handWeights(d = D): Weights {
  const rand = random(11);
  return {
    'phi.0.weight': identity(d),
    'phi.0.bias': new Array(d).fill(0),
    'phi.2.weight': identity(d),
    'phi.2.bias': new Array(d).fill(0),
    'gcn.0.weight': randomMatrix(rand, d, d),
    'gcn.1.weight': randomMatrix(rand, d, d),
  };
}

const f64 = (m: Matrix | number[]): FloatTensor => {
  const rows = m as (number[] | number)[];
  return Array.isArray(rows[0])
    ? { data: Float64Array.from((m as Matrix).flat()), shape: [m.length, (m as Matrix)[0].length] }
    : { data: Float64Array.from(m as number[]), shape: [m.length] };
};
const tensorWeights = (w: Weights) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, f64(v)]));

async function run(options: Partial<ReferenceOptions>, w: Weights = handWeights(), f: Matrix = features, b: Box[] = boxes) {
  const opts = { ...paperOptions, ...options };
  // Without the semantic graph the module has no Φ.
  const given = Object.fromEntries(Object.entries(w).filter(([name]) => opts.semantic || !name.startsWith('phi.')));
  const out = await relationForward({ features: f64(f), boxes: f64(b), options: opts, weights: tensorWeights(given) });
  return { out, ref: referenceForward(f, b, w, opts) };
}

const edgeList = (out: RelationForwardOutput) =>
  Array.from(out.graph.src.data, (s, e) => [s, out.graph.dst.data[e], out.graph.type.data[e]]);
const undirected = (out: RelationForwardOutput) => edgeList(out).filter(([s, d]) => s < d);

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

/** Φ's parameters drawn as torch initialises a Linear (uniform within ±1/√D), fixed across calls. */
function phiAsInitialised(rand: () => number, d: number): Record<string, FloatTensor> {
  const uniform = (shape: number[]) => ({ data: Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => (rand() * 2 - 1) / Math.sqrt(d)), shape });
  return { 'phi.0.weight': uniform([d, d]), 'phi.0.bias': uniform([d]), 'phi.2.weight': uniform([d, d]), 'phi.2.bias': uniform([d]) };
}

/** n boxes (x1, y1, x2, y2) of 4–40 px scattered over 300×300. */
function randomBoxes(rand: () => number, n: number): Float32Array {
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const [x, y, w, h] = [rand() * 300, rand() * 300, 4 + rand() * 36, 4 + rand() * 36];
    boxes.set([x, y, x + w, y + h], 4 * i);
  }
  return boxes;
}

function denseOf(p: NonNullable<RelationForwardOutput['propagation']>, n: number): number[] {
  const dense = new Array<number>(n * n).fill(0);
  p.rows.data.forEach((r, e) => (dense[r * n + p.cols.data[e]] += p.values.data[e]));
  return dense;
}

describe('relation module: the hand-worked example', () => {
  it('δ from IoU, m_ij (eq. 3) and w_ij (eq. 4): the spatial relatedness of every kept pair', async () => {
    const { out, ref } = await run({ semantic: false, k: 10, edgeWeights: 'relatedness' });
    // Every ordered pair except the diagonal and the overlapping pair (0, 1).
    const pairs = edgeList(out).map(([s, d]) => `${s}${d}`);
    assert.deepStrictEqual(pairs, ['02', '03', '04', '12', '13', '14', '20', '21', '23', '24', '30', '31', '32', '34', '40', '41', '42', '43']);
    const weight = (s: number, d: number) => out.graph.weight.data[pairs.indexOf(`${s}${d}`)];
    // Same size (m = 1), centres 100 px apart: w = exp(−5e-4 · 100).
    assert.ok(Math.abs(weight(0, 2) - Math.exp(-0.05)) < 1e-12);
    // 10×10 against 20×20: m = 100 / (100 + 400 − 100) = 0.25; centres (5, 5) and (10, 210).
    assert.ok(Math.abs(weight(0, 3) - 0.25 * Math.exp(-5e-4 * Math.hypot(5, 205))) < 1e-12);
    // 20×20 against 5×5: m = 25 / (400 + 25 − 25) = 0.0625.
    assert.ok(Math.abs(weight(4, 3) - 0.0625 * Math.exp(-5e-4 * Math.hypot(292.5, 92.5))) < 1e-12);
    out.graph.src.data.forEach((s, e) => assert.ok(Math.abs(out.graph.weight.data[e] - ref.spatialScores[s][out.graph.dst.data[e]]) < 1e-12));
    assert.ok(Array.from(out.graph.type.data).every((t) => t === 2));
  });

  it('semantic relatedness Φ(f̂)Φ(f̂)ᵀ/√D (eq. 1 on standardised features) and its sigmoid as the edge weight', async () => {
    const { out, ref } = await run({ spatial: false, k: 10, edgeWeights: 'relatedness' });
    // Standardised, each row is √3 at its one nonzero place and −1/√3 elsewhere, whatever its
    // magnitude (up to layer_norm's ε = 1e-5); after Φ's ReLU only the √3 survives, so a dot
    // product is 3 or 0, over √D = 2.
    const hand = [1.5, 1.5, 1.5, 0, 0, 1.5, 1.5, 1.5, 0, 0, 1.5, 1.5, 1.5, 0, 0, 0, 0, 0, 1.5, 1.5, 0, 0, 0, 1.5, 1.5];
    assertClose(out.semanticLogits!.data, hand, 1e-4, 'semantic logits by hand');
    assertClose(out.semanticLogits!.data, ref.semanticLogits!.flat(), 1e-12, 'semantic logits vs reference');
    const e = edgeList(out).findIndex(([s, d]) => s === 3 && d === 4);
    assert.ok(Math.abs(out.graph.weight.data[e] - 1 / (1 + Math.exp(-ref.semanticLogits![3][4]))) < 1e-12);
    assert.ok(Array.from(out.graph.type.data).every((t) => t === 1));
  });

  it('top-K per row with K < N, K > N, and the symmetric union with edge types (eq. 5)', async () => {
    // K = 1. Semantic: rows 0, 1 → 2; row 2 → 0 (tie with 1, lower index); 3 ↔ 4 (rows 0–2 alike, 3–4 alike).
    // Spatial: 0 → 2, 1 → 2 (99 px), 2 → 1, 3 → 1 (205.04 px vs 205.06), 4 → 2.
    const semantic = await run({ spatial: false, k: 1 });
    assert.deepStrictEqual(undirected(semantic.out), [[0, 2, 1], [1, 2, 1], [3, 4, 1]]);
    const spatial = await run({ semantic: false, k: 1 });
    assert.deepStrictEqual(undirected(spatial.out), [[0, 2, 2], [1, 2, 2], [1, 3, 2], [2, 4, 2]]);
    const both = await run({ k: 1 });
    assert.deepStrictEqual(undirected(both.out), [[0, 2, 3], [1, 2, 3], [1, 3, 2], [2, 4, 2], [3, 4, 1]]);
    // Undirected: every edge is stored both ways with the same type and weight.
    assert.strictEqual(both.out.graph.src.data.length, 10);
    assert.deepStrictEqual(
      edgeList(both.out).map(([s, d, t]) => `${d}${s}${t}`).sort(),
      edgeList(both.out).map(([s, d, t]) => `${s}${d}${t}`).sort(),
    );
    assert.deepStrictEqual(edgeList(both.out), both.ref.edges.map((e) => [e.src, e.dst, e.type]));
    // K > N keeps every pair δ allows, in both graphs.
    const all = await run({ k: 10 });
    assert.deepStrictEqual(undirected(all.out), [[0, 2, 3], [0, 3, 3], [0, 4, 3], [1, 2, 3], [1, 3, 3], [1, 4, 3], [2, 3, 3], [2, 4, 3], [3, 4, 3]]);
  });

  it('the propagation matrix D^-½ (D − E) D^-½ (eq. 6) and the residual f + H^L (eq. 7) equal a dense computation', async () => {
    const { out, ref } = await run({ k: 1 });
    const p = denseOf(out.propagation!, 5);
    // Degrees 1, 2, 3, 2, 2: ones on the diagonal, −1/√(d_i d_j) on the edges.
    const s = Math.sqrt;
    const hand = [
      [1, 0, -1 / s(3), 0, 0],
      [0, 1, -1 / s(6), -1 / s(4), 0],
      [-1 / s(3), -1 / s(6), 1, 0, -1 / s(6)],
      [0, -1 / s(4), 0, 1, -1 / s(4)],
      [0, 0, -1 / s(6), -1 / s(4), 1],
    ];
    assertClose(p, hand.flat(), 1e-12, 'P (hand)');
    assertClose(p, ref.propagation.flat(), 1e-12, 'P (dense reference)');
    assertClose(out.features.data, ref.features.flat(), 1e-12, 'f + H^L');
    assert.ok(ref.features.flat().some((v, i) => Math.abs(v - features.flat()[i]) > 1e-3), 'the GCN changes the features');
  });

  it('the alternatives (adjacency propagation, relatedness weights) equal the dense computation', async () => {
    for (const propagation of ['laplacian', 'adjacency'] as const)
      for (const edgeWeights of ['binary', 'relatedness'] as const)
        for (const k of [1, 2, 10]) {
          const { out, ref } = await run({ k, propagation, edgeWeights, layers: 3 }, { ...handWeights(), 'gcn.2.weight': identity(D) });
          const what = `${propagation} ${edgeWeights} k=${k}`;
          assertClose(denseOf(out.propagation!, 5), ref.propagation.flat(), 1e-12, `P ${what}`);
          assertClose(out.graph.weight.data, ref.edges.map((e) => e.weight), 1e-12, `weights ${what}`);
          assertClose(out.features.data, ref.features.flat(), 1e-12, `features ${what}`);
        }
  });

  it('a node of degree 0 gets a zero row, no NaN, and keeps its features', async () => {
    // b0 overlaps both b1 and b2 (IoU 0.8), which overlap each other less (0.6): b0 is isolated.
    const b: Box[] = [
      [0, 0, 10, 10],
      [0, 0, 10, 8],
      [0, 2, 10, 10],
    ];
    const f = features.slice(0, 3);
    for (const edgeWeights of ['binary', 'relatedness'] as const) {
      const { out, ref } = await run({ edgeWeights }, handWeights(), f, b);
      assert.deepStrictEqual(undirected(out), [[1, 2, 3]]);
      assert.ok(!Array.from(out.propagation!.rows.data).includes(0), 'row 0 of P is empty');
      assert.ok(Array.from(out.features.data).every(Number.isFinite));
      assert.deepStrictEqual(Array.from(out.features.data.subarray(0, D)), f[0]);
      assertClose(out.features.data, ref.features.flat(), 1e-12, 'features');
    }
  });
});

describe('relation module: a hub node', () => {
  it('a row of the symmetrised graph far longer than 2K propagates as the dense reference', async () => {
    // Node 0 is every other node's most related one, so each row's top-2 holds it and the union
    // gives the hub n − 1 ≫ 2K entries: a buffer sized from 2K per row would overflow here. With Φ
    // the identity (D = n) and standardised rows, node i > 0 (one-hot at i) is positive only at i,
    // so two of them score 0 together, while the hub (1 everywhere but at 0) is positive at every
    // i > 0 and scores above 0 with each of them.
    const n = 48;
    const k = 2;
    const f: Matrix = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, d) => (i === 0 ? Number(d > 0) : Number(d === i))));
    const b: Box[] = Array.from({ length: n }, (_, i) => [30 * i, 0, 30 * i + 10, 10]);
    const { out, ref } = await run({ spatial: false, k }, handWeights(n), f, b);
    const hubEntries = Array.from(out.graph.src.data).filter((s) => s === 0).length;
    assert.strictEqual(hubEntries, n - 1);
    assert.deepStrictEqual(edgeList(out), ref.edges.map((e) => [e.src, e.dst, e.type]));
    assertClose(denseOf(out.propagation!, n), ref.propagation.flat(), 1e-12, 'P (dense reference)');
    assertClose(out.features.data, ref.features.flat(), 1e-12, 'f + H^L');
  });
});

describe('relation module: sparse reasoning and gradients', () => {
  it('sparse propagation equals the dense product on random graphs, forward and backward', async () => {
    const rand = random(3);
    for (const [n, c, e] of [[1, 3, 1], [7, 5, 20], [30, 16, 200], [5, 2, 0]]) {
      for (const double of [false, true]) {
        const Float = double ? Float64Array : Float32Array;
        const uniform = (length: number) => {
          const a = new Float(length);
          for (let i = 0; i < length; i++) a[i] = rand() * 2 - 1;
          return a;
        };
        const rows = Int32Array.from({ length: e }, () => Math.floor(rand() * n));
        const cols = Int32Array.from({ length: e }, () => Math.floor(rand() * n));
        const values = uniform(e);
        const x = uniform(n * c);
        const g = uniform(n * c);
        // Dense P (duplicates add up), P·x, Pᵀ·g and dL/dP_e = g[row]·x[col].
        const p = new Array<number>(n * n).fill(0);
        rows.forEach((r, i) => (p[r * n + cols[i]] += values[i]));
        const expected = new Array<number>(n * c).fill(0);
        const expectedGrad = new Array<number>(n * c).fill(0);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++)
            for (let k = 0; k < c; k++) {
              expected[i * c + k] += p[i * n + j] * x[j * c + k];
              expectedGrad[j * c + k] += p[i * n + j] * g[i * c + k];
            }
        const gradValues = Array.from(rows, (r, i) => Array.from({ length: c }, (_, k) => g[r * c + k] * x[cols[i] * c + k]).reduce((a, b) => a + b, 0));
        const tolerance = double ? 1e-12 : 1e-5;
        // Each product the module may choose, and its own choice, give the same P·x and gradients.
        for (const product of ['sparse', 'dense', 'byDensity'] as const) {
          const out = await relationPropagate({ rows, cols, values, input: { data: x, shape: [n, c] }, gradOutput: { data: g, shape: [n, c] }, product });
          assertClose(out.output.data, expected, tolerance, `output n=${n}`);
          assertClose(out.gradInput.data, expectedGrad, tolerance, `gradInput n=${n}`);
          assertClose(out.gradValues.data, gradValues, tolerance, `gradValues n=${n}`);
          assert.strictEqual(out.output.data.constructor, Float);
          // By density: dense from one entry in eight of P's N² on (native/model/relation.h).
          assert.strictEqual(out.product, product !== 'byDensity' ? product : e * 8 >= n * n ? 'dense' : 'sparse');
        }
      }
    }
  });

  it('the module on random boxes equals the dense reference in float32 to 1e-5', async () => {
    const rand = random(5);
    const n = 24;
    const dim = 8;
    const b: Box[] = Array.from({ length: n }, () => {
      const [x, y, w, h] = [rand() * 200, rand() * 200, 2 + rand() * 40, 2 + rand() * 40];
      return [x, y, x + w, y + h];
    });
    const w: Weights = {
      'phi.0.weight': randomMatrix(rand, dim, dim, 0.5),
      'phi.0.bias': randomMatrix(rand, 1, dim, 0.1)[0],
      'phi.2.weight': randomMatrix(rand, dim, dim, 0.5),
      'phi.2.bias': randomMatrix(rand, 1, dim, 0.1)[0],
      'gcn.0.weight': randomMatrix(rand, dim, dim, 0.5),
      'gcn.1.weight': randomMatrix(rand, dim, dim, 0.5),
    };
    const f = randomMatrix(rand, n, dim);
    const f32 = (m: Matrix): FloatTensor => ({ data: Float32Array.from(m.flat()), shape: [m.length, m[0].length] });
    const weights32 = Object.fromEntries(Object.entries(w).map(([k, v]) => [k, Array.isArray(v[0]) ? f32(v as Matrix) : { data: Float32Array.from(v as number[]), shape: [v.length] }]));
    const options = { ...paperOptions, k: 3 };
    // The reference sees the same float32-rounded inputs.
    const round = (m: Matrix) => m.map((r) => Array.from(Float32Array.from(r)));
    const ref = referenceForward(round(f), b.map((x) => Array.from(Float32Array.from(x)) as Box), Object.fromEntries(Object.entries(weights32).map(([k, t]) => [k, t.shape.length === 2 ? toMatrix(t.data, t.shape[0], t.shape[1]) : Array.from(t.data)])), options);
    const out = await relationForward({ features: f32(f), boxes: f32(b), options, weights: weights32 });
    assert.deepStrictEqual(edgeList(out), ref.edges.map((e) => [e.src, e.dst, e.type]));
    assertClose(out.features.data, ref.features.flat(), 1e-5, 'features');
  });

  it('passes a finite-difference gradient check in double precision (features and every parameter)', async () => {
    const rand = random(9);
    const n = 6;
    const dim = 3;
    const b: Box[] = Array.from({ length: n }, () => {
      const [x, y, w, h] = [rand() * 100, rand() * 100, 5 + rand() * 30, 5 + rand() * 30];
      return [x, y, x + w, y + h];
    });
    const f = randomMatrix(rand, n, dim);
    const labels = Int32Array.from([1, 2, 1, 0, 2, 1]);
    const gradOutput = f64(randomMatrix(rand, n, dim));
    const weights: Record<string, FloatTensor> = {
      'phi.0.weight': f64(randomMatrix(rand, dim, dim)),
      'phi.0.bias': f64(randomMatrix(rand, 1, dim)[0]),
      'phi.2.weight': f64(randomMatrix(rand, dim, dim)),
      'phi.2.bias': f64(randomMatrix(rand, 1, dim)[0]),
      'gcn.0.weight': f64(randomMatrix(rand, dim, dim)),
      'gcn.1.weight': f64(randomMatrix(rand, dim, dim)),
    };
    // Relatedness weights, so that the gradient also flows through the graph into Φ.
    const options = { k: 2, edgeWeights: 'relatedness' as const };
    const input = { features: f64(f), boxes: f64(b), options, labels, gradOutput };
    const loss = async (features: FloatTensor, w: Record<string, FloatTensor>) => {
      const out = await relationForward({ ...input, features, weights: w });
      return out.auxLoss! + Array.from(out.features.data).reduce((s, v, i) => s + v * gradOutput.data[i], 0);
    };
    const analytic = (await relationForward({ ...input, weights })).gradients!;
    const eps = 1e-6;
    let worst = 0;
    let checked = 0;
    for (const name of ['features', ...Object.keys(weights)]) {
      const base = name === 'features' ? input.features : weights[name];
      for (let i = 0; i < base.data.length; i++) {
        const shifted = async (delta: number) => {
          const data = Float64Array.from(base.data);
          data[i] += delta;
          const t = { data, shape: base.shape };
          return name === 'features' ? loss(t, weights) : loss(input.features, { ...weights, [name]: t });
        };
        const numeric = ((await shifted(eps)) - (await shifted(-eps))) / (2 * eps);
        const error = Math.abs(numeric - analytic[name].data[i]) / Math.max(1, Math.abs(numeric));
        worst = Math.max(worst, error);
        checked++;
      }
    }
    assert.strictEqual(checked, n * dim + 4 * dim * dim + 2 * dim);
    assert.ok(worst < 1e-6, `largest relative error ${worst}`);
    assert.ok(Array.from(analytic['phi.0.weight'].data).some((v) => v !== 0));
  });

  it('Φ receives gradient through the auxiliary loss, which is the pairwise BCE of the same-class target', async () => {
    const labels = Int32Array.from([1, 1, 2, 0, 2]);
    const out = await relationForward({ features: f64(features), boxes: f64(boxes), weights: tensorWeights(handWeights()), labels, options: { auxLossWeight: 0.5 } });
    const logits = toMatrix(out.semanticLogits!.data, 5, 5);
    assert.ok(Math.abs(out.auxLoss! - referenceAuxLoss(logits, labels, boxes, paperOptions.overlapThreshold, 0.5)) < 1e-12);
    const g = out.gradients!;
    for (const name of ['phi.0.weight', 'phi.2.weight', 'phi.2.bias'])
      assert.ok(Array.from(g[name].data).some((v) => Math.abs(v) > 1e-6), `${name} has a gradient`);
    for (const name of ['gcn.0.weight', 'gcn.1.weight']) assert.ok(Array.from(g[name].data).every((v) => v === 0), `${name} has none`);
  });
});

describe('relation module: configurations', () => {
  it('is the identity with both graphs off', async () => {
    const f = new Float32Array(Array.from({ length: 5 * D }, (_, i) => Math.sin(i) * 3));
    const gradOutput = { data: Float32Array.from(f, (v) => v / 2), shape: [5, D] };
    const out = await relationForward({ features: { data: f, shape: [5, D] }, boxes: f64(boxes), options: { semantic: false, spatial: false }, gradOutput });
    assert.deepStrictEqual(out.features.data, f);
    assert.strictEqual(out.graph.src.data.length, 0);
    assert.strictEqual(out.propagation, undefined);
    assert.strictEqual(out.semanticLogits, undefined);
    assert.deepStrictEqual(out.gradients!.features.data, gradOutput.data);
    assert.deepStrictEqual(Object.keys(out.gradients!).sort(), ['features', 'gcn.0.weight', 'gcn.1.weight']);
  });

  it('starts as the identity: the last GCN layer is zero, so f̃ = f until training moves it', async () => {
    const rand = random(5);
    const f = Float64Array.from({ length: 5 * D }, () => rand() * 4);
    const out = await relationForward({ features: { data: f, shape: [5, D] }, boxes: f64(boxes), gradOutput: { data: new Float64Array(5 * D).fill(1), shape: [5, D] } });
    assert.ok(out.graph.src.data.length > 0, 'the graph is built');
    assert.deepStrictEqual(out.features.data, f);
    assert.ok(Array.from(out.gradients!['gcn.1.weight'].data).some((v) => v !== 0), 'the zero layer still gets a gradient');
  });

  it('scales the relatedness whatever the feature magnitude: the same logits for f and 1000·f, the first loss ln 2 at D = 1024', async () => {
    // Box-head-like features (non-negative, as after fc7's ReLU) at the paper's width, default init.
    const [n, d] = [48, 1024];
    const rand = random(9);
    const f = Float32Array.from({ length: n * d }, () => Math.max(0, rand() * 2 - 1) * 3);
    const b = randomBoxes(rand, n);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
    const weights = phiAsInitialised(rand, d);
    const at = (scale: number) =>
      relationForward({ features: { data: f.map((v) => v * scale), shape: [n, d] }, boxes: { data: b, shape: [n, 4] }, labels, weights });
    const [small, large] = [await at(1), await at(1000)];
    assertClose(large.semanticLogits!.data, small.semanticLogits!.data, 1e-3, 'logits at 1000·f');
    // With the module's own initialisation the first loss is ln 2 to within a few hundredths.
    const initial = await relationForward({ features: { data: f.map((v) => v * 1000), shape: [n, d] }, boxes: { data: b, shape: [n, 4] }, labels });
    const largest = Math.max(...Array.from(initial.semanticLogits!.data, Math.abs));
    assert.ok(largest < 1, `|logit| up to ${largest}`);
    assert.ok(Math.abs(initial.auxLoss! - Math.LN2) < 0.03, `first relation loss ${initial.auxLoss}`);
  });

  it('under autocast (CPU bfloat16) scores, boxes and graph stay float32: the same graph as without, features within bfloat16 tolerance', async () => {
    const [n, d] = [40, 64];
    const rand = random(13);
    const f = Float32Array.from({ length: n * d }, () => rand() * 2 - 1);
    const b = randomBoxes(rand, n);
    const gcn = () => ({ data: Float32Array.from({ length: d * d }, () => (rand() - 0.5) / 8), shape: [d, d] });
    const w = { ...phiAsInitialised(rand, d), 'gcn.0.weight': gcn(), 'gcn.1.weight': gcn() };
    const run = (autocast: boolean) => relationForward({ features: { data: f, shape: [n, d] }, boxes: { data: b, shape: [n, 4] }, weights: w, autocast });
    const [plain, mixed] = [await run(false), await run(true)];
    assert.deepStrictEqual(mixed.semanticLogits!.data, plain.semanticLogits!.data);
    assert.deepStrictEqual(edgeList(mixed), edgeList(plain));
    assert.deepStrictEqual(mixed.graph.weight.data, plain.graph.weight.data);
    assertClose(mixed.features.data, plain.features.data, 3e-2, 'features under autocast');
  });

  it('has the paper parameter count for D = 1024 (4,196,352), under the state-dict names, and accepts N = 0', async () => {
    const empty = { data: new Float32Array(0), shape: [0, 1024] };
    const out = await relationForward({ features: empty, boxes: { data: new Float32Array(0), shape: [0, 4] }, gradOutput: empty });
    const sizes = Object.fromEntries(Object.entries(out.gradients!).map(([k, t]) => [k, t.shape]));
    assert.deepStrictEqual(sizes, {
      features: [0, 1024],
      'phi.0.weight': [1024, 1024],
      'phi.0.bias': [1024],
      'phi.2.weight': [1024, 1024],
      'phi.2.bias': [1024],
      'gcn.0.weight': [1024, 1024],
      'gcn.1.weight': [1024, 1024],
    });
    const total = Object.entries(out.gradients!).filter(([k]) => k !== 'features').reduce((s, [, t]) => s + t.data.length, 0);
    assert.strictEqual(total, 4196352);
    assert.strictEqual(out.graph.src.data.length, 0);
  });

  it("the option schema's defaults are the paper's", () => {
    assert.deepStrictEqual(relationOptionsSchema.parse({}), { enabled: false, ...paperOptions, auxLossWeight: 1 });
    const message = (value: unknown) => relationOptionsSchema.safeParse(value).error?.issues[0].message;
    assert.strictEqual(message({ k: 'many' }), 'relation.k: expected a number');
    assert.strictEqual(message({ layers: 1.5 }), 'relation.layers: expected an integer');
    assert.strictEqual(message({ lambda: -1 }), 'relation.lambda: must be >= 0');
    assert.strictEqual(message({ semantic: 'yes' }), 'relation.semantic: expected true or false');
    assert.strictEqual(message({ edgeWeights: 'soft' }), "relation.edgeWeights: expected 'binary' or 'relatedness'");
    assert.strictEqual(message(3), 'relation: expected an object');
  });

  it('rejects bad options and inputs with one-line messages', async () => {
    const input = { features: f64(features), boxes: f64(boxes) };
    const failure = (code: IrRcnnErrorCode, pattern: RegExp) => (e: unknown) => isIrRcnnError(e, code) && pattern.test(e.message);
    assert.throws(() => relationForward({ ...input, options: { k: 0 } }), /relation\.k: must be >= 1/);
    assert.throws(() => relationForward({ ...input, options: { propagation: 'dense' as never } }), /relation\.propagation: expected 'laplacian' or 'adjacency'/);
    assert.throws(() => relationForward({ ...input, options: { topK: 3 } as never }), /relation: unknown option\(s\) topK/);
    assert.throws(() => relationForward({ ...input, options: { overlapThreshold: 1.5 } }), /relation\.overlapThreshold: must be in \[0, 1\]/);
    await assert.rejects(relationForward({ ...input, weights: { 'phi.9.weight': f64(identity(D)) } }),
      failure('ERR_WEIGHTS', /^relationForward\.weights: key phi\.9\.weight is not in the model$/));
    await assert.rejects(relationForward({ ...input, weights: { 'gcn.0.weight': f64(identity(3)) } }),
      failure('ERR_WEIGHTS', /^relationForward\.weights: key gcn\.0\.weight has shape \[3, 3\] but the model expects \[4, 4\]$/));
    const nan = Float64Array.from(features.flat());
    nan[3] = NaN;
    await assert.rejects(async () => relationForward({ ...input, features: { data: nan, shape: [5, D] } }),
      failure('ERR_INVALID_ARGUMENT', /^relationForward\.features: contains NaN or Inf$/));
    const flipped = boxes.map((x) => [x[2], x[1], x[0], x[3]]) as Box[];
    await assert.rejects(relationForward({ ...input, boxes: f64(flipped) }),
      failure('ERR_INVALID_ARGUMENT', /relation: boxes must be \(x1, y1, x2, y2\) with x2 >= x1 and y2 >= y1$/));
  });
});
