// Section "train": one training step (a batch of 2 images, SGD with momentum and weight decay),
// plain Faster R-CNN and IR R-CNN, next to torchvision's fasterrcnn_resnet50_fpn train step on the
// same images, targets, starting weights and threads: forward with losses, backward, update.
import * as path from 'path';
import { resolveConfig } from '../src/config';
import { NativeTrainer } from '../src/train/native_trainer';
import { readStateDict } from '../src/weights';
import { timeReference } from './compare';
import type { Section } from './context';
import { peakGpuMemory, row, summarize, timeInterleaved, type BenchRow } from './harness';
import { testImage, trainTarget } from './inputs';
import { MODELS, cocoConfig } from './models';
import type { Tensor } from '../src/types';

const TRAIN_FLOPS = "FLOPs ≈ 3 × the forward pass's (its convolutions and linear layers, with the step's sampled RoIs): backward ≈ 2 × forward";

// The paper's lr 0.02 as its schedule starts, at the warm-up's factor 1/1000 (torchvision's recipe
// too), on both sides: the steps timed are the first few, and at 0.02 itself seeded, untrained
// weights diverge to NaN within two steps, which would time NaN arithmetic and empty samplings.
const SOLVER = { lr: 0.02 / 1000, momentum: 0.9, weightDecay: 1e-4 };

export const trainSection: Section = async (context) => {
  const [minSize, maxSize] = context.quick ? [320, 533] : [800, 1333];
  const plan = context.quick ? { warmup: 1, repeats: 2 } : { warmup: 1, repeats: 5 };
  const weights = path.join(context.scratch, 'fasterrcnn_resnet50_fpn_train_seeded.pth');
  const rows: BenchRow[] = [];
  // Built once, from the first reference run's weights, then stepped in alternation for every
  // batch size, so that a slow spell of the machine falls on both alike.
  let trainers: NativeTrainer[] | undefined;
  try {
    for (const batch of context.batches.train) {
      const images = Array.from({ length: batch }, (_, i) => testImage(8 + i, 640, 480));
      const targets = images.map((im, i) => trainTarget(30 + i, im.width, im.height));
      const inputs: Record<string, Tensor> = {};
      images.forEach((im, i) => {
        inputs[`image${i}`] = { data: im.data, shape: [im.height, im.width, 3] };
        inputs[`boxes${i}`] = { data: targets[i].boxes, shape: [targets[i].labels.length, 4] };
        inputs[`labels${i}`] = { data: targets[i].labels, shape: [targets[i].labels.length] };
      });
      const names = (prefix: string) => images.map((_, i) => `${prefix}${i}`);
      context.log(`train: torchvision train step, ${batch} images → short side ${minSize}`);
      const ref = await timeReference(context, 'train_step', 'torchvision fasterrcnn_resnet50_fpn', inputs, {
        op: 'train_step', device: context.device, images: names('image'), boxes: names('boxes'), labels: names('labels'),
        seed: 0, minSize, maxSize, weightsOut: weights, ...SOLVER,
      }, plan);
      if (!trainers) {
        const initialWeights = ref ? Object.fromEntries(await readStateDict(weights)) : undefined;
        trainers = [];
        for (const { preset, label } of MODELS) {
          context.log(`train: ours, ${label}`);
          trainers.push(
            await NativeTrainer.create({
              model: 'detector',
              modelConfig: resolveConfig(cocoConfig(preset, minSize, maxSize)).model,
              initialWeights,
              numClasses: 91,
              ...SOLVER,
              warmupFactor: 1,
              warmupIters: 0,
              milestones: [],
              gamma: 0.1,
              clipGradNorm: 0,
              amp: false,
              device: context.device,
              seed: 0,
            }),
          );
        }
      }
      const last = trainers.map(() => ({ loss: NaN, finite: true }));
      const steps = trainers.map((trainer, k) => async () => {
        const result = await trainer.step([{ images, targets }]);
        last[k].loss = result.losses.loss;
        last[k].finite &&= result.finite;
      });
      const peaks = await peakGpuMemory(context, steps);
      const samples = await timeInterleaved(steps, plan);
      rows.push(
        ...MODELS.map(({ label }, k) => {
          const extra: Record<string, number | string> = { 'last loss': last[k].loss.toFixed(3) };
          if (!last[k].finite) extra['non-finite steps'] = 'yes';
          if (ref && k === 0) extra['torchvision last loss'] = typeof ref.answer.loss === 'number' ? ref.answer.loss.toFixed(3) : 'non-finite';
          if (peaks) extra['peak GPU MiB'] = peaks[k];
          if (ref?.answer.peakMiB !== undefined) extra['torchvision peak GPU MiB'] = ref.answer.peakMiB as number;
          // Counted on torchvision's model, which is our plain Faster R-CNN; the IR module's work is not counted.
          const flops = ref && k === 0 ? { flops: 3 * (ref.answer.forwardFlops as number), note: TRAIN_FLOPS } : {};
          return row('train', `train step R50-FPN ${label}, ${batch} images 640×480 → ${minSize} px`, summarize(samples[k]), ref?.reference, { extra, ...flops });
        }),
      );
    }
    return rows;
  } finally {
    for (const trainer of trainers ?? []) await trainer.dispose();
  }
};
