// Loads the C++ addon (prebuilds/<platform>-<arch>/ first, then build/Release, as node-gyp-build
// does) and gives the rest of the package typed access to it. Nothing outside src/ sees the raw
// addon: each area wraps the functions it uses in typed, validated functions.
import * as path from 'path';

/** Typed arrays that cross the boundary; the dtype follows the array type. */
export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

/** A dense, row-major tensor as the addon reads and writes it. */
export interface Tensor<D extends TensorData = TensorData> {
  data: D;
  shape: number[];
}

export type Float32Tensor = Tensor<Float32Array>;
export type Int32Tensor = Tensor<Int32Array>;

export interface TorchInfo {
  torchVersion: string;
  intraOpThreads: number;
  cudaAvailable: boolean;
  cudaDevices: number;
  cudaKernels: boolean;
  parallelInfo: string;
  /**
   * The addon's cache of freed CPU blocks of 1 MiB and more (glibc would unmap them, and every
   * forward pass would fault its activations in afresh). Its cap is IR_RCNN_CPU_CACHE_MB when set
   * (0 turns it off), else a quarter of physical memory, at most 4 GiB, divided among the
   * LOCAL_WORLD_SIZE training workers of a machine.
   */
  cpuCache: { capacityBytes: number; cachedBytes: number };
  /** Whether this addon's own CPU kernels run on LibTorch's intra-op threads (false: a build without OpenMP for an OpenMP LibTorch, every kernel serial). */
  parallelKernels: boolean;
  /** at::show_config(): how LibTorch was built (BLAS, LAPACK, MKL-DNN, CPU capability). */
  buildConfig: string;
}

// The raw addon: a bag of functions registered by native/addon/*.cpp. Callers go through the
// typed wrappers, which declare each function's signature where they use it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type RawAddon = Record<string, (...args: any[]) => any>;

let loaded: RawAddon | undefined;

/** The addon, loaded once. IR_RCNN_ADDON may name a .node file to load instead. */
export function addon(): RawAddon {
  if (loaded) return loaded;
  const root = path.resolve(__dirname, '..', '..');
  try {
    const override = process.env.IR_RCNN_ADDON;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = (override ? require(path.resolve(override)) : require('node-gyp-build')(root)) as RawAddon;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new Error(
      `ir-rcnn: the native addon could not be loaded (${reason}); run \`npm run build\` ` +
        '(needs LibTorch: see the README, "Where LibTorch comes from")',
    );
  }
  return loaded;
}

/** A typed view of one addon function; throws a clear error if the build lacks it. */
export function nativeFunction<F extends (...args: never[]) => unknown>(name: string): F {
  const fn = addon()[name];
  if (typeof fn !== 'function') throw new Error(`ir-rcnn: the native addon has no function '${name}' (rebuild it)`);
  return fn as unknown as F;
}

/** Sets LibTorch's intra-op thread count for every native job (default: all cores). */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`setNumThreads: expected an integer >= 1, got ${threads}`);
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

/** Builds a tensor, checking that the data length matches the shape. */
export function tensor<D extends TensorData>(data: D, shape: number[]): Tensor<D> {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new RangeError(`tensor: ${data.length} elements do not fill shape [${shape.join(', ')}]`);
  return { data, shape };
}
