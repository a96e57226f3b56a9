// `ir-rcnn train --config NAME|FILE --annotations A --images DIR --out DIR ...`: trains a detector
// (see USAGE). With --nproc-per-node N > 1 (or --nnodes > 1) it starts the workers itself, one
// process per rank; a worker (or a process under torchrun) trains its rank.
import * as os from 'os';
import { setNumThreads } from '../native';
import { train } from '../train/train';
import { exitWithLauncher, launchWorkers, WORKER_ENV } from '../train/launch';
import { UsageError, optNumber, optString, parseArgs, printJson } from './args';

const USAGE =
  'usage: ir-rcnn train --config NAME|FILE --annotations FILE --images DIR --out DIR [--val-annotations FILE --val-images DIR] ' +
  '[--iterations N] [--resume] [--weights FILE [--allow-unexpected]] [--device cpu|cuda] [--nproc-per-node N] [--nnodes M --node-rank R --master-addr A --master-port P]';

const LAUNCH_OPTIONS = ['nproc-per-node', 'nnodes', 'node-rank', 'master-addr', 'master-port'];

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, {
    values: ['config', 'annotations', 'images', 'out', 'val-annotations', 'val-images', 'iterations', 'weights', 'device', ...LAUNCH_OPTIONS],
    flags: ['resume', 'allow-unexpected', 'help'],
  });
  if (args.options.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'; ${USAGE}`);
  const config = optString(args, 'config');
  const annotations = optString(args, 'annotations');
  const images = optString(args, 'images');
  const outDir = optString(args, 'out');
  if (!config || !annotations || !images || !outDir) throw new UsageError(`--config, --annotations, --images and --out are required; ${USAGE}`);
  const valAnnotations = optString(args, 'val-annotations');
  const valImages = optString(args, 'val-images');
  if ((valAnnotations === undefined) !== (valImages === undefined)) throw new UsageError('--val-annotations and --val-images go together');
  const iterations = optNumber(args, 'iterations', { integer: true, min: 1 });
  const nproc = optNumber(args, 'nproc-per-node', { integer: true, min: 1, max: 1024 }) ?? 1;
  const nnodes = optNumber(args, 'nnodes', { integer: true, min: 1, max: 65536 }) ?? 1;
  const nodeRank = optNumber(args, 'node-rank', { integer: true, min: 0, max: nnodes - 1 }) ?? 0;
  const masterPort = optNumber(args, 'master-port', { integer: true, min: 1, max: 65535 }) ?? 29500;
  const masterAddr = optString(args, 'master-addr') ?? '127.0.0.1';
  if (nnodes > 1 && !args.options.has('master-addr')) throw new UsageError('--nnodes > 1 needs --master-addr (the address of node 0)');

  if ((nproc > 1 || nnodes > 1) && process.env[WORKER_ENV] === undefined) {
    // Each worker runs this same command without the launch options.
    const workerArgs: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      const name = argv[i].replace(/^--/, '').split('=')[0];
      if (argv[i].startsWith('--') && LAUNCH_OPTIONS.includes(name)) {
        if (!argv[i].includes('=')) i++;
        continue;
      }
      workerArgs.push(argv[i]);
    }
    await launchWorkers({ module: process.argv[1], args: ['train', ...workerArgs], nprocPerNode: nproc, nnodes, nodeRank, masterAddr, masterPort });
    return;
  }

  exitWithLauncher();
  // Workers on one machine share its cores (torchrun's OMP_NUM_THREADS, spelled out).
  const localWorldSize = Number(process.env.LOCAL_WORLD_SIZE ?? '1');
  if (Number.isInteger(localWorldSize) && localWorldSize > 1) setNumThreads(Math.max(1, Math.floor(os.cpus().length / localWorldSize)));

  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nstopping after this iteration (a checkpoint is written); press Ctrl-C again to quit now\n');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const result = await train({
      config,
      data: { annotations, images },
      val: valAnnotations && valImages ? { annotations: valAnnotations, images: valImages } : undefined,
      outDir,
      iterations,
      resume: args.options.has('resume'),
      weights: optString(args, 'weights'),
      allowUnexpected: args.options.has('allow-unexpected'),
      device: optString(args, 'device'),
      signal: controller.signal,
      progressStream: process.stderr,
      onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
    });
    if (result.checkpoint !== undefined) await printJson(result);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
