// `ir-rcnn detect IMAGE... --weights FILE [--config NAME|FILE] [--num-classes N]
//   [--score-thresh X] [--max-dets N] [--device cpu|cuda] [--batch-size N] [--allow-missing] [--allow-unexpected]`
// Prints [{ "file", "detections": [{ "bbox": [x, y, w, h], "score", "category_id" }] }].
import { Detector } from '../detector';
import { optNumber, optString, parseArgs, printJson, UsageError } from './args';

const USAGE = 'usage: ir-rcnn detect IMAGE... --weights FILE [--config NAME|FILE] [--num-classes N] [--score-thresh X] [--max-dets N] [--device cpu|cuda] [--batch-size N] [--allow-missing] [--allow-unexpected]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['weights', 'config', 'num-classes', 'score-thresh', 'max-dets', 'device', 'batch-size'], flags: ['allow-missing', 'allow-unexpected'] });
  const weights = optString(args, 'weights');
  if (args.positional.length === 0) throw new UsageError(`no images given; ${USAGE}`);
  if (weights === undefined) throw new UsageError(`--weights is required; ${USAGE}`);
  const numClasses = optNumber(args, 'num-classes', { integer: true, min: 2 });
  const scoreThreshold = optNumber(args, 'score-thresh', { min: 0, max: 1 });
  const maxDetections = optNumber(args, 'max-dets', { integer: true, min: 0 });
  const batchSize = optNumber(args, 'batch-size', { integer: true, min: 1 });
  const detector = await Detector.load({
    config: optString(args, 'config') ?? 'faster_rcnn_r50_fpn_coco',
    weights,
    device: optString(args, 'device'),
    numClasses,
    allowMissing: args.options.has('allow-missing'),
    allowUnexpected: args.options.has('allow-unexpected'),
  });
  const results = await detector.detect(args.positional, { scoreThreshold, maxDetections, batchSize });
  await printJson(
    results.map((result, i) => ({
      file: args.positional[i],
      detections: result.detections.map((d) => ({ bbox: d.bbox, score: d.score, category_id: d.categoryId })),
    })),
  );
}
