// COCO evaluation: pycocotools' numbers on its reference cases (made by pycocotools itself, see
// test/fixtures/coco-eval-cases/README.md), hand-computed cases, and properties on random cases.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCocoAnnotations, type CocoAnnotations } from '../../src/data/coco';
import type { CocoResult, Detections } from '../../src/eval/detections';
import { evaluate, evaluateResults, type EvaluationResult } from '../../src/eval/evaluate';
import { linspace, resolveParams, type EvalOptions } from '../../src/eval/params';
import { evaluateDetections } from '../../src/eval/cocoeval';
import { literalCocoEval } from '../support/eval_literal_cocoeval';
import { numpyMean, pyFixed, stats } from '../../src/eval/summarize';
import { readCocoResults } from '../../src/eval/results_reader';
import { cocoGroundTruthJson, makeSyntheticEvalCase } from '../../src/eval/synthetic';
import { Random } from '../../src/data/random';
import { FIXTURES } from '../support/paths';

const CASES = path.join(FIXTURES, 'coco-eval-cases');

interface Expected {
  stats: number[];
  precision_shape: number[];
  perCategory: Record<string, number>;
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

/** Ground truth in memory from a compact description (category ids given, images by id). */
function makeGt(
  imageIds: number[],
  categoryIds: number[],
  anns: { image: number; category: number; bbox: number[]; area?: number; crowd?: boolean; id?: number }[],
): CocoAnnotations {
  return {
    file: 'hand.json',
    images: {
      ids: Int32Array.from(imageIds),
      widths: Int32Array.from(imageIds, () => 640),
      heights: Int32Array.from(imageIds, () => 480),
      fileNames: imageIds.map((id) => `${id}.jpg`),
    },
    categories: { ids: Int32Array.from(categoryIds), names: categoryIds.map((id) => `c${id}`) },
    annotations: {
      ids: Float64Array.from(anns, (a, i) => a.id ?? i + 1),
      imageIndex: Int32Array.from(anns, (a) => imageIds.indexOf(a.image)),
      categoryIndex: Int32Array.from(anns, (a) => categoryIds.indexOf(a.category)),
      bbox: Float64Array.from(anns.flatMap((a) => a.bbox)),
      area: Float64Array.from(anns, (a) => a.area ?? a.bbox[2] * a.bbox[3]),
      iscrowd: Uint8Array.from(anns, (a) => (a.crowd ? 1 : 0)),
    },
  };
}

function det(image_id: number, category_id: number, bbox: number[], score: number): CocoResult {
  return { image_id, category_id, bbox, score };
}

const R = 101;

describe('eval: pycocotools reference cases', () => {
  for (const name of ['crowd', 'over_maxdets', 'random', 'ties']) {
    it(`${name}: stats, precision shape and per-category AP match pycocotools`, async () => {
      const dir = path.join(CASES, name);
      const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
      const result = await evaluateResults(path.join(dir, 'gt.json'), path.join(dir, 'dets.json'));
      assertClose(result.stats, expected.stats, 1e-6, 'stats');
      assert.deepEqual(result.precisionShape, expected.precision_shape);
      const perCategory = Object.fromEntries([...result.perCategory].map(([id, ap]) => [String(id), ap]));
      assert.deepEqual(Object.keys(perCategory), Object.keys(expected.perCategory));
      assertClose(Object.values(perCategory), Object.values(expected.perCategory), 1e-6, 'perCategory');
    });
  }

  it('agrees bit for bit (numpy-order means), not just to 1e-6', async () => {
    const dir = path.join(CASES, 'ties');
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
    const result = await evaluateResults(path.join(dir, 'gt.json'), path.join(dir, 'dets.json'));
    assert.deepEqual(result.stats, expected.stats);
  });

  it("prints summarize()'s table, rounding exact ties to even as Python does", async () => {
    const dir = path.join(CASES, 'ties');
    const result = await evaluateResults(path.join(dir, 'gt.json'), path.join(dir, 'dets.json'));
    const lines = result.summary.split('\n');
    assert.equal(lines.length, 12);
    assert.equal(lines[0], ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.154');
    assert.equal(lines[1], ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.250');
    assert.equal(lines[6], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.172');
    // stats[9] is exactly 0.3125 and stats[10] 0.5625: Python prints 0.312 and 0.562.
    assert.equal(lines[9], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.312');
    assert.equal(lines[10], ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.562');
  });
});

describe('eval: hand-computed cases', () => {
  it('one image, two boxes and a crowd region that absorbs two detections', async () => {
    const gt = makeGt([1], [1], [
      { image: 1, category: 1, bbox: [0, 0, 10, 10] },
      { image: 1, category: 1, bbox: [50, 50, 20, 20] },
      { image: 1, category: 1, bbox: [0, 60, 40, 40], crowd: true },
    ]);
    const result = await evaluateResults(gt, [
      det(1, 1, [0, 0, 10, 10], 0.9), // exact: TP at every IoU
      det(1, 1, [5, 65, 10, 10], 0.8), // inside the crowd: IoU = inter / det area = 1, ignored
      det(1, 1, [10, 70, 10, 10], 0.7), // inside the crowd too: ignored as well
      det(1, 1, [50, 50, 20, 10], 0.6), // IoU 0.5 with the second box: TP at .50 only
    ]);
    // IoU .50: precision 1 at every recall; above: recall stops at 0.5 (51 of 101 points).
    const ap = (1 + 9 * (51 / R)) / 10;
    assertClose(result.stats, [ap, 1, 51 / R, ap, -1, -1, 0.5, 0.55, 0.55, 0.55, -1, -1], 1e-12, 'stats');
  });

  it('ties: across images the lower image id goes first; within an image, the file order', async () => {
    // Image 3 has a TP and image 7 an FP at the same score; listed image 7 first everywhere.
    const gt = makeGt([7, 3], [1], [
      { image: 7, category: 1, bbox: [0, 0, 10, 10] },
      { image: 3, category: 1, bbox: [0, 0, 10, 10] },
    ]);
    const across = await evaluateResults(gt, [det(7, 1, [50, 50, 10, 10], 0.5), det(7, 1, [0, 0, 10, 10], 0.4), det(3, 1, [0, 0, 10, 10], 0.5)]);
    // Order TP, FP, TP: precision 1 up to recall .5, then 2/3 after the envelope.
    assertClose([across.stats[0]], [(51 + 50 * (2 / 3)) / R], 1e-12, 'AP');

    const within = await evaluateResults(makeGt([1], [1], [{ image: 1, category: 1, bbox: [0, 0, 10, 10] }]), [
      det(1, 1, [20, 20, 10, 10], 0.5),
      det(1, 1, [0, 0, 10, 10], 0.5),
    ]);
    // The FP is listed first, so it ranks first: precision 1/2 at recall 1.
    assertClose([within.stats[0]], [0.5], 1e-12, 'AP');
  });

  it('a category with ground truth but no detections scores 0; one with detections but no ground truth is -1 and left out', async () => {
    const gt = makeGt([1], [1, 2, 3], [
      { image: 1, category: 1, bbox: [0, 0, 10, 10] },
      { image: 1, category: 2, bbox: [30, 30, 10, 10] },
    ]);
    const result = await evaluateResults(gt, [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 3, [30, 30, 10, 10], 0.9)]);
    assert.deepEqual([...result.perCategory], [[1, 1 / (1 + Number.EPSILON)], [2, 0], [3, -1]]);
    assertClose([result.stats[0], result.stats[8]], [0.5, 0.5], 1e-12, 'AP, AR100');
  });

  it('a detection on an image without ground truth is a false positive', async () => {
    const gt = makeGt([1, 2], [1], [{ image: 1, category: 1, bbox: [0, 0, 10, 10] }]);
    const result = await evaluateResults(gt, [det(1, 1, [0, 0, 10, 10], 0.5), det(2, 1, [0, 0, 10, 10], 0.9)]);
    assertClose([result.stats[0]], [0.5], 1e-12, 'AP');
  });

  it('area ranges include both ends: 32² is small and medium, 96² medium and large', async () => {
    const gt = makeGt([1, 2, 3], [1], [
      { image: 1, category: 1, bbox: [0, 0, 32, 32], area: 32 ** 2 },
      { image: 2, category: 1, bbox: [0, 0, 96, 96], area: 96 ** 2 },
    ]);
    const result = await evaluateResults(gt, [
      det(3, 1, [0, 0, 32, 32], 0.95), // unmatched, w*h = 32²: an FP for small and medium, ignored for large
      det(1, 1, [0, 0, 32, 32], 0.9),
      det(2, 1, [0, 0, 96, 96], 0.8),
    ]);
    const [, , , small, medium, large] = result.stats;
    // small: FP, TP, (ignored: matched to the 96² box, outside) → 1/2. medium: FP, TP, TP → 2/3.
    // large: (ignored), (ignored: matched to the 32² box, outside), TP → 1.
    assertClose([small, medium, large], [0.5, 2 / 3, 1], 1e-12, 'APs, APm, APl');
  });

  it('more than 100 detections in one image: the lowest-scored are cut, per image and category', async () => {
    const gt = makeGt([1], [1, 2], [
      { image: 1, category: 1, bbox: [0, 0, 10, 10] },
      { image: 1, category: 2, bbox: [0, 0, 10, 10] },
    ]);
    const results: CocoResult[] = [];
    // Category 1: 100 false positives outscore the one true positive, which is the 101st.
    for (let i = 0; i < 100; i++) results.push(det(1, 1, [100 + i, 100, 10, 10], 0.99 - i * 0.001));
    results.push(det(1, 1, [0, 0, 10, 10], 0.1));
    // Category 2: 60 false positives, then its true positive: 61st in its own category, so kept.
    for (let i = 0; i < 60; i++) results.push(det(1, 2, [100 + i, 100, 10, 10], 0.99 - i * 0.001));
    results.push(det(1, 2, [0, 0, 10, 10], 0.1));
    const result = await evaluateResults(gt, results);
    assertClose([result.perCategory.get(1) as number, result.perCategory.get(2) as number], [0, 1 / 61], 1e-12, 'per-category AP');

    // With maxDets [1, 10, 101] the 101st counts; AP (stats[0]) is then -1: pycocotools asks for maxDets=100 literally.
    const wider = await evaluateResults(gt, results, { maxDets: [1, 10, 101] });
    assert.equal(wider.stats[0], -1);
    assertClose([wider.stats[1]], [(1 / 101 + 1 / 61) / 2], 1e-12, 'AP50');
  });

  it('an IoU threshold of 1 is taken as 1 - 1e-10, so a box identical up to rounding still matches', async () => {
    // x + w = 0.7 + 0.1 rounds below 0.8: the computed IoU of the box with itself is 0.9999999999999987.
    const gt = makeGt([1], [1], [{ image: 1, category: 1, bbox: [0.7, 0.7, 0.1, 0.1] }]);
    const result = await evaluateResults(gt, [det(1, 1, [0.7, 0.7, 0.1, 0.1], 0.9)], { iouThresholds: [1] });
    assert.ok(Math.abs(result.stats[0] - 1) < 1e-12);
  });

  it('a ground-truth id of 0 reads as unmatched, as in pycocotools', async () => {
    const gt = makeGt([1], [1], [{ image: 1, category: 1, bbox: [0, 0, 10, 10], id: 0 }]);
    const result = await evaluateResults(gt, [det(1, 1, [0, 0, 10, 10], 0.9)]);
    assert.equal(result.stats[0], 0);
  });
});

describe('eval: options', () => {
  const gt = makeGt([1], [1], [{ image: 1, category: 1, bbox: [0, 0, 10, 10] }]);
  const results = [det(1, 1, [0, 0, 10, 10], 0.9)];

  it('rejects bad options with one line', async () => {
    await assert.rejects(evaluateResults(gt, results, { maxDets: [0, 10] }), /^Error: evaluate: maxDets\[0\] must be positive integers, got 0$/);
    await assert.rejects(evaluateResults(gt, results, { iouThresholds: [1.5] }), /evaluate: iouThresholds\[0\] must be in \[0, 1\], got 1.5/);
    await assert.rejects(evaluateResults(gt, results, { areaRanges: 'huge' as 'coco' }), /evaluate: areaRanges: unknown preset 'huge' \(use coco or fine\)/);
    await assert.rejects(evaluateResults(gt, results, { areaRanges: [{ name: 'x', min: 5, max: 1 }] }), /evaluate: areaRanges\[0\] must be \{ name, min, max \}/);
    await assert.rejects(evaluateResults(gt, [{ image_id: 1, category_id: 1, bbox: [0, 0, 1], score: 1 }]), /^Error: results: \[0\]: bbox must be 4 finite numbers$/);
  });

  it("with fewer than three maxDets, the summary lines that need a third are -1 (pycocotools would fail)", async () => {
    const result = await evaluateResults(gt, results, { maxDets: [100] });
    assert.deepEqual(result.stats.map((v) => (v === -1 ? -1 : 1)), [1, -1, -1, -1, -1, -1, 1, -1, -1, -1, -1, -1]);
    assert.match(result.summary.split('\n')[7], /maxDets=n\/a \] = -1\.000$/);
  });

  it("'fine' adds tiny (≤ 16²) and s16-32 buckets and keeps the 12 COCO stats as they were", async () => {
    const two = makeGt([1], [1], [
      { image: 1, category: 1, bbox: [0, 0, 10, 10] },
      { image: 1, category: 1, bbox: [50, 50, 20, 20] },
    ]);
    const dets = [det(1, 1, [0, 0, 10, 10], 0.9), det(1, 1, [100, 100, 20, 20], 0.8)];
    const coco = await evaluateResults(two, dets);
    const fine = await evaluateResults(two, dets, { areaRanges: 'fine' });
    assert.deepEqual(fine.stats, coco.stats);
    assert.ok(Math.abs(fine.perSize.tiny.ap - 1) < 1e-12);
    assert.equal(fine.perSize['s16-32'].ap, 0);
    assert.equal(fine.summary.split('\n').length, 16);
  });
});

describe('eval: properties on seeded random cases', () => {
  function perfect(seed: number): { gt: CocoAnnotations; results: CocoResult[] } {
    const { gt } = makeSyntheticEvalCase(seed, 40, 0, 6);
    const random = new Random(seed);
    const a = gt.annotations;
    const results: CocoResult[] = [];
    for (let i = 0; i < a.ids.length; i++) {
      if (a.iscrowd[i]) continue;
      results.push(det(gt.images.ids[a.imageIndex[i]], gt.categories.ids[a.categoryIndex[i]], Array.from(a.bbox.subarray(4 * i, 4 * i + 4)), random.next()));
    }
    return { gt, results };
  }

  it('the literal transcription itself gives pycocotools\' stats on the reference cases', async () => {
    for (const name of ['crowd', 'over_maxdets', 'random', 'ties']) {
      const dir = path.join(CASES, name);
      const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Expected;
      const gt = await loadCocoAnnotations(path.join(dir, 'gt.json'));
      const params = resolveParams();
      const arrays = evaluateDetections(gt, await readCocoResults(path.join(dir, 'dets.json'), gt), params);
      const literal = literalCocoEval(gt, await readCocoResults(path.join(dir, 'dets.json'), gt), params);
      assert.deepEqual(stats({ ...arrays, ...literal }), expected.stats, name);
    }
  });

  it('precision and recall equal a literal transcription of COCOeval, bit for bit, on 24 random cases', () => {
    const variants: EvalOptions[] = [{}, { maxDets: [1, 3, 5] }, { areaRanges: 'fine', maxDets: [2, 4, 100] }, { iouThresholds: [0.3, 0.5, 1] }];
    for (let seed = 10; seed < 16; seed++) {
      // Few categories and many detections: long runs per (image, category), cut by small maxDets.
      const { gt, results } = makeSyntheticEvalCase(seed, 12, 30 + 10 * (seed % 3), 3);
      for (const options of variants) {
        const params = resolveParams(options);
        const fast = evaluateDetections(gt, results, params);
        const literal = literalCocoEval(gt, results, params);
        assert.deepEqual(fast.precision, literal.precision, `seed ${seed}, ${JSON.stringify(options)}: precision`);
        assert.deepEqual(fast.recall, literal.recall, `seed ${seed}, ${JSON.stringify(options)}: recall`);
      }
    }
  });

  it('perfect detections give AP 1 (and AR@100 1) wherever defined', async () => {
    for (const seed of [1, 2, 3]) {
      const { gt, results } = perfect(seed);
      const { stats } = await evaluateResults(gt, results);
      for (const i of [0, 1, 2, 3, 4, 5, 8, 9, 10, 11]) {
        assert.ok(stats[i] === -1 || Math.abs(stats[i] - 1) < 1e-12, `seed ${seed}: stats[${i}] = ${stats[i]}`);
      }
      assert.ok(Math.abs(stats[0] - 1) < 1e-12);
    }
  });

  it('shuffling images, annotations and detections gives identical stats', async () => {
    for (const seed of [4, 5]) {
      const { gt, results } = makeSyntheticEvalCase(seed, 60, 30, 8);
      // Distinct scores: with tied scores pycocotools' answer depends on the input order by design.
      const random = new Random(seed);
      const scores = random.shuffle(Float64Array.from({ length: results.count }, (_, i) => (i + 0.5) / results.count));
      const distinct: Detections = { ...results, score: scores };
      const before = await evaluateResults(gt, distinct);
      const after = await evaluateResults(shuffledGt(gt, random), shuffledResults(distinct, gt, random));
      assert.deepEqual(after.stats, before.stats);
      assert.deepEqual([...after.perCategory], [...before.perCategory]);
    }
  });

  it('adding a detection on an image without ground truth of its category never raises AP', async () => {
    const { gt, results } = makeSyntheticEvalCase(6, 30, 20, 5);
    const base = await evaluateResults(gt, results);
    const random = new Random(6);
    for (let trial = 0; trial < 20; trial++) {
      const image = random.int(0, gt.images.ids.length - 1);
      const category = random.int(0, gt.categories.ids.length - 1);
      const has = gt.annotations.imageIndex.some((im, i) => im === image && gt.annotations.categoryIndex[i] === category);
      if (has) continue;
      const more = appended(results, image, category, [random.uniform(0, 300), random.uniform(0, 300), random.uniform(4, 200), random.uniform(4, 200)], random.next());
      const after = await evaluateResults(gt, more);
      const id = gt.categories.ids[category];
      assert.ok((after.perCategory.get(id) as number) <= (base.perCategory.get(id) as number), `trial ${trial}: category ${id}`);
      for (const i of [0, 1, 2, 3, 4, 5]) assert.ok(after.stats[i] <= base.stats[i], `trial ${trial}: stats[${i}]`);
    }
  });
});

describe('eval: numerics shared with numpy and Python', () => {
  it('numpyMean sums as numpy does (pairwise, blocks of 8192)', () => {
    // np.mean of v_i = ((i * 7919) % 1000) / 997, values from numpy 1.24.
    const expected: [number, number][] = [
      [5, 0.6399197592778334],
      [100, 0.4919759277833499],
      [1000, 0.5010030090270813],
      [20000, 0.5010030090270812],
    ];
    for (const [n, mean] of expected) {
      const v = Float64Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 997);
      assert.equal(numpyMean(v), mean, `n = ${n}`);
    }
  });

  it("pyFixed is Python's '{:.3f}' (exact ties to even)", () => {
    assert.equal(pyFixed(0.3125, 3), '0.312');
    assert.equal(pyFixed(0.1875, 3), '0.188');
    assert.equal(pyFixed(0.0625, 3), '0.062');
    assert.equal(pyFixed(0.1235, 3), '0.123'); // 0.1235 is stored below the tie
    assert.equal(pyFixed(-1, 3), '-1.000');
    assert.equal(pyFixed(0.95, 2), '0.95');
  });

  it('thresholds are numpy.linspace values to the bit', () => {
    const iou = linspace(0.5, 0.95, 10);
    assert.equal(iou[5], 0.75);
    assert.equal(iou[8], 0.8999999999999999);
    assert.equal(linspace(0, 1, 101)[3], 0.03);
  });
});

describe('eval: evaluate(detector, dataset)', () => {
  it('runs the detector over every image in batches, maps labels to category ids, writes the results file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-eval-'));
    const { gt } = makeSyntheticEvalCase(7, 5, 0, 4);
    const annotations = path.join(dir, 'gt.json');
    fs.writeFileSync(annotations, JSON.stringify(cocoGroundTruthJson(gt)));
    const byFile = new Map(gt.images.fileNames.map((f, i) => [path.join(dir, 'images', f), i]));
    const calls: number[] = [];
    const detector = {
      async detect(images: string[]) {
        calls.push(images.length);
        return images.map((file) => {
          const image = byFile.get(file) as number;
          const a = gt.annotations;
          const out = [];
          for (let i = 0; i < a.ids.length; i++) {
            if (a.imageIndex[i] !== image || a.iscrowd[i]) continue;
            const [x, y, w, h] = a.bbox.subarray(4 * i, 4 * i + 4);
            out.push({ bbox: [x, y, w, h] as [number, number, number, number], score: 0.5 + i / 1000, categoryId: gt.categories.ids[a.categoryIndex[i]] });
          }
          return { detections: out };
        });
      },
    };
    const resultsFile = path.join(dir, 'results.json');
    const result: EvaluationResult = await evaluate(detector, { annotations, images: path.join(dir, 'images') }, { batchSize: 2, resultsFile });
    assert.deepEqual(calls, [2, 2, 1]);
    assert.ok(Math.abs(result.stats[0] - 1) < 1e-12);
    const fromFile = await evaluateResults(annotations, resultsFile);
    assert.deepEqual(fromFile.stats, result.stats);
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects a category id that the annotations do not have, naming it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-eval-'));
    const { gt } = makeSyntheticEvalCase(8, 2, 0, 3);
    const annotations = path.join(dir, 'gt.json');
    fs.writeFileSync(annotations, JSON.stringify(cocoGroundTruthJson(gt)));
    const detector = { detect: async (images: string[]) => images.map(() => ({ detections: [{ bbox: [0, 0, 5, 5] as [number, number, number, number], score: 0.5, categoryId: 99 }] })) };
    await assert.rejects(evaluate(detector, { annotations, images: dir }), /category_id 99 is not a category of the ground truth/);
    fs.rmSync(dir, { recursive: true });
  });
});

