// `ir-rcnn detect IMAGE... --weights FILE [--config NAME|FILE] [--num-classes N]
//   [--score-thresh X] [--max-dets N] [--device cpu|cuda] [--batch-size N] [--allow-missing] [--allow-unexpected]
//   [--draw DIR [--categories FILE] [--draw-score-thresh X]]`
// Prints [{ "file", "detections": [{ "bbox": [x, y, w, h], "score", "category_id" }] }]. With
// --draw, also writes each image with its boxes (and, for IR models, the relation graph) to DIR,
// labelled with the category names of a COCO annotations file when --categories gives one.
import { loadCocoAnnotations } from '../data/coco';
import { Detector } from '../detector';
import { optNumber, optString, parseArgs, printJson, UsageError } from './args';

const USAGE =
  'usage: ir-rcnn detect IMAGE... --weights FILE [--config NAME|FILE] [--num-classes N] [--score-thresh X] [--max-dets N] [--device cpu|cuda] ' +
  '[--batch-size N] [--allow-missing] [--allow-unexpected] [--draw DIR [--categories FILE] [--draw-score-thresh X]]';

/** Category names by id from a COCO annotations file's categories. */
async function categoryNames(file: string): Promise<Record<number, string>> {
  const { categories } = await loadCocoAnnotations(file);
  return Object.fromEntries(Array.from(categories.ids, (id, i) => [id, categories.names[i]]));
}

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    values: ['weights', 'config', 'num-classes', 'score-thresh', 'max-dets', 'device', 'batch-size', 'draw', 'categories', 'draw-score-thresh'],
    flags: ['allow-missing', 'allow-unexpected'],
  });
  const weights = optString(args, 'weights');
  if (args.positional.length === 0) throw new UsageError(`no images given; ${USAGE}`);
  if (weights === undefined) throw new UsageError(`--weights is required; ${USAGE}`);
  const numClasses = optNumber(args, 'num-classes', { integer: true, min: 2 });
  const scoreThreshold = optNumber(args, 'score-thresh', { min: 0, max: 1 });
  const maxDetections = optNumber(args, 'max-dets', { integer: true, min: 0 });
  const batchSize = optNumber(args, 'batch-size', { integer: true, min: 1 });
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
  const results = await detector.detect(args.positional, {
    scoreThreshold,
    maxDetections,
    batchSize,
    draw,
    categoryNames: categories === undefined ? undefined : await categoryNames(categories),
    drawScoreThreshold,
    // The drawing shows an IR model's relation graph.
    returnGraph: draw !== undefined && detector.config.model.relation.enabled,
  });
  await printJson(
    results.map((result, i) => ({
      file: args.positional[i],
      detections: result.detections.map((d) => ({ bbox: d.bbox, score: d.score, category_id: d.categoryId })),
    })),
  );
}
