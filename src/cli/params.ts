// `ir-rcnn params --config NAME|FILE [--num-classes N]`: prints { "total": n, "relation": n },
// the parameter count as torchvision counts it (FrozenBatchNorm statistics are buffers).
import { Detector } from '../detector';
import { optNumber, optString, parseArgs, printJson, UsageError } from './args';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['config', 'num-classes'] });
  if (args.positional.length > 0) throw new UsageError(`unexpected argument '${args.positional[0]}'`);
  const config = optString(args, 'config');
  if (config === undefined) throw new UsageError('--config is required; usage: ir-rcnn params --config NAME|FILE [--num-classes N]');
  const numClasses = optNumber(args, 'num-classes', { integer: true, min: 2 });
  const { total, relation } = (await Detector.load({ config, numClasses })).parameterCount();
  await printJson({ total, relation });
}
