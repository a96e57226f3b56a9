// `ir-rcnn synth --out DIR --images N [--val-images M] [--seed S] [--size PX]`: writes the
// synthetic small-object set (JPEG files plus COCO JSON, train and val) and prints where, as JSON.
import { generateSyntheticDataset } from '../data/synthetic';
import { UsageError, optNumber, optString, parseArgs, printJson } from './args';

const USAGE = 'usage: ir-rcnn synth --out DIR --images N [--val-images M] [--seed S] [--size PX]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['out', 'images', 'val-images', 'seed', 'size'], flags: ['help'] });
  if (args.options.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'; ${USAGE}`);
  const out = optString(args, 'out');
  const images = optNumber(args, 'images', { integer: true, min: 1 });
  if (!out || images === undefined) throw new UsageError(`--out and --images are required; ${USAGE}`);
  const dataset = await generateSyntheticDataset({
    out,
    images,
    valImages: optNumber(args, 'val-images', { integer: true, min: 0 }),
    seed: optNumber(args, 'seed', { integer: true, min: 0, max: 4294967295 }),
    size: optNumber(args, 'size', { integer: true, min: 64, max: 4096 }),
  });
  await printJson(dataset);
}
