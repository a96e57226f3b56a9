import type { TensorData } from '../types';
// The element types a weights file may hold, and how their little-endian bytes become the typed
// arrays the rest of the package uses. Every floating type comes back as Float32Array (what the
// model computes in); integers keep their width. Typed arrays use the host's byte order, and every
// platform Node and LibTorch ship for is little-endian, like the files.

export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export const itemSize: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

/** A typed array over raw file elements of one dtype (16-bit floats as their bit patterns). */
type RawArray = Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Uint8Array;

/**
 * Views `bytes` as elements of `dtype` without copying. `bytes` must start at a multiple of the
 * item size within its buffer (the readers allocate every storage in a fresh ArrayBuffer).
 */
function rawView(bytes: Uint8Array, dtype: DType): RawArray {
  const { buffer, byteOffset } = bytes;
  const length = bytes.byteLength / itemSize[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, length);
    case 'float64':
      return new Float64Array(buffer, byteOffset, length);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, byteOffset, length);
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, length);
    case 'int32':
      return new Int32Array(buffer, byteOffset, length);
    case 'uint8':
    case 'bool':
      return bytes;
  }
}

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Converts contiguous raw elements to the dtype's TensorData (floats widen or narrow to float32). */
function toTensorData(raw: RawArray, dtype: DType): TensorData {
  switch (dtype) {
    case 'float16': {
      const out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = halfToFloat(raw[i] as number);
      return out;
    }
    case 'bfloat16': {
      // bfloat16 is the top half of a float32: shift the bits into place.
      const out = new Float32Array(raw.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < raw.length; i++) bits[i] = (raw[i] as number) << 16;
      return out;
    }
    case 'float64':
      return Float32Array.from(raw as Float64Array);
    default:
      return raw as TensorData;
  }
}

function contiguousStrides(shape: number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

/**
 * The elements of a tensor stored in `bytes` (a whole storage) at element `offset` with `shape` and
 * `stride`, as a row-major TensorData. Contiguous float32/integer tensors are views of `bytes` (no
 * copy, so views of one storage share memory as in torch); strided ones are gathered. Throws a
 * message (without the file name, which the caller adds) when the tensor reaches past the storage.
 */
export function decodeTensor(bytes: Uint8Array, dtype: DType, offset: number, shape: number[], stride: number[]): TensorData {
  if (bytes.byteLength % itemSize[dtype] !== 0) {
    throw new Error(`storage of ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  const raw = rawView(bytes, dtype);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) return toTensorData(raw.subarray(0, 0), dtype);
  const last = shape.reduce((reach, size, d) => reach + (size - 1) * stride[d], offset);
  if (offset < 0 || last >= raw.length) {
    throw new Error(`a ${dtype} tensor of shape [${shape.join(', ')}] reaches element ${last} of a storage of ${raw.length}`);
  }
  const dense = contiguousStrides(shape);
  const contiguous = shape.every((size, d) => size === 1 || stride[d] === dense[d]);
  if (contiguous) return toTensorData(raw.subarray(offset, offset + count), dtype);

  // Strided (a transpose, an expand, a slice along an inner dimension): walk the indices in
  // row-major order like an odometer, moving the source position by the strides.
  const gathered = new (raw.constructor as new (n: number) => RawArray)(count);
  const index = new Array<number>(shape.length).fill(0);
  let source = offset;
  for (let i = 0; i < count; i++) {
    gathered[i] = raw[source];
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]++;
      source += stride[d];
      if (index[d] < shape[d]) break;
      source -= shape[d] * stride[d];
      index[d] = 0;
    }
  }
  return toTensorData(gathered, dtype);
}
