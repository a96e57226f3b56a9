// `ir-rcnn doctor`: what this machine gives the addon (LibTorch, CUDA, BLAS, threads), which
// addon file loads, and for every problem found the one command that fixes it.
import { AddonError, chooseAddon, findLibTorch, HOW_TO_GET_LIBTORCH, rebuildCommand, torchInfo, type AddonChoice, type FoundLibTorch, type TorchInfo } from './native';

export interface Problem {
  problem: string;
  fix: string;
}

export interface DoctorReport {
  node: { version: string; napi: number };
  /** The LibTorch that builds and prebuild choice use (null: none found). */
  libtorch: FoundLibTorch | null;
  /** The addon file and whether it loaded. */
  addon: (AddonChoice & { loaded: boolean }) | null;
  /** What the loaded addon reports (absent when it did not load). */
  torch?: {
    version: string;
    cuda: { available: boolean; kernels: boolean; runtime: string | null; cudnn: string | null; gpus: string[] };
    /** The BLAS libraries serving LibTorch, first loaded first, e.g. "OpenBLAS (/usr/lib/...)". */
    blas: string[];
    threads: { backend: string; intraOp: number; interOp: number; addonKernelsParallel: boolean };
  };
  problems: Problem[];
}

// Debian's libblas.so.3 is an alternative: OpenBLAS, BLIS, ATLAS or the reference (netlib) one.
const BLAS_KINDS: [RegExp, string][] = [
  [/openblas/i, 'OpenBLAS'],
  [/mkl/i, 'MKL'],
  [/blis/i, 'BLIS'],
  [/atlas/i, 'ATLAS'],
  [/libblas\.so/, 'reference BLAS'],
];

function blasLibraries(info: TorchInfo): string[] {
  const loaded = info.loadedLibraries
    .filter((file) => /blas|mkl/i.test(file.split('/').pop() ?? ''))
    .map((file) => `${BLAS_KINDS.find(([pattern]) => pattern.test(file))?.[1] ?? 'BLAS'} (${file})`);
  if (loaded.length > 0) return loaded;
  // pip's torch links MKL statically: no BLAS library of its own shows up.
  const built = info.buildConfig.match(/BLAS_INFO=(\w+)/);
  return built ? [`${built[1]} (linked into LibTorch)`] : [];
}

/** 12040 -> "12.4"; cuDNN 90100 -> "9.1.0", 8902 -> "8.9.2". */
function cudaVersionText(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`;
}
function cudnnVersionText(version: number): string {
  const major = version >= 90000 ? 10000 : 1000;
  return `${Math.floor(version / major)}.${Math.floor((version % major) / 100)}.${version % 100}`;
}

function multiarch(): string {
  return `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
}

