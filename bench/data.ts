// Section "data": the training input pipeline on a generated set — sharp decodes JPEGs, resizes
// them as GeneralizedRCNNTransform would (short side 800, long side ≤ 1333), moves the boxes and
// groups images into batches of 2, with the loader's prefetching — as images per second.
import * as path from 'path';
import { loadCocoAnnotations } from '../src/data/coco';
import { createBatchLoader } from '../src/data/loader';
import { generateSyntheticDataset } from '../src/data/synthetic';
import type { Section } from './context';
import { measure, row } from './harness';

export const dataSection: Section = async (context) => {
  const [images, size] = context.quick ? [8, 320] : [64, 640];
  context.log(`data: generating ${images} images of ${size}×${size}`);
  const set = await generateSyntheticDataset({ out: path.join(context.scratch, 'synthetic'), images, valImages: 1, seed: 3, size });
  const ann = await loadCocoAnnotations(set.trainAnnotations);
  let decoded = 0;
  const epoch = async () => {
    decoded = 0;
    const loader = createBatchLoader(ann, set.trainImages, { batchSize: 2, minSize: 800, maxSize: 1333, flip: true, seed: 1, epochs: 1 });
    for await (const batch of loader) decoded += batch.images.length;
  };
  const stats = await measure(epoch, { warmup: 1, repeats: context.plan.repeats });
  const perSecond = (decoded / stats.medianMs) * 1000;
  return [
    row('data', `load an epoch: ${decoded} JPEGs ${size}×${size} → 800×800, batches of 2`, stats, undefined, {
      extra: { 'images/s': Math.round(perSecond * 10) / 10 },
    }),
  ];
};
