// Bootstrap intervals (src/eval/bootstrap.ts): the per-sample evaluation agrees with the evaluator
// bit for bit (an image drawn twice counts as two images), and the intervals behave: identical
// models give 0, equally good models an interval around 0, a better model one above 0, and more
// images a narrower one.
import { strict as assert } from 'assert';
import type { CocoAnnotations } from '../../src/data/coco';
import { Random } from '../../src/data/random';
import { AP_LINES, pairedImageBootstrap, pairedSeedBootstrap, percentileInterval } from '../../src/eval/bootstrap';
import { evaluateDetections, ImageSampleEvaluator } from '../../src/eval/cocoeval';
import type { Detections } from '../../src/eval/detections';
import { resolveParams } from '../../src/eval/params';
import { stats } from '../../src/eval/summarize';
import { makeSyntheticEvalCase } from '../../src/eval/synthetic';

/** The case with image i present counts[i] times: copy c of image id x gets id 10x + c, so copies sit next to each other in id order. */
function duplicated(gt: CocoAnnotations, dets: Detections, counts: number[]): { gt: CocoAnnotations; dets: Detections } {
  const imageOf: number[] = []; // new image index → old one
  counts.forEach((count, i) => {
    for (let c = 0; c < count; c++) imageOf.push(i);
  });
  const newIndices = counts.map(() => [] as number[]);
  imageOf.forEach((old, n) => newIndices[old].push(n));
  const a = gt.annotations;
  const annRows = Array.from(a.ids.keys()).flatMap((g) => newIndices[a.imageIndex[g]].map((image, c) => ({ g, image, c })));
  const detRows = Array.from({ length: dets.count }, (_, d) => d).flatMap((d) => newIndices[dets.imageIndex[d]].map((image) => ({ d, image })));
  return {
    gt: {
      ...gt,
      images: {
        ids: Int32Array.from(imageOf, (old, n) => 10 * gt.images.ids[old] + newIndices[old].indexOf(n)),
        widths: Int32Array.from(imageOf, (old) => gt.images.widths[old]),
        heights: Int32Array.from(imageOf, (old) => gt.images.heights[old]),
        fileNames: imageOf.map((old) => gt.images.fileNames[old]),
      },
      annotations: {
        ids: Float64Array.from(annRows, ({ g, c }) => 10 * a.ids[g] + c),
        imageIndex: Int32Array.from(annRows, ({ image }) => image),
        categoryIndex: Int32Array.from(annRows, ({ g }) => a.categoryIndex[g]),
        bbox: Float64Array.from(annRows.flatMap(({ g }) => Array.from(a.bbox.subarray(4 * g, 4 * g + 4)))),
        area: Float64Array.from(annRows, ({ g }) => a.area[g]),
        iscrowd: Uint8Array.from(annRows, ({ g }) => a.iscrowd[g]),
      },
    },
    dets: {
      count: detRows.length,
      imageIndex: Int32Array.from(detRows, ({ image }) => image),
      categoryIndex: Int32Array.from(detRows, ({ d }) => dets.categoryIndex[d]),
      bbox: Float64Array.from(detRows.flatMap(({ d }) => Array.from(dets.bbox.subarray(4 * d, 4 * d + 4)))),
      score: Float64Array.from(detRows, ({ d }) => dets.score[d]),
    },
  };
}

/** The ground truth's boxes as detections (random scores) where `keep(annotation)` says so. */
function boxesAsDetections(gt: CocoAnnotations, random: Random, keep: (annotation: number) => boolean): Detections {
  const a = gt.annotations;
  const rows = Array.from(a.ids.keys()).filter((g) => !a.iscrowd[g] && keep(g));
  return {
    count: rows.length,
    imageIndex: Int32Array.from(rows, (g) => a.imageIndex[g]),
    categoryIndex: Int32Array.from(rows, (g) => a.categoryIndex[g]),
    bbox: Float64Array.from(rows.flatMap((g) => Array.from(a.bbox.subarray(4 * g, 4 * g + 4)))),
    score: Float64Array.from(rows, () => random.next()),
  };
}

