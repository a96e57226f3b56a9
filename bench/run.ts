// `npm run bench`: times the library section by section, next to torchvision in Python where there
// is a counterpart, and writes bench/results/latest.json and latest.md (the table is also printed).
//
//   node dist/bench/run.js [--quick] [--only ops,relation,...] [--device cpu|cuda] [--threads N]
//                          [--detect-batches 1,8] [--train-batches 2,8]
//                          [--out DIR] [--python PATH] [--no-python]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setNumThreads, torchInfo } from '../src/native';
import type { BenchContext, Section } from './context';
import { dataSection } from './data';
import { detectSection } from './detect';
import { evalSection } from './eval';
import { measurePeak } from './flops';
import { machineRecord, markdownTable, writeReport, type BenchRow, type Report } from './harness';
import { opsSection } from './ops';
import { Torchvision } from './python';
import { relationSection } from './relation';
import { trainSection } from './train_step';

const SECTIONS: Record<string, Section> = {
  ops: opsSection,
  relation: relationSection,
  detect: detectSection,
  train: trainSection,
  eval: evalSection,
  data: dataSection,
};

interface Options {
  quick: boolean;
  only: string[];
  device: 'cpu' | 'cuda';
  threads: number;
  batches: { detect: number[]; train: number[] };
  out: string;
  python: string;
  noPython: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    quick: false,
    only: Object.keys(SECTIONS),
    device: 'cpu',
    threads: os.cpus().length,
    batches: { detect: [1, 4], train: [2] },
    out: path.resolve(__dirname, '..', '..', 'bench', 'results'),
    python: process.env.IR_RCNN_BENCH_PYTHON ?? '/usr/bin/python3',
    noPython: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg}: expected a value`);
      return v;
    };
    if (arg === '--quick') options.quick = true;
    else if (arg === '--no-python') options.noPython = true;
    else if (arg === '--only') {
      options.only = value().split(',').filter(Boolean);
      const unknown = options.only.filter((s) => !(s in SECTIONS));
      if (unknown.length > 0 || options.only.length === 0)
        throw new UsageError(`--only: unknown section '${unknown[0] ?? ''}' (sections: ${Object.keys(SECTIONS).join(', ')})`);
    } else if (arg === '--device') {
      const device = value();
      if (device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device: expected cpu or cuda, got '${device}'`);
      options.device = device;
    } else if (arg === '--threads') {
      options.threads = Number(value());
      if (!Number.isInteger(options.threads) || options.threads < 1) throw new UsageError(`--threads: expected an integer >= 1`);
    } else if (arg === '--detect-batches' || arg === '--train-batches') {
      const sizes = value().split(',').map(Number);
      if (sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`${arg}: expected a comma-separated list of integers >= 1`);
      options.batches[arg === '--detect-batches' ? 'detect' : 'train'] = sizes;
    } else if (arg === '--out') options.out = path.resolve(value());
    else if (arg === '--python') options.python = value();
    else throw new UsageError(`unknown option '${arg}' (options: --quick --only --device --threads --detect-batches --train-batches --out --python --no-python)`);
  }
  return options;
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  if (options.device === 'cuda') {
    const info = torchInfo();
    if (!info.cudaKernels || !info.cudaAvailable)
      throw new UsageError(
        `--device cuda: ${!info.cudaKernels ? `this addon was built against a CPU-only LibTorch ${info.torchVersion}` : 'no CUDA device is visible'}; ` +
          'build with a CUDA LibTorch (LIBTORCH=...) on a machine with a GPU',
      );
  }
  setNumThreads(options.threads);
  const notices: string[] = [];
  const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
  const notice = (message: string) => {
    notices.push(message);
    log(`note: ${message}`);
  };
  const hostOnly = options.only.filter((s) => ['ops', 'relation', 'eval', 'data'].includes(s));
  if (options.device === 'cuda' && hostOnly.length > 0)
    notice(`--device cuda applies to detect and train; ${hostOnly.join(', ')} run on the CPU (their functions take and return host arrays)`);
  let torchvision: Torchvision | undefined;
  if (options.noPython) notice('--no-python: the torchvision comparisons are skipped');
  else {
    const found = await Torchvision.find(options.python, options.threads);
    if (typeof found === 'string') notice(found);
    else torchvision = found;
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-bench-'));
  const context: BenchContext = {
    quick: options.quick,
    device: options.device,
    threads: options.threads,
    batches: options.batches,
    plan: options.quick ? { warmup: 1, repeats: 3 } : { warmup: 2, repeats: 10 },
    torchvision,
    scratch,
    notice,
    log,
  };
  const rows: BenchRow[] = [];
  let failed = false;
  let peak: Report['peak'];
  try {
    // The share of the peak compares CPU work with a CPU rate; on CUDA the table keeps the GFLOP/s alone.
    if (options.device === 'cpu') peak = await measurePeak(context);
    for (const name of options.only) {
      try {
        rows.push(...(await SECTIONS[name](context)));
      } catch (error) {
        failed = true;
        notice(`section '${name}' failed: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }

  const report: Report = {
    date: new Date().toISOString(),
    options: { quick: options.quick, device: options.device, threads: options.threads, sections: options.only },
    machine: machineRecord(),
    ...(peak && { peak }),
    notices,
    rows,
  };
  if (torchvision) report.notices.unshift(`reference: torch ${torchvision.versions.torch}, torchvision ${torchvision.versions.torchvision} (${torchvision.python})`);
  const files = writeReport(options.out, report);
  process.stdout.write(markdownTable(report));
  log(`wrote ${files.json} and ${files.markdown}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`bench: ${(error as Error).message.split('\n')[0]}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);
