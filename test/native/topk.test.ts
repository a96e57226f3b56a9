// The per-row top-K graph builder (paper §3.2–3.3) against a brute-force TypeScript reference.
import * as assert from 'assert';

import { buildTopKGraph, type TopKGraph } from '../../src/relation';
import { random, topKRows } from '../support/relation_reference';

function rowsOf(graph: TopKGraph): number[][] {
  const ptr = graph.rowPtr.data;
  return Array.from({ length: ptr.length - 1 }, (_, i) => Array.from(graph.cols.data.subarray(ptr[i], ptr[i + 1])));
}

describe('buildTopKGraph', () => {
  it('matches a brute-force reference on random matrices (ties, masked rows, K >= N, N = 0 and 1)', async () => {
    const rand = random(7);
    let cases = 0;
    for (const n of [0, 1, 2, 5, 17, 40]) {
      for (const k of [0, 1, 3, n, n + 4]) {
        for (const dtype of ['float32', 'float64'] as const) {
          // Scores on a coarse grid so that ties are common; some rows fully masked.
          const scores = dtype === 'float32' ? new Float32Array(n * n) : new Float64Array(n * n);
          const keep = new Uint8Array(n * n);
          const maskedRow = Math.floor(rand() * (n + 1));
          for (let i = 0; i < n * n; i++) {
            scores[i] = Math.floor(rand() * 6) / 4 - 0.5;
            keep[i] = Math.floor(i / n) !== maskedRow && rand() < 0.7 ? 1 : 0;
          }
          const graph = await buildTopKGraph({ data: scores, shape: [n, n] }, { data: keep, shape: [n, n] }, k);
          const expected = topKRows(scores, keep, n, k);
          assert.deepStrictEqual(rowsOf(graph), expected, `n=${n} k=${k} ${dtype}`);
          assert.strictEqual(graph.scores.data.constructor, scores.constructor);
          const expectedScores = expected.flatMap((cols, i) => cols.map((j) => scores[i * n + j]));
          assert.deepStrictEqual(Array.from(graph.scores.data), expectedScores);
          if (maskedRow < n) assert.strictEqual(graph.rowPtr.data[maskedRow + 1], graph.rowPtr.data[maskedRow]);
          cases++;
        }
      }
    }
    assert.strictEqual(cases, 60);
  });

  it('keeps every kept column when K >= the number kept, and breaks ties by the lower column', async () => {
    const scores = new Float32Array([0, 0.5, 0.5, 0.5, 0.9, 0, 0.1, 0.1, 0.2, 0.2, 0, 0.2, 1, 1, 1, 0]);
    const keep = new Uint8Array([0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0]);
    const two = await buildTopKGraph({ data: scores, shape: [4, 4] }, { data: keep, shape: [4, 4] }, 2);
    assert.deepStrictEqual(rowsOf(two), [[1, 2], [0, 2], [0, 1], []]);
    const all = await buildTopKGraph({ data: scores, shape: [4, 4] }, { data: keep, shape: [4, 4] }, 100);
    assert.deepStrictEqual(rowsOf(all), [[1, 2, 3], [0, 2], [0, 1, 3], []]);
    assert.deepStrictEqual(Array.from(all.rowPtr.data), [0, 3, 5, 8, 8]);
  });

  it('rejects NaN in kept positions and ignores it in masked ones; bad arguments give one-line errors', async () => {
    const scores = new Float32Array([0, NaN, 1, 0]);
    const masked = await buildTopKGraph({ data: scores, shape: [2, 2] }, { data: new Uint8Array([0, 0, 1, 0]), shape: [2, 2] }, 1);
    assert.deepStrictEqual(rowsOf(masked), [[], [0]]);
    await assert.rejects(
      buildTopKGraph({ data: scores, shape: [2, 2] }, { data: new Uint8Array([0, 1, 1, 0]), shape: [2, 2] }, 1),
      /buildTopKGraph: scores contain NaN/,
    );
    assert.throws(() => buildTopKGraph({ data: new Float32Array(6), shape: [2, 3] }, { data: new Uint8Array(6), shape: [2, 3] }, 1), /square/);
    assert.throws(() => buildTopKGraph({ data: scores, shape: [2, 2] }, { data: new Uint8Array(4), shape: [2, 2] }, -1), /k: expected an integer >= 0/);
  });
});
