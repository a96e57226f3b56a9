// Evaluation parameters with pycocotools' defaults (COCOeval.Params, iouType 'bbox'), plus the
// finer size buckets used for small-object work. Threshold values are computed the way numpy's
// linspace computes them, because comparisons against them must agree to the last bit.

/** A size bucket over box area (inclusive at both ends, as pycocotools compares). */
export interface AreaRange {
  name: string;
  min: number;
  max: number;
}

export interface EvalOptions {
  /** IoU thresholds; default .50:.05:.95. */
  iouThresholds?: number[];
  /** Detections kept per image and category; default [1, 10, 100]. Sorted ascending, as pycocotools does. */
  maxDets?: number[];
  /** Size buckets: a preset name or explicit ranges; default 'coco'. */
  areaRanges?: AreaRangePreset | AreaRange[];
}

export type AreaRangePreset = 'coco' | 'fine';

export interface EvalParams {
  iouThresholds: Float64Array;
  recallThresholds: Float64Array;
  maxDets: number[];
  areaRanges: AreaRange[];
}

/** numpy.linspace(start, stop, num): i * step + start, with the last value exactly `stop`. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}

const COCO_AREAS: AreaRange[] = [
  { name: 'all', min: 0, max: 1e10 },
  { name: 'small', min: 0, max: 32 ** 2 },
  { name: 'medium', min: 32 ** 2, max: 96 ** 2 },
  { name: 'large', min: 96 ** 2, max: 1e10 },
];

/**
 * 'coco': pycocotools' all/small/medium/large. 'fine': the same four (so the 12 summary stats keep
 * their meaning) plus `tiny` (area ≤ 16²) and `s16-32` (16² to 32²), which split COCO's small.
 */
export const AREA_PRESETS: Record<AreaRangePreset, AreaRange[]> = {
  coco: COCO_AREAS,
  fine: [...COCO_AREAS, { name: 'tiny', min: 0, max: 16 ** 2 }, { name: 's16-32', min: 16 ** 2, max: 32 ** 2 }],
};

/** Validates options and fills in pycocotools' defaults. Throws a one-line Error on bad input. */
export function resolveParams(options: EvalOptions = {}): EvalParams {
  const iouThresholds = options.iouThresholds
    ? Float64Array.from(checkedList(options.iouThresholds, 'iouThresholds', (v) => v >= 0 && v <= 1, 'in [0, 1]'))
    : linspace(0.5, 0.95, Math.round((0.95 - 0.5) / 0.05) + 1);
  const maxDets = options.maxDets
    ? checkedList(options.maxDets, 'maxDets', (v) => Number.isInteger(v) && v > 0, 'positive integers').sort((a, b) => a - b)
    : [1, 10, 100];
  let areaRanges: AreaRange[];
  const areas = options.areaRanges ?? 'coco';
  if (typeof areas === 'string') {
    if (!(areas in AREA_PRESETS)) {
      throw new Error(`evaluate: areaRanges: unknown preset '${areas}' (use ${Object.keys(AREA_PRESETS).join(' or ')})`);
    }
    areaRanges = AREA_PRESETS[areas];
  } else {
    if (!Array.isArray(areas) || areas.length === 0) throw new Error('evaluate: areaRanges must be a non-empty list');
    areaRanges = areas.map((r, i) => {
      if (typeof r?.name !== 'string' || !(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min <= r.max)) {
        throw new Error(`evaluate: areaRanges[${i}] must be { name, min, max } with finite min <= max`);
      }
      return { name: r.name, min: r.min, max: r.max };
    });
  }
  return { iouThresholds, recallThresholds: linspace(0, 1, Math.round(1 / 0.01) + 1), maxDets, areaRanges };
}

function checkedList(values: number[], what: string, ok: (v: number) => boolean, rule: string): number[] {
  if (!Array.isArray(values) || values.length === 0) throw new Error(`evaluate: ${what} must be a non-empty list`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !ok(v)) throw new Error(`evaluate: ${what}[${i}] must be ${rule}, got ${String(v)}`);
  });
  return [...values];
}
