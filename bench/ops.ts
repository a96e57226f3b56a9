// Section "ops": RoIAlign forward and backward on a P2-sized FPN map, NMS — each next to
// torchvision's CPU kernel on the same inputs. Our calls include the JS boundary: the input is
// copied into a tensor (and the backward's [B, C, H, W] gradient copied out); the "1 box" row
// shows what that copy alone costs.
import * as ops from '../src/ops';
import { timeReference } from './compare';
import type { Section } from './context';
import { ROI_ALIGN_FLOPS, roiAlignFlops } from './flops';
import { measure, row, type BenchRow } from './harness';
import { clusteredBoxes, randomFloats, randomRois, randomScores } from './inputs';

const OUTPUT = 7;
const SCALE = 0.25;
const SAMPLING = 2;

export const opsSection: Section = async (context) => {
  const rows: BenchRow[] = [];
  const { plan } = context;
  const [b, c, h, w] = context.quick ? [2, 64, 50, 68] : [2, 256, 200, 272];
  const roiCounts = context.quick ? [128] : [512, 1000];
  const nmsCounts = context.quick ? [1000] : [1000, 10000];
  const input = randomFloats(1, [b, c, h, w]);
  const shape = `[${b},${c},${h},${w}]`;
  const imageW = w / SCALE;
  const imageH = h / SCALE;
  const common = { spatialScale: SCALE, samplingRatio: SAMPLING, aligned: false };

  const oneBox = randomRois(2, 1, b, imageW, imageH);
  const copy = await measure(() => ops.roiAlign({ input, rois: oneBox, outputSize: OUTPUT, ...common }), plan);
  rows.push(row('ops', `roiAlign ${shape}, 1 box`, copy, undefined, { note: 'the cost of passing the input from JS' }));

  for (const k of roiCounts) {
    const rois = randomRois(3 + k, k, b, imageW, imageH);
    context.log(`ops: roiAlign ${k} boxes`);
    const forward = await measure(() => ops.roiAlign({ input, rois, outputSize: OUTPUT, ...common }), plan);
    const forwardRef = await timeReference(context, `roi_align_${k}`, 'torchvision.ops.roi_align', { input, rois }, {
      op: 'roi_align', input: 'input', rois: 'rois', outputSize: OUTPUT, ...common,
    }, plan);
    rows.push(
      row('ops', `roiAlign forward ${shape}, ${k} boxes`, forward, forwardRef?.reference, {
        flops: roiAlignFlops(k, c, OUTPUT, SAMPLING),
        note: ROI_ALIGN_FLOPS,
      }),
    );

    const gradOutput = randomFloats(5 + k, [k, c, OUTPUT, OUTPUT]);
    const backward = await measure(
      () => ops.roiAlignBackward({ gradOutput, rois, inputShape: [b, c, h, w], ...common }),
      plan,
    );
    const backwardRef = await timeReference(context, `roi_align_backward_${k}`, 'torchvision _roi_align_backward', { gradOutput, rois }, {
      op: 'roi_align_backward', gradOutput: 'gradOutput', rois: 'rois', outputSize: OUTPUT, inputShape: [b, c, h, w], ...common,
    }, plan);
    rows.push(row('ops', `roiAlign backward ${shape}, ${k} boxes`, backward, backwardRef?.reference, { note: 'includes returning the input-sized gradient' }));
  }

  for (const n of nmsCounts) {
    context.log(`ops: nms ${n} boxes`);
    const boxes = clusteredBoxes(7 + n, n, n / 10, 1088, 800);
    const scores = randomScores(11 + n, n);
    const kept = (await ops.nms({ boxes, scores, iouThreshold: 0.7 })).data.length;
    const ours = await measure(() => ops.nms({ boxes, scores, iouThreshold: 0.7 }), plan);
    const ref = await timeReference(context, `nms_${n}`, 'torchvision.ops.nms', { boxes, scores }, {
      op: 'nms', boxes: 'boxes', scores: 'scores', iouThreshold: 0.7,
    }, plan);
    rows.push(row('ops', `nms ${n} clustered boxes, IoU 0.7`, ours, ref?.reference, { extra: { kept } }));
  }
  return rows;
};
