// The demo's models: one small CPU recipe (the small presets made faster still) and the rows of the
// paper's Table 3 built from it: the Faster R-CNN baseline, the semantic graph only, the spatial
// graph only, and both (IR R-CNN). Every row shares the recipe, the schedule and the seed; only the
// IR module differs, so the table isolates what the relation graph adds.
import { resolveConfig, type Config, type ConfigInput } from '../config';
import { relationOptionsSchema, type RelationOptionsInput } from '../config/relation';

export interface DemoVariant {
  /** Folder and JSON name. */
  key: string;
  /** Row label of the table. */
  label: string;
  /** Legend name in the charts (their legends are narrow). */
  short: string;
  /** The preset it starts from. */
  preset: 'faster_rcnn_r18_fpn_small' | 'ir_rcnn_r18_fpn_small';
  semantic: boolean;
  spatial: boolean;
  /** IR module options changed from the small preset's (`--relation`); none for the Table 3 rows. */
  relation?: RelationOptionsInput;
}

export const BASELINE: DemoVariant = { key: 'baseline', label: 'Baseline (Faster R-CNN)', short: 'Faster R-CNN', preset: 'faster_rcnn_r18_fpn_small', semantic: false, spatial: false };
export const SEMANTIC: DemoVariant = { key: 'semantic', label: '+ Semantic', short: '+ Semantic', preset: 'ir_rcnn_r18_fpn_small', semantic: true, spatial: false };
export const SPATIAL: DemoVariant = { key: 'spatial', label: '+ Spatial', short: '+ Spatial', preset: 'ir_rcnn_r18_fpn_small', semantic: false, spatial: true };
export const IR_RCNN: DemoVariant = { key: 'ir_rcnn', label: '+ Semantic + Spatial (IR R-CNN)', short: 'IR R-CNN', preset: 'ir_rcnn_r18_fpn_small', semantic: true, spatial: true };

/**
 * The table's rows in the paper's order; the single-graph rows only with the ablation; then one
 * IR R-CNN row for each setting of `--relation` (the search for settings at which the module helps).
 */
export function demoVariants(ablation: boolean, relationSettings: RelationOptionsInput[] = []): DemoVariant[] {
  const rows = ablation ? [BASELINE, SEMANTIC, SPATIAL, IR_RCNN] : [BASELINE, IR_RCNN];
  return [...rows, ...relationSettings.map(relationVariant)];
}

function relationVariant(relation: RelationOptionsInput): DemoVariant {
  const name = Object.entries(relation).map(([key, value]) => `${key}=${value}`).join(', ');
  return { ...IR_RCNN, key: `ir_rcnn-${name.replace(/[^A-Za-z0-9.=-]+/g, '_')}`, label: `IR R-CNN, ${name}`, short: `IR ${name}`, relation };
}

/** Options that `--relation` may not change: the rows' graphs are the ablation's business. */
const FIXED_RELATION_OPTIONS = ['enabled', 'semantic', 'spatial'];

/**
 * `--relation 'propagation=adjacency;k=64,auxLossWeight=0'`: settings separated by ';', each a
 * comma-separated list of IR module options (src/config/relation.ts) changed from the preset's.
 * Values are numbers, true/false or words; each setting is validated as the config would be.
 */
export function parseRelationSettings(text: string): RelationOptionsInput[] {
  return text.split(';').map((setting) => {
    const changes: Record<string, unknown> = {};
    for (const pair of setting.split(',')) {
      const match = /^\s*([A-Za-z]+)\s*=\s*([^=\s]+)\s*$/.exec(pair);
      if (!match) throw new Error(`--relation: expected key=value, got '${pair.trim()}'`);
      const [, key, raw] = match;
      if (FIXED_RELATION_OPTIONS.includes(key)) throw new Error(`--relation: ${key} is fixed by the table's rows (use --ablation for the single graphs)`);
      if (key in changes) throw new Error(`--relation: ${key} given twice in '${setting.trim()}'`);
      changes[key] = raw === 'true' ? true : raw === 'false' ? false : raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
    }
    const checked = relationOptionsSchema.safeParse(changes);
    if (!checked.success) throw new Error(`--relation: ${checked.error.issues[0].message}`);
    return changes as RelationOptionsInput;
  });
}

export interface DemoSchedule {
  iterations: number;
  /** Training seed (weights, RoI sampling, data order). */
  seed: number;
  /** Side of the synthetic images; the network sees them at this size. */
  imageSize: number;
  /** Validation every this many iterations (default 0: none). */
  evalEvery?: number;
}

/**
 * Changes to the small presets so that training from scratch on two cores learns something in
 * minutes: the images at their own size (no upscaling), anchors one octave smaller again so the
 * 6–22 px objects have anchors that fit, fewer proposals and RoIs, a shorter warm-up and a higher
 * lr with the gradient norm clipped (no pretrained weights, no batch statistics to steady it).
 */
export function demoOverrides(schedule: DemoSchedule): ConfigInput {
  const { iterations, seed, imageSize } = schedule;
  return {
    model: {
      minSize: imageSize,
      maxSize: imageSize,
      anchorSizes: [8, 16, 32, 64, 128],
      rpn: { preNmsTopNTrain: 600, postNmsTopNTrain: 300, preNmsTopNTest: 300, postNmsTopNTest: 200 },
      roi: { batchSizePerImage: 128, maxDetections: 100 },
    },
    train: {
      iterations,
      imagesPerBatch: 2,
      lr: 0.02,
      warmupIters: Math.min(100, Math.floor(iterations / 5)),
      warmupFactor: 0.01,
      // Step down for the last quarter of the run, as the paper's schedule does near its end.
      milestones: [Math.max(1, Math.floor(iterations * 0.75))],
      clipGradNorm: 10,
      checkpointEvery: iterations,
      keepCheckpoints: 1,
      logEvery: Math.max(1, Math.min(50, Math.floor(iterations / 10))),
      evalEvery: schedule.evalEvery ?? 0,
      seed,
    },
    data: { horizontalFlip: true, prefetch: 2 },
  };
}

/** The complete, schema-validated config of one table row. */
export function variantConfig(variant: DemoVariant, schedule: DemoSchedule): Config {
  const overrides = demoOverrides(schedule);
  const relation = variant.preset === 'ir_rcnn_r18_fpn_small' ? { relation: { ...variant.relation, semantic: variant.semantic, spatial: variant.spatial } } : {};
  return resolveConfig(variant.preset, { ...overrides, name: `demo_${variant.key}`, model: { ...overrides.model, ...relation } });
}