/** A model that finds each object with probability `recall`, on `images` images. */
function twoModels(images: number, recallA: number, recallB: number, seed = 1): { gt: CocoAnnotations; a: Detections; b: Detections } {
  const { gt } = makeSyntheticEvalCase(seed, images, 0, 3);
  const random = new Random(seed);
  return { gt, a: boxesAsDetections(gt, random, () => random.next() < recallA), b: boxesAsDetections(gt, random, () => random.next() < recallB) };
}

const width = (i: { low: number; high: number }): number => i.high - i.low;

describe('bootstrap: evaluating samples of the images', () => {
  it('with every image once, gives the evaluator\'s precision and recall bit for bit', () => {
    for (const seed of [3, 4]) {
      const { gt, results } = makeSyntheticEvalCase(seed, 30, 25, 4);
      for (const params of [resolveParams(), resolveParams({ maxDets: [100] }), resolveParams({ areaRanges: 'fine', maxDets: [2, 5] })]) {
        const sampler = new ImageSampleEvaluator(gt, results, params);
        const expected = evaluateDetections(gt, results, params);
        const got = sampler.evaluate(new Int32Array(sampler.images).fill(1));
        assert.deepEqual(got.precision, expected.precision);
        assert.deepEqual(got.recall, expected.recall);
      }
    }
  });

  it('counts an image drawn k times as k images (ties between copies in id order), and a dropped one as absent', () => {
    const { gt, results } = makeSyntheticEvalCase(5, 12, 30, 3);
    const params = resolveParams();
    const sampler = new ImageSampleEvaluator(gt, results, params);
    const counts = [2, 0, 1, 3, 0, 0, 1, 2, 1, 0, 1, 1];
    const copies = duplicated(gt, results, counts);
    const expected = evaluateDetections(copies.gt, copies.dets, params);
    const got = sampler.evaluate(Int32Array.from(counts));
    assert.deepEqual(got.precision, expected.precision);
    assert.deepEqual(got.recall, expected.recall);
    assert.notDeepEqual(stats(got), stats(evaluateDetections(gt, results, params)));
    assert.throws(() => sampler.evaluate([1, 2]), /^Error: evaluate sample: expected a count for each of the 12 images, got 2$/);
  });
});

