// The model configs the detect and train sections share: the COCO R50-FPN presets with
// torchvision's 91 class indices (so that torchvision's seeded weights load as they are).
import { presets, type ConfigInput } from '../src/config';

export const MODELS = [
  { preset: 'faster_rcnn_r50_fpn_coco', label: 'Faster R-CNN' },
  { preset: 'ir_rcnn_r50_fpn_coco', label: 'IR R-CNN' },
] as const;

export function cocoConfig(preset: string, minSize: number, maxSize: number): ConfigInput {
  const { categoryIds: _dropped, ...model } = presets[preset].model ?? {};
  return { ...presets[preset], model: { ...model, numClasses: 91, minSize, maxSize } };
}
