// The Python side of the comparisons: bench/torchvision_bench.py run with /usr/bin/python3 (torch
// and torchvision on the same LibTorch) in a child process with our thread count. Inputs cross as
// raw little-endian files plus a JSON index, so both sides time exactly the same numbers.
import * as fs from 'fs';
import * as path from 'path';
import { summarize, type Plan, type Stats } from './harness';
import { measureProcess, runProcess, type MeasuredProcess } from './process';
import type { Tensor } from '../src/types';

const SCRIPT = path.resolve(__dirname, '..', '..', 'bench', 'torchvision_bench.py');

const DTYPES = new Map<Function, string>([
  [Float32Array, 'float32'],
  [Float64Array, 'float64'],
  [Int32Array, 'int32'],
  [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'],
]);

/** Writes each tensor as <name>.bin and an index.json of { name: { file, dtype, shape } } into dir. */
export function writeInputs(dir: string, tensors: Record<string, Tensor>): void {
  fs.mkdirSync(dir, { recursive: true });
  const index: Record<string, { file: string; dtype: string; shape: number[] }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = DTYPES.get(t.data.constructor);
    if (!dtype) throw new Error(`bench inputs: ${name} has an unsupported array type`);
    const file = `${name}.bin`;
    fs.writeFileSync(path.join(dir, file), new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    index[name] = { file, dtype, shape: t.shape };
  }
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify(index));
}

const TIMEOUT_MS = 600_000;

function pythonEnv(threads: number): NodeJS.ProcessEnv {
  return { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
}

export class Torchvision {
  private constructor(
    readonly python: string,
    readonly versions: { torch: string; torchvision: string },
    private readonly threads: number,
  ) {}

  /** The runner, or the reason there is none (no such interpreter, or no torchvision in it). */
  static async find(python: string, threads: number): Promise<Torchvision | string> {
    if (!fs.existsSync(python)) return `${python} not found; the torchvision comparisons are skipped`;
    try {
      const { stdout } = await runProcess(path.basename(python), python, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], {
        env: pythonEnv(threads),
        timeoutMs: 60_000,
      });
      const [torch, torchvision] = stdout.trim().split(/\s+/);
      return new Torchvision(python, { torch, torchvision }, threads);
    } catch {
      return `${python} has no torchvision; the torchvision comparisons are skipped (our timings are kept)`;
    }
  }

  /**
   * Runs one job of torchvision_bench.py: `job` is written as job.json into `dir` (next to the
   * inputs written by writeInputs) and the script's JSON answer is returned.
   */
  async run<R>(dir: string, job: object): Promise<R> {
    return (await this.measure<R>(dir, job)).answer;
  }

  /** run(), and the script's whole process: its wall time and peak RSS. */
  async measure<R>(dir: string, job: object): Promise<{ answer: R; process: MeasuredProcess }> {
    fs.mkdirSync(dir, { recursive: true });
    const jobFile = path.join(dir, 'job.json');
    fs.writeFileSync(jobFile, JSON.stringify({ ...job, threads: this.threads }));
    const label = `${path.basename(this.python)} ${path.basename(SCRIPT)}`;
    const run = await measureProcess(label, this.python, [SCRIPT, jobFile], { env: pythonEnv(this.threads), timeoutMs: TIMEOUT_MS });
    const last = run.stdout.trim().split('\n').slice(-1)[0];
    try {
      return { answer: JSON.parse(last) as R, process: run };
    } catch {
      throw new Error(`torchvision_bench.py printed no JSON result (last line: ${last.slice(0, 200)})`);
    }
  }

  /** Times `job.op` on the inputs in `dir` with `plan`; the answer's other fields come along. */
  async time(dir: string, job: { op: string } & Record<string, unknown>, plan: Plan): Promise<{ stats: Stats; answer: Record<string, unknown> }> {
    const answer = await this.run<{ samples: number[] } & Record<string, unknown>>(dir, { ...job, ...plan, inputs: dir });
    return { stats: summarize(answer.samples), answer };
  }
}
