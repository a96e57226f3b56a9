// Reads the parity fixtures written by test/fixtures/make_op_fixtures.py and compares results
// with them, keeping the largest difference seen per op for the summary line.
import * as fs from 'fs';
import * as path from 'path';
import type { Tensor, TensorData } from '../../src/types';
import { FIXTURES } from './paths';

interface Packed {
  dtype: 'float32' | 'float64' | 'int32';
  shape: number[];
  base64: string;
}

const fixtureDir = path.join(FIXTURES, 'ops');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadCases(name: string): any[] {
  return JSON.parse(fs.readFileSync(path.join(fixtureDir, `${name}.json`), 'utf8')).cases;
}

export function unpack(packed: Packed): Tensor {
  const bytes = Buffer.from(packed.base64, 'base64');
  // Copy into a fresh, aligned buffer: typed arrays need an offset that is a multiple of their size.
  const buffer = new ArrayBuffer(bytes.length);
  new Uint8Array(buffer).set(bytes);
  const data =
    packed.dtype === 'float32' ? new Float32Array(buffer) : packed.dtype === 'float64' ? new Float64Array(buffer) : new Int32Array(buffer);
  return { data, shape: packed.shape };
}

export const f64 = (packed: Packed) => unpack(packed) as Tensor<Float32Array | Float64Array>;
export const i32 = (packed: Packed) => unpack(packed) as Tensor<Int32Array>;

const largest = new Map<string, number>();

/** Largest |actual - expected| per op so far (NaN matching NaN counts as equal). */
export function largestDifferences(): Map<string, number> {
  return largest;
}

/**
 * Asserts same shape and elementwise |a - e| <= tolerance (or |a - e| / max(1, |e|) with
 * `relative`, for values far above 1); records the largest difference under `op`.
 */
export function expectClose(op: string, actual: Tensor<TensorData>, expected: Tensor, tolerance: number, what = op, relative = false): void {
  if (actual.shape.join(',') !== expected.shape.join(','))
    throw new Error(`${what}: shape [${actual.shape}] differs from torchvision's [${expected.shape}]`);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const a = Number(actual.data[i]);
    const e = Number(expected.data[i]);
    if (Number.isNaN(a) && Number.isNaN(e)) continue;
    const d = Math.abs(a - e) / (relative ? Math.max(1, Math.abs(e)) : 1);
    if (!(d <= worst)) {
      worst = Number.isNaN(d) ? Infinity : d;
      worstAt = i;
    }
  }
  largest.set(op, Math.max(largest.get(op) ?? 0, worst));
  if (worst > tolerance)
    throw new Error(`${what}: element ${worstAt} is ${actual.data[worstAt]}, torchvision has ${expected.data[worstAt]} (difference ${worst} > ${tolerance})`);
}

/** Asserts identical integer results (indices, levels). */
export function expectEqualIndices(op: string, actual: Tensor<TensorData>, expected: Tensor, what = op): void {
  const a = Array.from(actual.data, Number);
  const e = Array.from(expected.data, Number);
  if (actual.shape.join(',') !== expected.shape.join(',') || a.join(',') !== e.join(','))
    throw new Error(`${what}: [${a}] (shape [${actual.shape}]) differs from torchvision's [${e}] (shape [${expected.shape}])`);
  largest.set(op, largest.get(op) ?? 0);
}
