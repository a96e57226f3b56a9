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
import { peakGpuMemory, row, summarize, timeInterleaved, type BenchRow } from './harness';
import { testImage } from './inputs';
import { MODELS, cocoConfig } from './models';

const CANDIDATES = 1000;
const MAX_DETS = 100;

export const detectSection: Section = async (context) => {
  const [minSize, maxSize] = context.quick ? [320, 533] : [800, 1333];
  const image = testImage(5, 640, 480);
  const plan = context.quick ? { warmup: 1, repeats: 2 } : { warmup: 1, repeats: 5 };
  const weights = path.join(context.scratch, 'fasterrcnn_resnet50_fpn_seeded.pth');
  const rows: BenchRow[] = [];
  let detectors: Detector[] | undefined;
  for (const batch of context.batches.detect) {
    context.log(`detect: torchvision fasterrcnn_resnet50_fpn, ${batch} × ${image.width}×${image.height} → short side ${minSize}`);
    const ref = await timeReference(context, 'detect', 'torchvision fasterrcnn_resnet50_fpn', {
      image: { data: image.data, shape: [image.height, image.width, 3] },
    }, { op: 'detect', device: context.device, image: 'image', batch, seed: 0, minSize, maxSize, candidates: CANDIDATES, maxDets: MAX_DETS, weightsOut: weights }, plan);
    if (!ref) context.notice('detect: without the torchvision run the weights are our random init and the score threshold is the default 0.05');
    const scoreThreshold = ref ? (ref.answer.scoreThreshold as number) : undefined;

    // Both models loaded (once, from the first run's weights), then timed in alternation: the IR
    // module's share is the median of the paired differences, which a slow spell of the machine
    // does not bias.
    const options = { scoreThreshold, maxDetections: MAX_DETS };
    if (!detectors) {
      detectors = [];
      for (const { preset, label } of MODELS) {
        context.log(`detect: ours, ${label}`);
        detectors.push(
          await Detector.load({
            config: cocoConfig(preset, minSize, maxSize),
            weights: ref ? weights : undefined,
            // torchvision's file has no roi_heads.relation.*: the IR module keeps its own initialisation.
            allowMissing: true,
            device: context.device,
          }),
        );
      }
    }
    const images = Array.from({ length: batch }, () => image);
    const runs = detectors.map((d) => () => d.detectPixels(images, options));
    const boxes = await Promise.all(detectors.map(async (d) => (await d.detectPixels([image], options))[0].detections.length));
    const peaks = await peakGpuMemory(context, runs);
    const samples = await timeInterleaved(runs, plan);
    const [plain, relation] = samples.map(summarize);
    const share = summarize(samples[1].map((ms, i) => ms - samples[0][i])).medianMs / relation.medianMs;
    const name = (label: string) =>
      `detect() R50-FPN ${label}, ${image.width}×${image.height} → ${minSize} px, ${batch} image${batch > 1 ? 's' : ''}`;
    const memory = (k: number) => ({
      ...(peaks && { 'peak GPU MiB': peaks[k] }),
      ...(ref?.answer.peakMiB !== undefined && { 'torchvision peak GPU MiB': ref.answer.peakMiB as number }),
    });
    rows.push(
      row('detect', name(MODELS[0].label), plain, ref?.reference, {
        extra: { boxes: boxes[0], ...(ref && { 'torchvision boxes': ref.answer.boxes as number }), ...memory(0) },
      }),
      row('detect', name(MODELS[1].label), relation, ref?.reference, {
        extra: { boxes: boxes[1], 'IR module share': `${(share * 100).toFixed(1)}%`, ...memory(1) },
      }),
    );
  }
  return rows;
};
