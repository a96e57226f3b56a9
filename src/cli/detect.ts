// `ir-rcnn detect IMAGE... --weights FILE [--config NAME|FILE] [--num-classes N]
//   [--score-thresh X] [--max-dets N] [--device cpu|cuda] [--batch-size N] [--allow-missing] [--allow-unexpected]
//   [--tile PX [--tile-overlap R] [--no-full-image] [--merge nms|nmm] [--match-metric iou|ios]
//   [--match-threshold X] [--class-agnostic] [--relation-scope tile|image]]
//   [--draw DIR [--categories FILE] [--draw-score-thresh X]]`
// Prints [{ "file", "detections": [{ "bbox": [x, y, w, h], "score", "category_id" }] }]. With
// --tile (sliced detection of large images) a progress line per image goes to stderr. With
// --draw, also writes each image with its boxes (and, for IR models, the relation graph) to DIR,
// labelled with the category names of a COCO annotations file when --categories gives one.
import { loadCocoAnnotations } from '../data/coco';
import { Detector, type DetectOptions } from '../detector';
import { optNumber, optString, parseArgs, printJson, UsageError } from './args';

const USAGE =
  'usage: ir-rcnn detect IMAGE... --weights FILE [--config NAME|FILE] [--num-classes N] [--score-thresh X] [--max-dets N] ' +
  '[--device cpu|cuda] [--batch-size N] [--allow-missing] [--allow-unexpected] [--tile PX [--tile-overlap R] [--no-full-image] ' +
  '[--merge nms|nmm] [--match-metric iou|ios] [--match-threshold X] [--class-agnostic] [--relation-scope tile|image]] ' +
  '[--draw DIR [--categories FILE] [--draw-score-thresh X]]';

const SLICING_VALUES = ['tile-overlap', 'merge', 'match-metric', 'match-threshold', 'relation-scope'];
const SLICING_FLAGS = ['no-full-image', 'class-agnostic'];

/** Category names by id from a COCO annotations file's categories. */
async function categoryNames(file: string): Promise<Record<number, string>> {
  const { categories } = await loadCocoAnnotations(file);
  return Object.fromEntries(Array.from(categories.ids, (id, i) => [id, categories.names[i]]));
}

/** `value` when it is one of `choices`, else a usage error naming the option. */
function choice<T extends string>(value: string | undefined, option: string, choices: readonly T[]): T | undefined {
  if (value === undefined || (choices as readonly string[]).includes(value)) return value as T | undefined;
  throw new UsageError(`option --${option}: expected ${choices.join(' or ')}, got '${value}'`);
}

/** The sliced-detection options of the command line (none without --tile). */
function slicingOptions(args: ReturnType<typeof parseArgs>): DetectOptions {
  const size = optNumber(args, 'tile', { integer: true, min: 1 });
  if (size === undefined) {
    const stray = [...SLICING_VALUES, ...SLICING_FLAGS].find((name) => args.options.has(name));
    if (stray) throw new UsageError(`option --${stray} needs --tile; ${USAGE}`);
    return {};
  }
  return {
    tiles: { size, overlap: optNumber(args, 'tile-overlap', { min: 0, max: 0.99 }) },
    fullImage: !args.options.has('no-full-image'),
    merge: choice(optString(args, 'merge'), 'merge', ['nms', 'nmm'] as const),
    matchMetric: choice(optString(args, 'match-metric'), 'match-metric', ['iou', 'ios'] as const),
    matchThreshold: optNumber(args, 'match-threshold', { min: 0, max: 1 }),
    classAgnostic: args.options.has('class-agnostic'),
    relationScope: choice(optString(args, 'relation-scope'), 'relation-scope', ['tile', 'image'] as const),
    onProgress: ({ image, done, total }) => {
      if (done === total) process.stderr.write(`detect: ${args.positional[image]}: ${total} tiles\n`);
    },
  };
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    values: ['weights', 'config', 'num-classes', 'score-thresh', 'max-dets', 'device', 'batch-size', 'tile', ...SLICING_VALUES, 'draw', 'categories', 'draw-score-thresh'],
    flags: ['allow-missing', 'allow-unexpected', ...SLICING_FLAGS],
  });
  const weights = optString(args, 'weights');
  if (args.positional.length === 0) throw new UsageError(`no images given; ${USAGE}`);
  if (weights === undefined) throw new UsageError(`--weights is required; ${USAGE}`);
  const numClasses = optNumber(args, 'num-classes', { integer: true, min: 2 });
  const scoreThreshold = optNumber(args, 'score-thresh', { min: 0, max: 1 });
  const maxDetections = optNumber(args, 'max-dets', { integer: true, min: 0 });
  const batchSize = optNumber(args, 'batch-size', { integer: true, min: 1 });
  const slicing = slicingOptions(args);
  const draw = optString(args, 'draw');
  const categories = optString(args, 'categories');
  const drawScoreThreshold = optNumber(args, 'draw-score-thresh', { min: 0, max: 1 });
  if (draw === undefined && (categories !== undefined || drawScoreThreshold !== undefined)) {
    throw new UsageError(`--categories and --draw-score-thresh only apply with --draw; ${USAGE}`);
  }
  const detector = await Detector.load({
    config: optString(args, 'config') ?? 'faster_rcnn_r50_fpn_coco',
    weights,
    device: optString(args, 'device'),
    numClasses,
    allowMissing: args.options.has('allow-missing'),
    allowUnexpected: args.options.has('allow-unexpected'),
  });
  // The drawing shows an IR model's relation graph, where there is one graph per image (no tiles, or relationScope 'image').
  const oneGraph = slicing.tiles === undefined || slicing.relationScope === 'image';
  const results = await detector.detect(args.positional, {
    scoreThreshold,
    maxDetections,
    batchSize,
    ...slicing,
    draw,
    categoryNames: categories === undefined ? undefined : await categoryNames(categories),
    drawScoreThreshold,
    returnGraph: draw !== undefined && detector.config.model.relation.enabled && oneGraph,
  });
  await printJson(
    results.map((result, i) => ({
      file: args.positional[i],
      detections: result.detections.map((d) => ({ bbox: d.bbox, score: d.score, category_id: d.categoryId })),
    })),
  );
}
