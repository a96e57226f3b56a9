// The bench's measuring and reporting: warm-up then timed runs (medians, not means, because a
// loaded machine adds long outliers), the machine record, and the results written as JSON (for
// tools) and as a Markdown table (for the README).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cudaPeakMemory, torchInfo, type TorchInfo } from '../src/native';
import type { Peak } from './flops';

export interface Stats {
  runs: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
}

/** Median, minimum and 90th percentile (nearest rank) of run times in milliseconds. */
export function summarize(samplesMs: number[]): Stats {
  if (samplesMs.length === 0) throw new Error('summarize: no samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 === 1 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { runs: n, medianMs: median, minMs: sorted[0], p90Ms: sorted[Math.ceil(0.9 * n) - 1] };
}

export interface Plan {
  warmup: number;
  repeats: number;
}

/**
 * Warms each of `fns` up plan.warmup times, then runs plan.repeats rounds of one timed run of each
 * in turn, so that a slow spell of the machine falls on all of them alike. Returns each one's run
 * times in ms.
 */
export async function timeInterleaved(fns: (() => unknown)[], plan: Plan): Promise<number[][]> {
  for (const fn of fns) for (let i = 0; i < plan.warmup; i++) await fn();
  const samples: number[][] = fns.map(() => []);
  for (let i = 0; i < plan.repeats; i++) {
    for (const [k, fn] of fns.entries()) {
      const start = process.hrtime.bigint();
      await fn();
      samples[k].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return samples;
}

/** Runs `fn` plan.warmup times untimed, then plan.repeats times timed; returns the run times in ms. */
export async function timeRuns(fn: () => unknown, plan: Plan): Promise<number[]> {
  return (await timeInterleaved([fn], plan))[0];
}

export async function measure(fn: () => unknown, plan: Plan): Promise<Stats> {
  return summarize(await timeRuns(fn, plan));
}

/**
 * On CUDA, the allocator's peak GPU memory in MiB during one run of each of `fns`, measured one at
 * a time (as torch.cuda.max_memory_allocated(); tensors already resident, such as other loaded
 * models' weights, count too). Undefined on the CPU.
 */
export async function peakGpuMemory(context: { device: string }, fns: (() => unknown)[]): Promise<number[] | undefined> {
  if (context.device === 'cpu') return undefined;
  const peaks: number[] = [];
  for (const fn of fns) {
    cudaPeakMemory(context.device, true);
    await fn();
    peaks.push(Math.round(cudaPeakMemory(context.device) / 2 ** 20));
  }
  return peaks;
}

/** One line of the table: our timing, and the reference's when one ran. */
export interface BenchRow {
  section: string;
  name: string;
  ours: Stats;
  /** What we compare against (e.g. 'torchvision.ops.roi_align'), and its timing. */
  reference?: { name: string; stats: Stats };
  /** ours.medianMs / reference.medianMs: below 1 means we are faster. */
  ratio?: number;
  /** Floating-point operations of one call of ours, where the work is known (see bench/flops.ts). */
  flops?: number;
  /** Throughput, memory, box counts and the like. */
  extra?: Record<string, number | string>;
  note?: string;
}

export function row(section: string, name: string, ours: Stats, reference?: { name: string; stats: Stats }, more: Partial<BenchRow> = {}): BenchRow {
  const ratio = reference ? ours.medianMs / reference.stats.medianMs : undefined;
  return { section, name, ours, ...(reference && { reference, ratio }), ...more };
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  torch: Omit<TorchInfo, 'buildConfig' | 'parallelInfo'>;
  /** The parallel backend and library lines of at::get_parallel_info(). */
  parallel: string[];
  /** From at::show_config(): BLAS_INFO, LAPACK_INFO, CPU capability, MKL-DNN, USE_CUDA. */
  build: string[];
  /** The BLAS libraries this process has mapped (what BLAS_INFO=generic resolves to). */
  blasLibraries: string[];
  loadAverage: number[];
}

export function machineRecord(): Machine {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const { buildConfig = '', parallelInfo, ...torch } = torchInfo();
  const settings = /Build settings: (.*)/.exec(buildConfig)?.[1].split(', ') ?? [];
  const maps = fs.existsSync('/proc/self/maps') ? fs.readFileSync('/proc/self/maps', 'utf8') : '';
  const libraries = new Set(maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '').filter((file) => /blas|blis|mkl/i.test(path.basename(file))));
  return {
    cpu: model.trim(),
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    torch,
    parallel: parallelInfo
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/^(ATen\/Parallel|Environment variables|\w+_NUM_THREADS|at::get_num|omp_get|std::thread)/.test(line)),
    build: [
      ...buildConfig.split('\n').filter((line) => /CPU capability|MKL-DNN|LAPACK is/.test(line)).map((line) => line.replace(/^\s*-\s*/, '')),
      ...settings.filter((s) => /^(BLAS_INFO|LAPACK_INFO|USE_CUDA|USE_MKLDNN)=/.test(s)),
    ],
    blasLibraries: [...libraries],
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

export interface Report {
  date: string;
  options: { quick: boolean; device: string; threads: number; sections: string[] };
  machine: Machine;
  /** The machine's float32 rate that the rows' GFLOP/s are a share of (absent without Python, or on CUDA). */
  peak?: Peak;
  /** Why a comparison or a section did not run. */
  notices: string[];
  rows: BenchRow[];
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function markdownTable(report: Report): string {
  const m = report.machine;
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${report.options.threads} intra-op threads; ` +
      `LibTorch ${m.torch.torchVersion} (${[...m.parallel.filter((l) => /backend/.test(l)), ...m.build.filter((l) => /BLAS_INFO|CPU capability/.test(l))].join(', ')}` +
      `${m.blasLibraries.length ? `, BLAS ${m.blasLibraries.map((f) => path.basename(f)).join(' ')}` : ''}); ` +
      `device ${report.options.device}; Node ${m.node}${report.options.quick ? '; --quick' : ''}; load ${m.loadAverage.join(' ')}.` +
      (report.peak ? ` Float32 peak ${report.peak.gflops.toFixed(0)} GFLOP/s (${report.peak.how}).` : ''),
    '',
    '| section | case | ours median (min–p90) ms | reference | reference median ms | ours/ref | GFLOP | GFLOP/s (of peak) | notes |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of report.rows) {
    const extra = Object.entries(r.extra ?? {}).map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(4) : v}`);
    const notes = [...extra, ...(r.note ? [r.note] : [])].join('; ');
    const rate = r.flops !== undefined ? r.flops / r.ours.medianMs / 1e6 : undefined;
    const share = rate !== undefined && report.peak ? ` (${((100 * rate) / report.peak.gflops).toFixed(0)}%)` : '';
    lines.push(
      `| ${r.section} | ${r.name} | ${ms(r.ours.medianMs)} (${ms(r.ours.minMs)}–${ms(r.ours.p90Ms)}) | ${r.reference?.name ?? '—'} | ` +
        `${r.reference ? ms(r.reference.stats.medianMs) : '—'} | ${r.ratio !== undefined ? r.ratio.toFixed(2) : '—'} | ` +
        `${r.flops !== undefined ? +(r.flops / 1e9).toPrecision(3) : '—'} | ${rate !== undefined ? `${+rate.toPrecision(3)}${share}` : '—'} | ${notes} |`,
    );
  }
  for (const notice of report.notices) lines.push('', `Note: ${notice}`);
  return lines.join('\n') + '\n';
}

/** Writes latest.json and latest.md into `dir`, each through a temporary file and a rename. */
export function writeReport(dir: string, report: Report): { json: string; markdown: string } {
  fs.mkdirSync(dir, { recursive: true });
  const write = (file: string, text: string) => {
    const temporary = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, text);
    fs.renameSync(temporary, file);
  };
  const json = path.join(dir, 'latest.json');
  const markdown = path.join(dir, 'latest.md');
  write(json, JSON.stringify(report, null, 2) + '\n');
  write(markdown, markdownTable(report));
  return { json, markdown };
}
