// Which CPU kernels the demo's training runs on. LibTorch's CPU code picks its kernels by what the
// processor offers: OpenBLAS by core type (here Cooperlake on an AVX-512 BF16 EPYC, Zen or Haswell
// on one without AVX-512), oneDNN (convolutions) up to AVX-512, ATen by its CPU capability; and its
// reductions split by thread count. Each of these alone changed the trained weights' bits in six
// iterations of the demo's recipe, so two machines sold as one kind but with other CPU generations
// or core counts train different models from the same seed. "portable" caps all three at AVX2
// kernels, which any x86-64 CPU with AVX2 and FMA runs, and pins the thread count, so such
// machines run the same kernels (their cache sizes may still change oneDNN's blocking: not checked
// across machines). The variables are read when LibTorch loads, so they are set before that.
import * as fs from 'fs';

export type KernelMode = 'portable' | 'native';

/** The environment that caps each library's kernels at AVX2. */
export const PORTABLE_KERNELS = { OPENBLAS_CORETYPE: 'Haswell', DNNL_MAX_CPU_ISA: 'AVX2', ATEN_CPU_CAPABILITY: 'avx2' } as const;
/** Threads of the portable mode: the demo's reference machine has two cores. */
export const PORTABLE_THREADS = 2;

export interface KernelSettings {
  /** What was asked for, and what the machine allowed ('native' when the CPU lacks AVX2 or FMA). */
  mode: KernelMode;
  /** The three variables as LibTorch will read them (unset ones absent). */
  env: Partial<Record<keyof typeof PORTABLE_KERNELS, string>>;
  /** The SIMD features of the CPU (from /proc/cpuinfo; empty where there is none). */
  cpuFlags: string[];
}

/** The SIMD flags of the first CPU in /proc/cpuinfo (Linux). */
export function cpuSimdFlags(cpuinfo = '/proc/cpuinfo'): string[] {
  let text: string;
  try {
    text = fs.readFileSync(cpuinfo, 'utf8');
  } catch {
    return [];
  }
  const flags = /^flags\s*:(.*)$/m.exec(text)?.[1].trim().split(/\s+/) ?? [];
  return flags.filter((f) => /^(sse4_2|avx|avx2|fma|avx512\w*|amx\w*)$/.test(f)).sort();
}

/**
 * Sets the portable kernels' variables in `env` (ones the user set stay as they are) when `mode`
 * is portable and the CPU runs AVX2 and FMA. Call it before anything loads the addon.
 */
export function chooseKernels(mode: KernelMode, env: NodeJS.ProcessEnv = process.env, cpuFlags = cpuSimdFlags()): KernelSettings {
  const portable = mode === 'portable' && cpuFlags.includes('avx2') && cpuFlags.includes('fma');
  const names = Object.keys(PORTABLE_KERNELS) as (keyof typeof PORTABLE_KERNELS)[];
  if (portable) for (const name of names) env[name] ??= PORTABLE_KERNELS[name];
  const set = names.filter((name) => env[name] !== undefined).map((name) => [name, env[name] as string]);
  return { mode: portable ? 'portable' : 'native', env: Object.fromEntries(set), cpuFlags };
}
