// Sliced detection's pure parts: the tile grid (coverage, edges, images smaller than a tile,
// 1-pixel-wide images) and merging the tiles' detections (NMS and NMM, IoU and IoS, per class).
import * as assert from 'assert';
import { Random } from '../../src/data/random';
import { mergeDetections, type BoxList, type MergeOptions } from '../../src/slice/merge';
import { cropTile, detectSliced } from '../../src/slice/detect';
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
    assert.throws(() => checkTileOptions({ size: 0, overlap: 0.2 }, 'tiles'), /^IrRcnnError: tiles\.size: expected an integer >= 1, got 0$/);
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

describe('slice: sliced detection', () => {
  // Objects of a 1000×700 image; the fake detector "sees" the part of each object inside the
  // image it is given (a tile, or the whole image), at its own pixels, as a detector would.
  const objects = [
    { box: [100, 100, 120, 112], label: 1 },
    { box: [400, 300, 430, 320], label: 2 }, // crosses the tile border at x = 409..
    { box: [980, 690, 1000, 700], label: 1 }, // at the bottom-right corner
  ];
  const encode = (x: number, y: number) => (x << 16) | y;
  /** An image whose first pixel encodes where it was cropped (the fake detector reads it back). */
  const image = (() => {
    const width = 1000, height = 700;
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const v = encode(x, y);
      data.set([(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff], (y * width + x) * 3);
    }
    return { data, width, height };
  })();
  const seen: number[] = [];
  const fakeDetector = async (images: { data: Uint8Array; width: number; height: number }[]) => {
    seen.push(images.length);
    return images.map((img) => {
      // Bytes 0..2 hold (x & 0xff, y >> 8, y & 0xff) of the tile's corner: enough here, as every corner x is < 256 or a known start.
      const corner = { x: [0, 409, 488].find((x) => (x & 0xff) === img.data[0]) ?? 0, y: (img.data[1] << 8) | img.data[2] };
      if (img.width === 1000) corner.x = 0;
      const boxes: number[] = [], scores: number[] = [], labels: number[] = [];
      objects.forEach((o, k) => {
        const x1 = Math.max(o.box[0], corner.x) - corner.x, y1 = Math.max(o.box[1], corner.y) - corner.y;
        const x2 = Math.min(o.box[2], corner.x + img.width) - corner.x, y2 = Math.min(o.box[3], corner.y + img.height) - corner.y;
        if (x2 <= x1 || y2 <= y1) return;
        boxes.push(x1, y1, x2, y2);
        scores.push(0.9 - 0.1 * k - (x2 - x1 < o.box[2] - o.box[0] ? 0.05 : 0));
        labels.push(o.label);
      });
      return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), labels: Int32Array.from(labels) };
    });
  };
  // The model's resize would enlarge this image: the whole-image pass gets it as it is.
  const options = { tiles: { size: 512, overlap: 0.2 }, fullImage: false, minSize: 2000, maxSize: 2000, batchSize: 4, maxDetections: 100, ...NMM_IOS };

  it('crops tiles exactly', () => {
    const tile = cropTile(image, { x: 409, y: 188, width: 3, height: 2 });
    assert.deepStrictEqual([tile.width, tile.height], [3, 2]);
    const v = encode(410, 189);
    assert.deepStrictEqual(Array.from(tile.data.subarray(12, 15)), [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff]);
  });

  it('returns each object once, in whole-image pixels, with cut objects merged whole; batches and reports progress', async () => {
    seen.length = 0;
    const progress: [number, number][] = [];
    const result = await detectSliced(image, fakeDetector, { ...options, onProgress: (d, t) => progress.push([d, t]) });
    assert.deepStrictEqual(rows(result.boxes), objects.map((o) => o.box));
    assert.deepStrictEqual(Array.from(result.labels), [1, 2, 1]);
    // 1000×700 at 512/0.2: 3 × 2 tiles, in batches of 4.
    assert.deepStrictEqual(seen, [4, 2]);
    assert.deepStrictEqual(progress, [[4, 6], [6, 6]]);
    // With the whole image too: one more pass, counted in the progress; the same objects.
    seen.length = 0;
    const withFull = await detectSliced(image, fakeDetector, { ...options, fullImage: true });
    assert.deepStrictEqual(seen, [4, 2, 1]);
    assert.deepStrictEqual(rows(withFull.boxes), objects.map((o) => o.box));
    // maxDetections keeps the best.
    assert.strictEqual((await detectSliced(image, fakeDetector, { ...options, maxDetections: 2 })).scores.length, 2);
  });

  it('stops on an abort signal between batches', async () => {
    const controller = new AbortController();
    await assert.rejects(detectSliced(image, fakeDetector, { ...options, batchSize: 1, onProgress: () => controller.abort(), signal: controller.signal }), /abort/i);
  });
});
