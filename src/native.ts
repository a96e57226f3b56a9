// Loads the C++ addon (a local build in build/Release first, then the prebuild in
// prebuilds/<platform>-<arch>/ that matches this machine's LibTorch, as the install script chose
// it) and gives the rest of the package typed access to it. Nothing outside src/ sees the raw
// addon: each area wraps the functions it uses in typed, validated functions. The addon throws and
// rejects with IrRcnnError, which it is handed as soon as it is loaded.
import * as fs from 'fs';
import * as path from 'path';

import { IrRcnnError } from './errors';
import type { Float32Tensor, ImageTargets, Int32Tensor, Tensor, TensorData } from './types';

/** torchInfo().cpuCache: the state of the addon's CPU block cache (blocks of 128 KiB and more). */
export interface CpuCacheInfo {
  /** 0: caching off. */
  capacityBytes: number;
  /** Freed blocks kept for reuse now, and how many. */
  cachedBytes: number;
  cachedBlocks: number;
  /** Blocks held by tensors now. */
  inUseBytes: number;
  /** The bound on in use + cached: 1.25× the largest peak in use of the recent calls. */
  workingSetBytes: number;
  /** Allocations served from the cache, and mapped afresh, since the addon loaded. */
  hits: number;
  misses: number;
  /** Kept blocks unmapped to stay within the working set or the cap, in all. */
  evictedBytes: number;
}

export interface TorchInfo {
  torchVersion: string;
  intraOpThreads: number;
  interOpThreads: number;
  cudaAvailable: boolean;
  cudaDevices: number;
  /** The GPUs' names (CUDA builds). */
  gpus: string[];
  /** The CUDA runtime's version as a number (12040 = 12.4), 0 without CUDA. */
  cudaRuntimeVersion: number;
  /** cuDNN's version as a number (90100 = 9.1.0), 0 without it. */
  cudnnVersion: number;
  cudaKernels: boolean;
  parallelInfo: string;
  /**
   * The addon's cache of freed CPU blocks of 128 KiB and more (glibc would unmap them, and every
   * forward pass would fault its activations in afresh). What it keeps is bounded by the working
   * set of recent calls: blocks in use plus kept stay within 1.25× the largest peak in use of the
   * last four addon calls and the running one, least recently freed blocks unmapped first. Its cap is
   * IR_RCNN_CPU_CACHE_MB when set (0 turns it off), else a quarter of physical memory, at most
   * 4 GiB, divided among the LOCAL_WORLD_SIZE training workers of a machine.
   */
  cpuCache: CpuCacheInfo;
  /** Whether this addon's own CPU kernels run on LibTorch's intra-op threads (false: a build without OpenMP for an OpenMP LibTorch, every kernel serial). */
  parallelKernels: boolean;
  /** at::show_config(): how LibTorch was built (BLAS, LAPACK, MKL-DNN, CPU capability). */
  buildConfig: string;
  /** Every shared library in this process, symlinks resolved: which BLAS really serves LibTorch. */
  loadedLibraries: string[];
  /** The addon file that was loaded. */
  addonPath: string;
}

/** Which addon file loads, and why that one. */
export interface AddonChoice {
  file: string;
  kind: 'IR_RCNN_ADDON' | 'local build' | 'prebuild';
}

/** LibTorch as scripts/libtorch.js finds it (the build files and the install script use it too). */
export interface FoundLibTorch {
  source: string;
  version: string;
  /** 'cpu', or the CUDA version it was built for. */
  cuda: string;
  cxx11Abi: boolean;
  includeDirs: string[];
  libDir: string;
  distributed: boolean;
}

/** The package's root: dist/src/native.js is two levels below it. */
export const packageRoot = path.resolve(__dirname, '..', '..');

