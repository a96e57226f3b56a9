// Parity with torchvision at the sizes users detect at: the seeded R50-FPN of model.test.ts with
// torchvision's default transform (short side 800, long side ≤ 1333) on full-size images of many
// shapes, one at a time and as a batch of mixed shapes. The reference is
// test/fixtures/make_full_size_fixtures.py's run of torchvision 0.14 on the committed images.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Detector } from '../../src/detector';
import { decodeRgb } from '../../src/image';
import { seededStateDict } from '../support/model_seeded_weights';
import { FIXTURES } from '../support/paths';
import { traceDetector } from '../../src/testing';
import type { ReferenceDetections as Dets } from '../support/reference_detections';

const FULL_SIZE = path.join(FIXTURES, 'full_size');

interface Case {
  images: string[];
  resizedSizes: [number, number][];
  batchShape: number[];
  detections: Dets[];
}

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Each torchvision detection must be matched by one of ours of the same class with IoU ≥ 0.99 and
 * |Δscore| ≤ 1e-3. Only a detection at the top-100 cut (its score within 1e-3 of the last kept
 * one) may be missing: float noise may put its near-tied neighbour in its place.
 */
function unmatched(ours: { boxes: Float32Array; scores: Float32Array; labels: Int32Array }, ref: Dets): number[] {
  const used = new Set<number>();
  const cut = Math.min(...ref.scores);
  const missing: number[] = [];
  ref.scores.forEach((score, i) => {
    let found = -1;
    for (let j = 0; j < ours.scores.length && found < 0; j++) {
      if (used.has(j) || ours.labels[j] !== ref.labels[i] || Math.abs(ours.scores[j] - score) > 1e-3) continue;
      if (iou(ours.boxes.subarray(4 * j, 4 * j + 4), ref.boxes[i]) >= 0.99) found = j;
    }
    if (found >= 0) used.add(found);
    else if (score - cut > 1e-3) missing.push(i);
  });
  return missing;
}

describe('model: torchvision parity on full-size images of many shapes (R50-FPN, 800/1333)', function () {
  this.timeout(600000);
  const reference = JSON.parse(fs.readFileSync(path.join(FULL_SIZE, 'reference.json'), 'utf8')) as { cases: Case[]; minSize: number; maxSize: number };
  let detector: Detector;

  before(async function () {
    detector = await Detector.load({ config: { model: { minSize: reference.minSize, maxSize: reference.maxSize } } });
    await detector.loadState(seededStateDict(detector.stateShapes()));
  });

  for (const c of reference.cases) {
    const what = c.images.length === 1 ? path.basename(c.images[0], '.png') : `batch of ${c.images.join(', ')}`;
    it(`${what}: torchvision's resized size and its 100 detections`, async function () {
      const images = await Promise.all(c.images.map((name) => decodeRgb(path.join(FULL_SIZE, name))));
      const trace = await traceDetector(detector, images, { scoreThreshold: 0 });
      assert.deepEqual(trace.imageSizes, c.resizedSizes, 'resized sizes');
      assert.deepEqual(trace.batchShape, c.batchShape, 'padded batch');
      c.detections.forEach((ref, i) => {
        const got = trace.detections[i];
        assert.equal(got.scores.data.length, ref.scores.length, `${c.images[i]}: number of detections`);
        const missing = unmatched({ boxes: got.boxes.data, scores: got.scores.data, labels: got.labels.data }, ref);
        assert.deepEqual(missing, [], `${c.images[i]}: torchvision's detections without a match in ours`);
      });
    });
  }

  it('detects on images too thin for torchvision (4000×3, 3×4000, 1×1): every side keeps at least 1 px', async function () {
    for (const [height, width] of [[4000, 3], [3, 4000], [1, 1]]) {
      const pixels = { data: new Uint8Array(height * width * 3).fill(128), height, width };
      const trace = await traceDetector(detector, [pixels], { scoreThreshold: 0 });
      const [rh, rw] = trace.imageSizes[0];
      assert.ok(rh >= 1 && rw >= 1 && Math.max(rh, rw) <= reference.maxSize, `${height}×${width} resized to ${rh}×${rw}`);
      // Boxes are clipped in the resized image and scaled back in float32, as torchvision does, so
      // a box at the border may pass it by float rounding (4000.0002 for 4000).
      const boxes = trace.detections[0].boxes.data;
      for (let i = 0; i < boxes.length; i += 4) {
        const [x1, y1, x2, y2] = boxes.subarray(i, i + 4);
        assert.ok(x1 >= 0 && y1 >= 0 && x2 <= width + 1e-3 && y2 <= height + 1e-3, `${height}×${width}: box ${[x1, y1, x2, y2]} outside the image`);
      }
    }
  });
});
