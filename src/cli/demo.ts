// `ir-rcnn demo [--out DIR] [--ablation] [--seeds N] [--images N] [--val-images M] [--iterations N]
// [--image-size PX] [--relation SETTINGS] [--bootstrap N] [--eval-every N] [--kernels portable|native] [--threads N]`:
// trains the Faster R-CNN baseline and IR R-CNN on the synthetic small-object set, evaluates both
// and prints the paper's Table 3 with the differences' bootstrap intervals (see src/demo).
// Progress goes to stderr, the table to stdout, everything else into the report folder.
import { DEMO_DEFAULTS, runDemo } from '../demo/experiment';
import { chooseKernels, PORTABLE_THREADS } from '../demo/kernels';
import { LARGE_DEMO_DEFAULTS, runLargeDemo } from '../demo/large';
import { parseRelationSettings } from '../demo/preset';
import { setNumThreads } from '../native';
import { UsageError, optNumber, optString, parseArgs } from './args';

const USAGE =
  'usage: ir-rcnn demo [--out DIR] [--ablation] [--seeds N] [--images N] [--val-images M] [--iterations N] ' +
  '[--image-size PX] [--relation \'key=value[,key=value][;...]\'] [--data-seed S] [--draw N] [--bootstrap N] [--eval-every N] [--kernels portable|native] [--threads N] ' +
  '| --large [--out DIR] [--images N] [--val-images M] [--iterations N] [--tile PX] [--scene-size PX]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    values: ['out', 'seeds', 'images', 'val-images', 'iterations', 'image-size', 'relation', 'data-seed', 'draw', 'bootstrap', 'eval-every', 'kernels', 'threads', 'tile', 'scene-size'],
    flags: ['ablation', 'help', 'large'],
  });
  if (args.options.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'; ${USAGE}`);
  const threads = optNumber(args, 'threads', { integer: true, min: 1, max: 1024 });
  if (args.options.has('large')) {
    if (threads !== undefined) setNumThreads(threads);
    return runLarge(args);
  }
  const options = {
    out: optString(args, 'out') ?? DEMO_DEFAULTS.out,
    images: optNumber(args, 'images', { integer: true, min: 1 }) ?? DEMO_DEFAULTS.images,
    valImages: optNumber(args, 'val-images', { integer: true, min: 1 }) ?? DEMO_DEFAULTS.valImages,
    iterations: optNumber(args, 'iterations', { integer: true, min: 1 }) ?? DEMO_DEFAULTS.iterations,
    seeds: optNumber(args, 'seeds', { integer: true, min: 1, max: 100 }) ?? DEMO_DEFAULTS.seeds,
    ablation: args.options.has('ablation'),
    relationSettings: relationSettings(optString(args, 'relation')),
    imageSize: optNumber(args, 'image-size', { integer: true, min: 64, max: 2048 }) ?? DEMO_DEFAULTS.imageSize,
    dataSeed: optNumber(args, 'data-seed', { integer: true, min: 0 }) ?? DEMO_DEFAULTS.dataSeed,
    drawImages: optNumber(args, 'draw', { integer: true, min: 0, max: 1000 }) ?? DEMO_DEFAULTS.drawImages,
    resamples: optNumber(args, 'bootstrap', { integer: true, min: 100, max: 100000 }) ?? DEMO_DEFAULTS.resamples,
    evalEvery: optNumber(args, 'eval-every', { integer: true, min: 0 }) ?? DEMO_DEFAULTS.evalEvery,
  };
  if (options.out.trim() === '') throw new UsageError('--out: expected a folder');
  const mode = optString(args, 'kernels') ?? DEMO_DEFAULTS.kernels;
  if (mode !== 'portable' && mode !== 'native') throw new UsageError(`option --kernels: expected portable or native, got '${mode}'`);
  // Before anything loads LibTorch: its libraries read these variables when they load.
  const kernels = chooseKernels(mode);
  const pinned = threads ?? (kernels.mode === 'portable' ? PORTABLE_THREADS : undefined);
  if (pinned !== undefined) setNumThreads(pinned);
  const log = (line: string): void => void process.stderr.write(`demo: ${line}\n`);
  const result = await runDemo({ ...options, kernels, log, progressStream: process.stderr });
  log(`done in ${(result.wallSeconds / 60).toFixed(1)} min; report in ${options.out} (report.html, metrics.json, table.md, loss_curves.png, ap_by_size.png, val_images/)`);
  process.stdout.write(`${result.table}\n\n${result.note}\n`);
}

/** `demo --large`: sliced training and detection on large synthetic scenes (src/demo/large.ts). */
async function runLarge(args: ReturnType<typeof parseArgs>): Promise<void> {
  const smallOnly = ['seeds', 'image-size', 'draw', 'ablation', 'relation', 'bootstrap', 'eval-every', 'kernels'].find((name) => args.options.has(name));
  if (smallOnly) throw new UsageError(`option --${smallOnly} is not one of --large's; ${USAGE}`);
  const log = (line: string): void => void process.stderr.write(`demo --large: ${line}\n`);
  const result = await runLargeDemo({
    out: optString(args, 'out') ?? LARGE_DEMO_DEFAULTS.out,
    sceneSize: optNumber(args, 'scene-size', { integer: true, min: 256, max: 4096 }) ?? LARGE_DEMO_DEFAULTS.sceneSize,
    images: optNumber(args, 'images', { integer: true, min: 1 }) ?? LARGE_DEMO_DEFAULTS.images,
    valImages: optNumber(args, 'val-images', { integer: true, min: 1 }) ?? LARGE_DEMO_DEFAULTS.valImages,
    tile: optNumber(args, 'tile', { integer: true, min: 64 }) ?? LARGE_DEMO_DEFAULTS.tile,
    overlap: LARGE_DEMO_DEFAULTS.overlap,
    iterations: optNumber(args, 'iterations', { integer: true, min: 1 }) ?? LARGE_DEMO_DEFAULTS.iterations,
    dataSeed: optNumber(args, 'data-seed', { integer: true, min: 0 }) ?? LARGE_DEMO_DEFAULTS.dataSeed,
    log,
  });
  log(`done in ${(result.wallSeconds / 60).toFixed(1)} min; report in ${result.options.out} (large.md, large.json)`);
  process.stdout.write(`${result.table}\n`);
}

function relationSettings(text: string | undefined) {
  if (text === undefined) return DEMO_DEFAULTS.relationSettings;
  try {
    return parseRelationSettings(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
