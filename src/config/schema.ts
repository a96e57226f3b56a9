// The config schema (zod): the model (torchvision's FasterRCNN arguments plus the IR module),
// the training recipe and the data pipeline. Presets and users' JSON files are validated by the
// same schema; every error names the field.
import { z } from 'zod';
import { solverSchema } from '../train/solver';
import { relationOptionsSchema } from './relation';

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.number().int().min(min).max(max);
const unit = () => z.number().min(0).max(1);
const positive = () => z.number().positive().refine(Number.isFinite, { message: 'must be finite' });

export const rpnSchema = z.strictObject({
  /** Proposals kept per FPN level before NMS (torchvision: 2000 train, 1000 test). */
  preNmsTopNTrain: int(1).default(2000),
  preNmsTopNTest: int(1).default(1000),
  /** Proposals kept per image after NMS (torchvision: 2000 train, 1000 test). */
  postNmsTopNTrain: int(1).default(2000),
  postNmsTopNTest: int(1).default(1000),
  nmsThreshold: unit().default(0.7),
  fgIouThreshold: unit().default(0.7),
  bgIouThreshold: unit().default(0.3),
  /** Anchors sampled per image for the RPN losses, and the positive share. */
  batchSizePerImage: int(1).default(256),
  positiveFraction: unit().default(0.5),
  /** Proposals scoring below this (after the sigmoid) are dropped before NMS (torchvision's rpn_score_thresh). */
  scoreThreshold: unit().default(0),
});

export const roiSchema = z.strictObject({
  fgIouThreshold: unit().default(0.5),
  bgIouThreshold: unit().default(0.5),
  /** RoIs sampled per image for the box head's losses (512), 25% positives. */
  batchSizePerImage: int(1).default(512),
  positiveFraction: unit().default(0.25),
  /** Detections: score threshold, per-class NMS, detections per image. */
  scoreThreshold: unit().default(0.05),
  nmsThreshold: unit().default(0.5),
  maxDetections: int(1).default(100),
  /** Width of TwoMLPHead (fc6, fc7) and so of the IR module's features: 1024. */
  representationSize: int(1).default(1024),
});

export const modelSchema = z
  .strictObject({
    /** ResNet depth of the body. */
    depth: z.union([z.literal(18), z.literal(34), z.literal(50), z.literal(101)], { error: 'expected 18, 34, 50 or 101' }).default(50),
    /** Classes including background (index 0). torchvision's COCO weights: 91. */
    numClasses: int(2).default(91),
    /**
     * The dataset category id of each class index (length numClasses, index 0 unused); absent:
     * the class index is the category id (torchvision's 91-class COCO layout).
     */
    categoryIds: z.array(int(0)).optional(),
    /** Backbone stages trained, from layer4 down to conv1 (torchvision's trainable_backbone_layers). */
    trainableLayers: int(0, 5).default(3),
    /** Resize: short side to minSize unless the long side would pass maxSize. */
    minSize: int(1).default(800),
    maxSize: int(1).default(1333),
    imageMean: z.array(z.number()).length(3).default([0.485, 0.456, 0.406]),
    imageStd: z.array(positive()).length(3).default([0.229, 0.224, 0.225]),
    /** Anchor size per level P2..P6 and the aspect ratios (h/w) at each. */
    anchorSizes: z.array(positive()).length(5).default([32, 64, 128, 256, 512]),
    aspectRatios: z.array(positive()).min(1).default([0.5, 1.0, 2.0]),
    rpn: rpnSchema.default(rpnSchema.parse({})),
    roi: roiSchema.default(roiSchema.parse({})),
    relation: relationOptionsSchema.default(relationOptionsSchema.parse({})),
  })
  .refine((m) => m.maxSize >= m.minSize, { message: 'must be >= minSize', path: ['maxSize'] })
  .refine((m) => m.categoryIds === undefined || m.categoryIds.length === m.numClasses, {
    message: 'expected one category id per class (numClasses entries)',
    path: ['categoryIds'],
  });

export const dataSchema = z.strictObject({
  /** Random horizontal flips in training. */
  horizontalFlip: z.boolean().default(true),
  /** Images decoded ahead of the model. */
  prefetch: int(0).default(4),
});

export const configSchema = z.strictObject({
  /** The preset or file this config came from (informational). */
  name: z.string().optional(),
  model: modelSchema.default(modelSchema.parse({})),
  train: solverSchema.default(solverSchema.parse({})),
  data: dataSchema.default(dataSchema.parse({})),
});

export type ModelConfig = z.output<typeof modelSchema>;
export type Config = z.output<typeof configSchema>;
/** A config as written: every field optional, nested sections partial. */
export type ConfigInput = z.input<typeof configSchema>;