// The plain-JS helpers under scripts/ run at install time, before any TypeScript is compiled.
/* eslint-disable @typescript-eslint/no-require-imports */
const libtorchScript = require(path.join(packageRoot, 'scripts', 'libtorch.js')) as {
  findLibTorch(): FoundLibTorch | null;
  HOW_TO_GET_IT: string;
};
const prebuildsScript = require(path.join(packageRoot, 'scripts', 'prebuilds.js')) as {
  choosePrebuild(root: string, torch: FoundLibTorch | null): { file?: string; reason?: string };
  rebuildCommand(root: string): string;
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** The LibTorch on this machine, or null; throws a one-line error when LIBTORCH names no LibTorch. */
export const findLibTorch = (): FoundLibTorch | null => libtorchScript.findLibTorch();
export const HOW_TO_GET_LIBTORCH = libtorchScript.HOW_TO_GET_IT;
/** The one command that rebuilds the addon from source here. */
export const rebuildCommand = (): string => prebuildsScript.rebuildCommand(packageRoot);

/** The addon is missing or does not load (ERR_NATIVE): one line saying what is wrong and the command that fixes it. */
export class AddonError extends IrRcnnError {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super('ERR_NATIVE', `ir-rcnn: ${problem}; run \`${fix}\``);
  }
}

/** The addon file this process loads; throws an AddonError when there is none. */
export function chooseAddon(): AddonChoice {
  const override = process.env.IR_RCNN_ADDON;
  if (override) return { file: path.resolve(override), kind: 'IR_RCNN_ADDON' };
  const localBuild = path.join(packageRoot, 'build', 'Release', 'ir_rcnn.node');
  if (fs.existsSync(localBuild)) return { file: localBuild, kind: 'local build' };
  const prebuild = prebuildsScript.choosePrebuild(packageRoot, findLibTorch());
  if (prebuild.file) return { file: prebuild.file, kind: 'prebuild' };
  throw new AddonError(prebuild.reason ?? 'no addon', rebuildCommand());
}

// The raw addon: a bag of functions registered by native/addon/*.cpp. Callers go through the
// typed wrappers, which declare each function's signature where they use it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RawAddon = Record<string, (...args: any[]) => any>;

let loaded: RawAddon | undefined;

/** The addon, loaded once per thread (each worker thread loads its own instance). IR_RCNN_ADDON may name a .node file to load instead. */
export function addon(): RawAddon {
  if (loaded) return loaded;
  const { file, kind } = chooseAddon();
  let raw: RawAddon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    raw = require(file) as RawAddon;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new AddonError(`the native addon ${file} could not be loaded (${reason})`, kind === 'IR_RCNN_ADDON' ? 'unset IR_RCNN_ADDON' : rebuildCommand());
  }
  raw.setErrorClass(IrRcnnError);
  loaded = raw;
  return loaded;
}

/** A typed view of one addon function; throws a clear error if the build lacks it. */
export function nativeFunction<F extends (...args: never[]) => unknown>(name: string): F {
  const fn = addon()[name];
  if (typeof fn !== 'function') throw new IrRcnnError('ERR_NATIVE', `ir-rcnn: the native addon has no function '${name}' (rebuild it)`);
  return fn as unknown as F;
}

/** Sets LibTorch's intra-op thread count for the native jobs of this thread (default: all cores); an integer in [1, 1024]. */
export function setNumThreads(threads: number): void {
  nativeFunction<(n: number) => void>('setNumThreads')(threads);
}

/** LibTorch's version, threads and CUDA availability, as the addon sees them. */
export function torchInfo(): TorchInfo {
  return nativeFunction<() => TorchInfo>('torchInfo')();
}

/**
 * The most bytes LibTorch's CUDA caching allocator held for tensors on `device` since the last
 * reset (torch.cuda.max_memory_allocated()); `reset: true` starts a new measurement. CUDA builds only.
 */
export function cudaPeakMemory(device: string, reset = false): number {
  return nativeFunction<(o: { device: string; reset: boolean }) => number>('cudaPeakMemory')({ device, reset });
}

/** Ground truth as the addon takes it: each ImageTargets' flat arrays as tensors. */
export interface NativeTargets {
  boxes: Float32Tensor;
  labels: Int32Tensor;
  crowdBoxes: Float32Tensor;
}

export function nativeTargets(targets: ImageTargets[]): NativeTargets[] {
  return targets.map((t) => ({
    boxes: { data: t.boxes, shape: [t.boxes.length / 4, 4] },
    labels: { data: t.labels, shape: [t.labels.length] },
    crowdBoxes: { data: t.crowdBoxes, shape: [t.crowdBoxes.length / 4, 4] },
  }));
}

/** Builds a tensor, checking that the data length matches the shape. */
export function tensor<D extends TensorData>(data: D, shape: number[]): Tensor<D> {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new IrRcnnError('ERR_INVALID_ARGUMENT', `tensor: ${data.length} elements do not fill shape [${shape.join(', ')}]`);
  return { data, shape };
}
