// `ir-rcnn slice --annotations A --images DIR --out DIR --tile 512 [--overlap 0.2]
// [--min-area-ratio 0.3] [--empty-tile-rate 0.1] [--seed 0]`: a COCO dataset becomes a COCO
// dataset of tiles for sliced training (src/slice/dataset.ts). Prints what it wrote as JSON;
// progress goes to stderr.
import { sliceDataset } from '../slice/dataset';
import { UsageError, optNumber, optString, parseArgs, printJson } from './args';

const USAGE =
  'usage: ir-rcnn slice --annotations FILE --images DIR --out DIR --tile PX [--overlap 0.2] [--min-area-ratio 0.3] [--empty-tile-rate 0.1] [--seed 0]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['annotations', 'images', 'out', 'tile', 'overlap', 'min-area-ratio', 'empty-tile-rate', 'seed'], flags: ['help'] });
  if (args.options.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const annotations = optString(args, 'annotations');
  const images = optString(args, 'images');
  const out = optString(args, 'out');
  const size = optNumber(args, 'tile', { integer: true, min: 1 });
  if (!annotations || !images || !out || size === undefined) throw new UsageError(`--annotations, --images, --out and --tile are required; ${USAGE}`);
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'; ${USAGE}`);
  let reported = 0;
  const result = await sliceDataset({
    annotations,
    images,
    out,
    tile: { size, overlap: optNumber(args, 'overlap', { min: 0, max: 0.99 }) ?? 0.2 },
    minAreaRatio: optNumber(args, 'min-area-ratio', { min: 0, max: 1 }),
    emptyTileRate: optNumber(args, 'empty-tile-rate', { min: 0, max: 1 }),
    seed: optNumber(args, 'seed', { integer: true, min: 0 }),
    onProgress: (done, total) => {
      if (Date.now() - reported < 1000 && done < total) return;
      reported = Date.now();
      process.stderr.write(`slice: ${done}/${total} images\n`);
    },
  });
  await printJson(result);
}
