// Section "detect": Detector.detectPixels() with R50-FPN at 800 px (short side), plain Faster R-CNN
// and IR R-CNN, next to torchvision's fasterrcnn_resnet50_fpn on the same image and threads.
// torchvision's model is built as for pretrained weights (FrozenBatchNorm, 3 trainable stages),
// filled from a seed, and saved; we load that file, so both run the same weights and keep the same
// boxes. With random weights nearly every class score is ~1/91, so the score threshold is set
// (on the Python side) to let about 1,000 (box, class) pairs into the final NMS, as a trained
// model at 0.05 would; post-processing cost depends on that number.
import * as path from 'path';
import { Detector } from '../src/detector';
import { timeReference } from './compare';
import type { Section } from './context';
import { measure, row, type BenchRow } from './harness';
import { testImage } from './inputs';
import { MODELS, cocoConfig } from './models';

const CANDIDATES = 1000;
const MAX_DETS = 100;

export const detectSection: Section = async (context) => {
  const [minSize, maxSize] = context.quick ? [320, 533] : [800, 1333];
  const image = testImage(5, 640, 480);
  const plan = context.quick ? { warmup: 1, repeats: 2 } : { warmup: 1, repeats: 5 };
  const weights = path.join(context.scratch, 'fasterrcnn_resnet50_fpn_seeded.pth');
  context.log(`detect: torchvision fasterrcnn_resnet50_fpn, ${image.width}×${image.height} → short side ${minSize}`);
  const ref = await timeReference(context, 'detect', 'torchvision fasterrcnn_resnet50_fpn', {
    image: { data: image.data, shape: [image.height, image.width, 3] },
  }, { op: 'detect', device: context.device, image: 'image', seed: 0, minSize, maxSize, candidates: CANDIDATES, maxDets: MAX_DETS, weightsOut: weights }, plan);
  if (!ref) context.notice('detect: without the torchvision run the weights are our random init and the score threshold is the default 0.05');
  const scoreThreshold = ref ? (ref.answer.scoreThresh as number) : undefined;

  const rows: BenchRow[] = [];
  const medians: Record<string, number> = {};
  for (const { preset, label } of MODELS) {
    context.log(`detect: ours, ${label}`);
    const detector = await Detector.load({
      config: cocoConfig(preset, minSize, maxSize),
      weights: ref ? weights : undefined,
      // torchvision's file has no roi_heads.relation.*: the IR module keeps its own initialisation.
      allowMissing: true,
      device: context.device,
    });
    const options = { scoreThreshold, maxDetections: MAX_DETS };
    const boxes = (await detector.detectPixels([image], options))[0].detections.length;
    const stats = await measure(() => detector.detectPixels([image], options), plan);
    medians[label] = stats.medianMs;
    const extra: Record<string, number | string> = { boxes };
    if (ref && label === 'Faster R-CNN') extra['torchvision boxes'] = ref.answer.boxes as number;
    if (label === 'IR R-CNN' && medians['Faster R-CNN'] !== undefined)
      extra['IR module share'] = `${(((stats.medianMs - medians['Faster R-CNN']) / stats.medianMs) * 100).toFixed(1)}%`;
    rows.push(row('detect', `detect() R50-FPN ${label}, ${image.width}×${image.height} → ${minSize} px, 1 image`, stats, ref?.reference, { extra }));
  }
  return rows;
};
