// Sliced detection's pure parts: the tile grid (coverage, edges, images smaller than a tile,
// 1-pixel-wide images) and merging the tiles' detections (NMS and NMM, IoU and IoS, per class).
import * as assert from 'assert';
import { Random } from '../../src/data/random';
import { mergeDetections, type BoxList, type MergeOptions } from '../../src/slice/merge';
import { checkTileOptions, tileGrid } from '../../src/slice/tiles';

const list = (boxes: number[][], scores: number[], labels: number[]): BoxList => ({
  boxes: Float32Array.from(boxes.flat()),
  scores: Float32Array.from(scores),
  labels: Int32Array.from(labels),
});
const rows = (b: Float32Array): number[][] => Array.from({ length: b.length / 4 }, (_, i) => Array.from(b.subarray(4 * i, 4 * i + 4)));
const NMM_IOS: MergeOptions = { method: 'nmm', metric: 'ios', threshold: 0.5, classAgnostic: false };

describe('slice: tile grid', () => {
  it('covers the image with overlapping tiles, the last of each row and column flush with the edge', () => {
    const tiles = tileGrid(1000, 600, { size: 512, overlap: 0.2 });
    assert.deepStrictEqual(
      tiles.map((t) => [t.x, t.y]),
      [[0, 0], [409, 0], [488, 0], [0, 88], [409, 88], [488, 88]],
    );
    assert.ok(tiles.every((t) => t.width === 512 && t.height === 512));
  });

  it('keeps an image smaller than a tile whole, and 1-pixel-wide images work', () => {
    assert.deepStrictEqual(tileGrid(300, 200, { size: 512, overlap: 0.2 }), [{ x: 0, y: 0, width: 300, height: 200 }]);
    const thin = tileGrid(1, 2000, { size: 512, overlap: 0.25 });
    assert.deepStrictEqual(thin.map((t) => t.y), [0, 384, 768, 1152, 1488]);
    assert.ok(thin.every((t) => t.x === 0 && t.width === 1 && t.height === 512));
  });

  it('on random sizes: every pixel covered, tiles inside the image, neighbours overlap by at least the asked share', () => {
    const random = new Random(3);
    for (let trial = 0; trial < 200; trial++) {
      const width = random.int(1, 3000);
      const height = random.int(1, 3000);
      const size = random.int(16, 700);
      const overlap = random.uniform(0, 0.9);
      const tiles = tileGrid(width, height, { size, overlap });
      const xs = [...new Set(tiles.map((t) => t.x))];
      const ys = [...new Set(tiles.map((t) => t.y))];
      assert.strictEqual(tiles.length, xs.length * ys.length);
      for (const [starts, length] of [[xs, width], [ys, height]] as const) {
        const extent = Math.min(size, length);
        assert.strictEqual(starts[0], 0);
        assert.strictEqual(starts[starts.length - 1] + extent, length, `${width}x${height} size ${size}`);
        for (let i = 1; i < starts.length; i++) {
          assert.ok(starts[i] > starts[i - 1], 'advances');
          assert.ok(starts[i - 1] + extent - starts[i] >= Math.floor(size * overlap) - 1, `overlap at ${width}x${height} size ${size} overlap ${overlap}`);
        }
      }
    }
  });

  it('rejects bad options with one line naming them', () => {
    assert.throws(() => checkTileOptions({ size: 0, overlap: 0.2 }, 'tiles'), /^RangeError: tiles\.size: expected an integer >= 1, got 0$/);
    assert.throws(() => checkTileOptions({ size: 512, overlap: 1 }, 'tiles'), /tiles\.overlap: expected a number in \[0, 1\), got 1/);
  });
});

describe('slice: merging detections', () => {
  it('NMM with IoS joins the two halves of an object cut by a tile border into the whole object', () => {
    // The object spans x 90..130; tile A saw 90..110 (to its edge), tile B saw a little more.
    const cut = list([[90, 10, 110, 30], [95, 10, 130, 30]], [0.9, 0.8], [1, 1]);
    const merged = mergeDetections(cut, NMM_IOS);
    assert.deepStrictEqual(rows(merged.boxes), [[90, 10, 130, 30]]);
    assert.deepStrictEqual(Array.from(merged.scores), [Math.fround(0.9)]);
    // NMS keeps the higher-scoring half as it is.
    assert.deepStrictEqual(rows(mergeDetections(cut, { ...NMM_IOS, method: 'nms' }).boxes), [[90, 10, 110, 30]]);
    // By IoU the halves (300 / 800 = 0.375) do not match: both stay.
    assert.strictEqual(mergeDetections(cut, { ...NMM_IOS, metric: 'iou' }).scores.length, 2);
  });

  it('keeps classes apart unless class-agnostic, and returns boxes by decreasing score', () => {
    const two = list([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], [0.5, 0.7, 0.6], [1, 2, 1]);
    const perClass = mergeDetections(two, { ...NMM_IOS, method: 'nms' });
    assert.deepStrictEqual(Array.from(perClass.labels), [2, 1, 1]);
    const agnostic = mergeDetections(two, { ...NMM_IOS, method: 'nms', classAgnostic: true });
    assert.deepStrictEqual(Array.from(agnostic.labels), [2, 1]);
    assert.deepStrictEqual(rows(agnostic.boxes), [[0, 0, 10, 10], [50, 50, 60, 60]]);
  });

  it('NMS by IoU is greedy NMS: a brute-force reference agrees on random boxes', () => {
    const random = new Random(11);
    for (let trial = 0; trial < 50; trial++) {
      const n = random.int(0, 60);
      const boxes: number[][] = [];
      for (let i = 0; i < n; i++) {
        const x = random.uniform(0, 100), y = random.uniform(0, 100);
        boxes.push([x, y, x + random.uniform(1, 40), y + random.uniform(1, 40)]);
      }
      const input = list(boxes, boxes.map(() => random.next()), boxes.map(() => random.int(1, 2)));
      const got = mergeDetections(input, { method: 'nms', metric: 'iou', threshold: 0.5, classAgnostic: false });
      // Reference: repeatedly take the best remaining box, drop its same-class matches.
      const iou = (a: number[], b: number[]) => {
        const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]), h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
        const inter = w > 0 && h > 0 ? w * h : 0;
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
      };
      const f = rows(input.boxes);
      let left = f.map((_, i) => i);
      const kept: number[] = [];
      while (left.length) {
        const best = left.reduce((a, b) => (input.scores[b] > input.scores[a] || (input.scores[b] === input.scores[a] && b < a) ? b : a));
        kept.push(best);
        left = left.filter((j) => j !== best && !(input.labels[j] === input.labels[best] && iou(f[best], f[j]) > 0.5));
      }
      assert.deepStrictEqual(rows(got.boxes), kept.map((i) => f[i]));
    }
  });
});
