// Every detection op against torchvision 0.14 on the committed fixtures (forward to 1e-5,
// gradients to 1e-4); the largest difference per op is printed at the end.
import * as assert from 'assert';
import * as ops from '../../src/ops';
import type { FloatTensor } from '../../src/types';
import { expectClose, expectEqualIndices, f64, i32, largestDifferences, loadCases } from '../support/ops_fixtures';

const FORWARD = 1e-5;
const GRADIENT = 1e-4;

describe('ops vs torchvision', () => {
  after(() => {
    const summary = [...largestDifferences()].map(([op, d]) => `${op} ${d.toExponential(1)}`).join(', ');
    console.log(`      largest difference from torchvision: ${summary}`);
  });

  describe('roiAlign', () => {
    for (const c of loadCases('roi_align')) {
      it(`${c.name}: forward and gradient`, async () => {
        const input = f64(c.input);
        const rois = f64(c.rois);
        const common = { spatialScale: c.spatialScale, samplingRatio: c.samplingRatio, aligned: c.aligned };
        const output = await ops.roiAlign({ input, rois, outputSize: c.outputSize, ...common });
        expectClose('roiAlign', output, f64(c.output), FORWARD, `roiAlign ${c.name}`);
        assert.strictEqual(output.data.constructor, input.data.constructor, 'the result keeps the input dtype');
        const grad = await ops.roiAlignBackward({
          gradOutput: f64(c.gradOutput),
          rois,
          inputShape: input.shape as [number, number, number, number],
          ...common,
        });
        expectClose('roiAlignBackward', grad, f64(c.gradInput), GRADIENT, `roiAlignBackward ${c.name}`);
      });
    }
  });

  describe('multiScaleRoiAlign', () => {
    for (const c of loadCases('multi_scale_roi_align')) {
      it(c.name, async () => {
        const output = await ops.multiScaleRoiAlign({
          features: c.features.map(f64),
          boxes: c.boxes.map(f64),
          imageSizes: c.imageSizes,
          outputSize: c.outputSize,
          samplingRatio: c.samplingRatio,
          canonicalScale: c.canonicalScale,
          canonicalLevel: c.canonicalLevel,
        });
        expectClose('multiScaleRoiAlign', output, f64(c.output), FORWARD, `multiScaleRoiAlign ${c.name}`);
        const boxes = c.boxes.map(f64);
        const all = { data: Float32Array.from(boxes.flatMap((b: FloatTensor) => Array.from(b.data))), shape: [0, 4] };
        all.shape[0] = all.data.length / 4;
        const levels = await ops.assignFpnLevels({ boxes: all, kMin: 2, kMax: 5, canonicalScale: c.canonicalScale, canonicalLevel: c.canonicalLevel });
        expectEqualIndices('assignFpnLevels', levels, i32(c.levels), `levels ${c.name}`);
      });
    }
    it('the canonical-scale-16 case spreads boxes over all four levels', () => {
      const c = loadCases('multi_scale_roi_align').find((x) => x.canonicalScale === 16);
      assert.deepStrictEqual([...new Set(i32(c.levels).data)].sort(), [0, 1, 2, 3]);
    });
  });

  describe('assignFpnLevels', () => {
    for (const c of loadCases('fpn_levels')) {
      it(`${c.name}, boxes on the level boundaries`, async () => {
        const levels = await ops.assignFpnLevels({ boxes: f64(c.boxes), kMin: c.kMin, kMax: c.kMax });
        expectEqualIndices('assignFpnLevels', levels, i32(c.levels), `levels ${c.name}`);
      });
    }
  });

  describe('nms and batchedNms', () => {
    for (const c of loadCases('nms')) {
      it(c.name, async () => {
        const args = { boxes: f64(c.boxes), scores: f64(c.scores), iouThreshold: c.iouThreshold };
        expectEqualIndices('nms', await ops.nms(args), i32(c.keep), `nms ${c.name}`);
        const batched = await ops.batchedNms({ ...args, idxs: i32(c.idxs) });
        expectEqualIndices('batchedNms', batched, i32(c.batchedKeep), `batchedNms ${c.name}`);
      });
    }
    it('accepts BigInt64Array class indices', async () => {
      const c = loadCases('nms')[1];
      const idxs = i32(c.idxs);
      const keep = await ops.batchedNms({
        boxes: f64(c.boxes),
        scores: f64(c.scores),
        iouThreshold: c.iouThreshold,
        idxs: { data: BigInt64Array.from(idxs.data, (v) => BigInt(v)), shape: idxs.shape },
      });
      expectEqualIndices('batchedNms', keep, i32(c.batchedKeep));
    });
  });

  describe('box ops', () => {
    for (const c of loadCases('box_iou')) {
      it(`boxIou ${c.name}`, async () => {
        expectClose('boxIou', await ops.boxIou({ boxes1: f64(c.boxes1), boxes2: f64(c.boxes2) }), f64(c.iou), FORWARD);
      });
    }
    for (const c of loadCases('box_coder')) {
      it(`encodeBoxes/decodeBoxes ${c.name}`, async () => {
        const targets = await ops.encodeBoxes({ reference: f64(c.reference), proposals: f64(c.proposals), weights: c.weights });
        expectClose('encodeBoxes', targets, f64(c.targets), FORWARD);
        const decoded = await ops.decodeBoxes({ deltas: f64(c.deltas), boxes: f64(c.proposals), weights: c.weights });
        // Clamped deltas give coordinates in the thousands, where float32's spacing exceeds 1e-5.
        expectClose('decodeBoxes', decoded, f64(c.decoded), FORWARD, `decodeBoxes ${c.name}`, true);
      });
    }
    for (const c of loadCases('clip_boxes')) {
      it(`clipBoxes ${c.name}`, async () => {
        expectClose('clipBoxes', await ops.clipBoxes({ boxes: f64(c.boxes), height: c.height, width: c.width }), f64(c.clipped), 0);
      });
    }
    for (const c of loadCases('remove_small_boxes')) {
      it(`removeSmallBoxes ${c.name}`, async () => {
        expectEqualIndices('removeSmallBoxes', await ops.removeSmallBoxes({ boxes: f64(c.boxes), minSize: c.minSize }), i32(c.keep));
      });
    }
  });
});