describe('bootstrap: intervals', () => {
  it('percentile intervals are numpy.quantile\'s (linear), over the finite values', () => {
    const values = Array.from({ length: 101 }, (_, i) => 100 - i);
    const ninety = percentileInterval(7, values, 0.9);
    assert.ok(ninety.estimate === 7 && Math.abs(ninety.low - 5) < 1e-9 && Math.abs(ninety.high - 95) < 1e-9, JSON.stringify(ninety));
    assert.deepEqual(percentileInterval(0, [NaN, 1, 2, NaN], 0.5), { estimate: 0, low: 1.25, high: 1.75 });
    assert.deepEqual(percentileInterval(0, [NaN], 0.95), { estimate: 0, low: NaN, high: NaN });
  });

  it('over seeds: identical models give [0, 0]; a model better on every seed an interval above 0; mixed signs contain 0', () => {
    assert.deepEqual(pairedSeedBootstrap([0.4, 0.5, 0.45], [0.4, 0.5, 0.45]), { estimate: 0, low: 0, high: 0 });
    const better = pairedSeedBootstrap([0.4, 0.5, 0.45, 0.42], [0.43, 0.51, 0.47, 0.46]);
    assert.ok(better.low > 0 && better.low <= better.estimate && better.estimate <= better.high && better.high <= 0.04 + 1e-12, JSON.stringify(better));
    const mixed = pairedSeedBootstrap([0.4, 0.5, 0.45, 0.42], [0.43, 0.47, 0.47, 0.40]);
    assert.ok(mixed.low < 0 && mixed.high > 0, JSON.stringify(mixed));
    // Seeded: the same draws every time; another seed draws others.
    const a = [1, 2, 3, 4, 5, 6, 7, 8];
    const b = [1.5, 2, 4, 3.9, 5.7, 6.2, 6.5, 8.8];
    assert.deepEqual(pairedSeedBootstrap(a, b), pairedSeedBootstrap(a, b));
    assert.notDeepEqual(pairedSeedBootstrap(a, b, { seed: 1 }), pairedSeedBootstrap(a, b, { seed: 2 }));
    assert.throws(() => pairedSeedBootstrap([1], [1, 2]), /^Error: bootstrap: expected the same number \(> 0\) of seeds for both models, got 1 and 2$/);
  });

  it('over images: identical models give [0, 0] and the estimate is the difference of the COCO stats on the whole set', () => {
    const { gt, a, b } = twoModels(30, 0.7, 0.9);
    const [[ap]] = pairedImageBootstrap(gt, [[a], [a]], { resamples: 200 });
    assert.deepEqual(ap, { estimate: 0, low: 0, high: 0 });
    const [better] = pairedImageBootstrap(gt, [[a], [b]], { resamples: 50 });
    const [sa, sb] = [a, b].map((dets) => stats(evaluateDetections(gt, dets, resolveParams())));
    assert.deepEqual(better.map((i) => i.estimate), AP_LINES.map((_, c) => (sa[c] < 0 ? NaN : sb[c] - sa[c])));
  });

  it('over images: two equally good models that miss different objects give an interval around 0 that contains it', () => {
    const { gt } = makeSyntheticEvalCase(2, 60, 0, 3);
    const random = new Random(2);
    const even = boxesAsDetections(gt, random, (g) => g % 2 === 0);
    const odd = boxesAsDetections(gt, random, (g) => g % 2 === 1);
    const [[ap]] = pairedImageBootstrap(gt, [[even], [odd]], { resamples: 300 });
    assert.ok(ap.low < 0 && ap.high > 0 && Math.abs(ap.estimate) < width(ap) / 2, JSON.stringify(ap));
  });

  it('over images: a model that finds more objects gets an interval above 0, narrower with more images', () => {
    const small = twoModels(20, 0.6, 0.8);
    const large = twoModels(160, 0.6, 0.8);
    const [[apSmall]] = pairedImageBootstrap(small.gt, [[small.a], [small.b]], { resamples: 300 });
    const [[apLarge]] = pairedImageBootstrap(large.gt, [[large.a], [large.b]], { resamples: 300 });
    for (const ap of [apSmall, apLarge]) assert.ok(ap.low > 0 && ap.low <= ap.estimate && ap.estimate <= ap.high, JSON.stringify(ap));
    // √8 times narrower in theory; at least 1.7 times with 300 resamples.
    assert.ok(width(apLarge) * 1.7 < width(apSmall), `${width(apLarge)} vs ${width(apSmall)}`);
  });

  it('over images with several seeds: the estimate is the mean over seeds of the paired differences', () => {
    const one = twoModels(25, 0.6, 0.8, 1);
    const two = twoModels(25, 0.5, 0.9, 1);
    const [[ap]] = pairedImageBootstrap(one.gt, [[one.a, two.a], [one.b, two.b]], { resamples: 100 });
    const [[ap1]] = pairedImageBootstrap(one.gt, [[one.a], [one.b]], { resamples: 100 });
    const [[ap2]] = pairedImageBootstrap(one.gt, [[two.a], [two.b]], { resamples: 100 });
    assert.ok(Math.abs(ap.estimate - (ap1.estimate + ap2.estimate) / 2) < 1e-12);
    assert.throws(() => pairedImageBootstrap(one.gt, [[one.a, two.a], [one.b]]), /^Error: bootstrap: expected two or more models with the same number \(> 0\) of seeds, got 2, 1$/);
  });
});