/** Examines this machine and this process's addon. */
export function doctor(): DoctorReport {
  const problems: Problem[] = [];
  const report: DoctorReport = {
    node: { version: process.version, napi: Number(process.versions.napi) },
    libtorch: null,
    addon: null,
    problems,
  };
  try {
    report.libtorch = findLibTorch();
    if (!report.libtorch) problems.push({ problem: 'LibTorch was not found', fix: HOW_TO_GET_LIBTORCH });
  } catch (error) {
    problems.push({ problem: (error as Error).message, fix: `unset LIBTORCH, or ${HOW_TO_GET_LIBTORCH}` });
  }
  let info: TorchInfo;
  try {
    report.addon = { ...chooseAddon(), loaded: false };
    info = torchInfo();
    report.addon.loaded = true;
  } catch (error) {
    problems.push(error instanceof AddonError ? { problem: error.problem, fix: error.fix } : { problem: (error as Error).message, fix: rebuildCommand() });
    return report;
  }
  const blas = blasLibraries(info);
  report.torch = {
    version: info.torchVersion,
    cuda: {
      available: info.cudaAvailable,
      kernels: info.cudaKernels,
      runtime: info.cudaRuntimeVersion ? cudaVersionText(info.cudaRuntimeVersion) : null,
      cudnn: info.cudnnVersion ? cudnnVersionText(info.cudnnVersion) : null,
      gpus: info.gpus,
    },
    blas,
    threads: {
      backend: info.parallelInfo.match(/ATen parallel backend: (.+)/)?.[1].trim() ?? 'unknown',
      intraOp: info.intraOpThreads,
      interOp: info.interOpThreads,
      addonKernelsParallel: info.parallelKernels,
    },
  };

  const { libtorch } = report;
  if (libtorch && libtorch.version !== info.torchVersion) {
    problems.push({
      problem: `the addon was built for LibTorch ${info.torchVersion} but ${libtorch.source} has LibTorch ${libtorch.version}`,
      fix: rebuildCommand(),
    });
  }
  const reference = blas.find((library) => library.startsWith('reference BLAS'));
  if (reference) {
    problems.push({
      problem: `LibTorch runs on the ${reference}, about 14× slower than OpenBLAS`,
      fix: `apt-get install -y libopenblas0-pthread && update-alternatives --auto libblas.so.3-${multiarch()} (and take any other libblas.so.3 off LD_LIBRARY_PATH)`,
    });
  }
  if (!info.parallelKernels) {
    problems.push({ problem: "the addon's own kernels run on one thread (built without OpenMP for an OpenMP LibTorch)", fix: rebuildCommand() });
  }
  if (libtorch && libtorch.cuda !== 'cpu' && !info.cudaKernels) {
    problems.push({ problem: `${libtorch.source} has CUDA but the addon was built without its CUDA kernels`, fix: `${rebuildCommand()} (with cmake and nvcc on PATH)` });
  }
  if (info.cudaKernels && !info.cudaAvailable) {
    problems.push({ problem: 'the addon has CUDA kernels but no GPU is usable (driver missing or CUDA_VISIBLE_DEVICES empty)', fix: 'nvidia-smi (it should list the GPU; install the NVIDIA driver if it fails)' });
  }
  return report;
}

/** The report as people read it: one line per fact, then the problems with their fixes. */
export function formatDoctorReport(report: DoctorReport): string {
  const lines: [string, string][] = [['Node.js', `${report.node.version} (N-API ${report.node.napi})`]];
  const { libtorch, addon, torch } = report;
  lines.push([
    'LibTorch',
    libtorch ? `${libtorch.version} (${libtorch.cuda === 'cpu' ? 'CPU' : `CUDA ${libtorch.cuda}`}) from ${libtorch.source}` : 'not found',
  ]);
  if (addon) lines.push(['addon', `${addon.kind}${addon.loaded ? '' : ' (does not load)'}: ${addon.file}`]);
  if (torch) {
    const { cuda, threads } = torch;
    lines.push(['LibTorch (addon)', torch.version]);
    lines.push([
      'CUDA',
      cuda.runtime
        ? `runtime ${cuda.runtime}, cuDNN ${cuda.cudnn ?? 'none'}, ${cuda.gpus.length} GPU(s)${cuda.gpus.length ? `: ${cuda.gpus.join(', ')}` : ''}; addon kernels ${cuda.kernels ? 'yes' : 'no'}`
        : 'none (CPU only)',
    ]);
    lines.push(['BLAS', torch.blas.join('; ') || 'unknown']);
    lines.push([
      'threads',
      `${threads.backend}, ${threads.intraOp} intra-op, ${threads.interOp} inter-op; addon kernels ${threads.addonKernelsParallel ? 'parallel' : 'serial'}`,
    ]);
  }
  const width = Math.max(...lines.map(([label]) => label.length));
  const text = lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (report.problems.length === 0) text.push('', 'no problems found');
  for (const { problem, fix } of report.problems) text.push('', `problem: ${problem}`, `    fix: ${fix}`);
  return `${text.join('\n')}\n`;
}
