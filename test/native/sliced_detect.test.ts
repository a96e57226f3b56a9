// Sliced detection through the Detector: tiles' detections land in original-image pixels (equal
// to detecting each tile alone and shifting), an image smaller than a tile is detected as it is,
// 1-pixel-wide images work, relationScope 'image' gathers the tiles' proposals into one graph,
// progress and cancellation, and bad options fail in one line.
import * as assert from 'assert';
import sharp from 'sharp';
import { Detector, type ImageResult } from '../../src/detector';
import { isIrRcnnError } from '../../src/errors';
import { cropTile } from '../../src/slice/detect';
import type { RgbImage } from '../../src/types';
import { seededStateDict } from '../support/model_seeded_weights';

const TINY = { model: { depth: 18 as const, numClasses: 5, minSize: 96, maxSize: 128, roi: { representationSize: 32 } } };
const IR_TINY = { model: { ...TINY.model, relation: { enabled: true, k: 8 } } };

/** A w × h PNG of smooth colour gradients with a few bright squares. */
async function testImage(width: number, height: number): Promise<{ png: Buffer; pixels: RgbImage }> {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const square = (x % 97 < 20 && y % 83 < 20) ? 200 : 0;
      data.set([(x * 255) / width, (y * 255) / height, square], (y * width + x) * 3);
    }
  const png = await sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
  return { png, pixels: { data, width, height } };
}

/** Both lists hold the same detections, boxes within 1e-3 px (float32 sums of offsets), in any order. */
function assertSameDetections(got: ImageResult, expected: ImageResult): void {
  assert.strictEqual(got.detections.length, expected.detections.length);
  const left = [...got.detections];
  for (const e of expected.detections) {
    const i = left.findIndex((d) => d.label === e.label && d.score === e.score && d.bbox.every((v, k) => Math.abs(v - e.bbox[k]) <= 1e-3));
    assert.ok(i >= 0, `no match for ${JSON.stringify(e)}`);
    left.splice(i, 1);
  }
}

describe('detect with tiles (sliced detection)', function () {
  let detector: Detector;
  let ir: Detector;
  before(async function () {
    detector = await Detector.load({ config: TINY });
    await detector.loadState(seededStateDict(detector.stateShapes()));
    ir = await Detector.load({ config: IR_TINY });
    await ir.loadState(seededStateDict(ir.stateShapes()));
  });
  after(async () => {
    await detector.dispose();
    await ir.dispose();
  });

  it('gives each tile\'s detections in original-image pixels: the same as detecting each tile alone, shifted', async () => {
    const { png, pixels } = await testImage(1000, 400);
    // Tiles of 512 without overlap: x 0 and 488 (the last flush with the edge), one row.
    const keepAll = { scoreThreshold: 0.01, merge: 'nms' as const, matchMetric: 'iou' as const, matchThreshold: 1, fullImage: false };
    const [sliced] = await detector.detect([png], { tiles: { size: 512, overlap: 0 }, maxDetections: 1000, ...keepAll });
    const expected: ImageResult = { detections: [] };
    for (const x of [0, 488]) {
      const [alone] = await detector.detectPixels([cropTile(pixels, { x, y: 0, width: 512, height: 400 })], { scoreThreshold: 0.01 });
      for (const d of alone.detections) expected.detections.push({ ...d, bbox: [d.bbox[0] + x, d.bbox[1], d.bbox[2], d.bbox[3]] });
    }
    assert.ok(expected.detections.length > 10, `${expected.detections.length} detections`);
    assertSameDetections(sliced, expected);
  });

  it('detects an image smaller than a tile, and a 1-pixel-wide image, as they are', async () => {
    const { png } = await testImage(200, 150);
    const options = { scoreThreshold: 0.01, merge: 'nms' as const, matchMetric: 'iou' as const, matchThreshold: 0.5, fullImage: false };
    const [plain] = await detector.detect([png], { scoreThreshold: 0.01 });
    const [sliced] = await detector.detect([png], { tiles: { size: 512 }, ...options });
    // One tile, the whole image; the model's own per-class NMS at 0.5 leaves the merge nothing to do.
    assertSameDetections(sliced, plain);
    const thin = (await testImage(1, 1500)).png;
    const [result] = await detector.detect([thin], { tiles: { size: 256, overlap: 0.25 }, scoreThreshold: 0 });
    assert.ok(result.detections.every((d) => d.bbox[0] >= 0 && d.bbox[0] + d.bbox[2] <= 1 + 1e-4 && d.bbox[1] + d.bbox[3] <= 1500 + 1e-3));
  });

  it("relationScope 'image': one graph over every tile's proposals, boxes inside the image, progress per pass", async () => {
    const { png } = await testImage(900, 700);
    const progress: number[][] = [];
    const [result] = await ir.detect([png], {
      tiles: { size: 400, overlap: 0.2 },
      relationScope: 'image',
      returnGraph: true,
      scoreThreshold: 0,
      maxDetections: 300,
      batchSize: 2,
      onProgress: ({ image, done, total }) => progress.push([image, done, total]),
    });
    // 900 × 700 at 400 / 0.2 (step 320): x 0, 320, 500 × y 0, 300 = 6 tiles in passes of 2, then the whole image.
    assert.deepStrictEqual(progress, [[0, 2, 7], [0, 4, 7], [0, 6, 7], [0, 7, 7]]);
    assert.ok(result.detections.length > 0 && result.detections.length <= 300);
    for (const d of result.detections) {
      const [x, y, w, h] = d.bbox;
      assert.ok(x >= -1e-3 && y >= -1e-3 && x + w <= 900 + 1e-3 && y + h <= 700 + 1e-3, JSON.stringify(d.bbox));
    }
    const graph = result.graph;
    assert.ok(graph && graph.src.length > 0, 'a graph');
    const n = result.detections.length;
    assert.ok(graph.src.every((s) => s >= 0 && s < n) && graph.dst.every((t) => t >= 0 && t < n));
    // Edges join detections far apart: ones that no single 400-px tile holds together.
    const centre = (i: number) => [result.detections[i].bbox[0] + result.detections[i].bbox[2] / 2, result.detections[i].bbox[1] + result.detections[i].bbox[3] / 2];
    const spans = Array.from(graph.src, (s, e) => Math.abs(centre(s)[0] - centre(graph.dst[e])[0]));
    assert.ok(Math.max(...spans) > 400, `longest edge spans ${Math.max(...spans)} px`);
  });

  it('stops when its signal aborts, and rejects bad options in one line', async () => {
    const { png } = await testImage(900, 700);
    const controller = new AbortController();
    await assert.rejects(
      detector.detect([png], { tiles: { size: 200 }, onProgress: () => controller.abort(), signal: controller.signal }),
      (e: Error) => e.name === 'AbortError',
    );
    const bad = (options: object, pattern: RegExp) =>
      assert.rejects(detector.detect([png], options), (e: unknown) => isIrRcnnError(e, 'ERR_INVALID_ARGUMENT') && pattern.test((e as Error).message));
    await bad({ tiles: { size: 0 } }, /detect: tiles\.size: expected an integer >= 1, got 0/);
    await bad({ tiles: { size: 64, overlap: 1 } }, /detect: tiles\.overlap: expected a number in \[0, 1\), got 1/);
    await bad({ tiles: { size: 64 }, merge: 'union' }, /detect: merge must be 'nms' or 'nmm', got 'union'/);
    await bad({ tiles: { size: 64 }, returnGraph: true }, /returnGraph with tiles needs relationScope 'image'/);
  });
});