function shuffledGt(gt: CocoAnnotations, random: Random): CocoAnnotations {
  const imagePerm = random.shuffle(Int32Array.from(gt.images.ids.keys()));
  const newImageIndex = new Int32Array(imagePerm.length);
  imagePerm.forEach((old, i) => (newImageIndex[old] = i));
  const a = gt.annotations;
  const perm = random.shuffle(Int32Array.from(a.ids.keys()));
  return {
    ...gt,
    images: {
      ids: Int32Array.from(imagePerm, (i) => gt.images.ids[i]),
      widths: Int32Array.from(imagePerm, (i) => gt.images.widths[i]),
      heights: Int32Array.from(imagePerm, (i) => gt.images.heights[i]),
      fileNames: Array.from(imagePerm, (i) => gt.images.fileNames[i]),
    },
    annotations: {
      ids: Float64Array.from(perm, (i) => a.ids[i]),
      imageIndex: Int32Array.from(perm, (i) => newImageIndex[a.imageIndex[i]]),
      categoryIndex: Int32Array.from(perm, (i) => a.categoryIndex[i]),
      bbox: Float64Array.from(Array.from(perm).flatMap((i) => Array.from(a.bbox.subarray(4 * i, 4 * i + 4)))),
      area: Float64Array.from(perm, (i) => a.area[i]),
      iscrowd: Uint8Array.from(perm, (i) => a.iscrowd[i]),
    },
  };
}

/** The detections as result records (image and category ids), in a shuffled order. */
function shuffledResults(d: Detections, gt: CocoAnnotations, random: Random): CocoResult[] {
  const order = random.shuffle(Int32Array.from({ length: d.count }, (_, i) => i));
  return Array.from(order, (i) =>
    det(gt.images.ids[d.imageIndex[i]], gt.categories.ids[d.categoryIndex[i]], Array.from(d.bbox.subarray(4 * i, 4 * i + 4)), d.score[i]),
  );
}

/** `d` with one more detection at the end. */
function appended(d: Detections, image: number, category: number, box: number[], score: number): Detections {
  const n = d.count;
  const grow = <A extends Int32Array | Float64Array>(a: A, extra: number[]): A => {
    const b = new (a.constructor as new (n: number) => A)(a.length + extra.length);
    b.set(a);
    b.set(extra, a.length);
    return b;
  };
  return {
    count: n + 1,
    imageIndex: grow(d.imageIndex, [image]),
    categoryIndex: grow(d.categoryIndex, [category]),
    bbox: grow(d.bbox, box),
    score: grow(d.score, [score]),
  };
}
