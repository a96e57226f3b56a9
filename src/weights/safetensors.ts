// The .safetensors format: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { string: string } }),
// then the tensors' raw little-endian bytes, offsets relative to the end of the header.
// Reading checks every offset and size against the file before touching data; writing is atomic.
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { decodeTensor, DType, itemSize } from './dtype';
import { readFully } from './read';
import type { Tensor, TensorData } from '../types';

const dtypes: Record<string, DType> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  U8: 'uint8',
  BOOL: 'bool',
};

// A header larger than this is not a real one (safetensors itself caps it at 100 MB).
const MAX_HEADER_BYTES = 100_000_000;

export interface Safetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(file: string, json: string, dataLength: number): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  const bad = (what: string): Error => new Error(`${file}: corrupt safetensors header (${what})`);
  let header: unknown;
  try {
    header = JSON.parse(json);
  } catch {
    throw bad('not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('not a JSON object');
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null) throw bad('__metadata__ is not an object');
      for (const [key, text] of Object.entries(value)) {
        if (typeof text !== 'string') throw bad(`__metadata__.${key} is not a string`);
        metadata[key] = text;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (value ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in dtypes)) throw bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) throw bad(`tensor '${name}' has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`tensor '${name}' has bad data_offsets`);
    }
    const [begin, end] = offsets as number[];
    const bytes = (shape as number[]).reduce((a, b) => a * b, 1) * itemSize[dtypes[dtype]];
    if (end - begin !== bytes) throw bad(`tensor '${name}' spans ${end - begin} bytes but its shape needs ${bytes}`);
    if (end > dataLength) throw bad(`tensor '${name}' ends at byte ${end} of ${dataLength} (truncated?)`);
    entries.push({ name, dtype: dtypes[dtype], shape: shape as number[], begin, end });
  }
  // In data order, which is the order the writer had them in (JSON objects put numeric names first).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let previous: HeaderEntry | undefined;
  for (const entry of entries) {
    if (entry.end === entry.begin) continue; // an empty tensor overlaps nothing
    if (previous && entry.begin < previous.end) throw bad(`tensors '${previous.name}' and '${entry.name}' overlap`);
    previous = entry;
  }
  return { entries, metadata };
}

/** Reads every tensor of a .safetensors file (floats as Float32Array) and its metadata. */
export async function readSafetensors(file: string): Promise<Safetensors> {
  const handle = await fsp.open(file, 'r');
  try {
    const { size } = await handle.stat();
    // Each read gets a fresh ArrayBuffer, so the typed arrays over it are aligned.
    const read = async (position: number, length: number): Promise<Uint8Array> => {
      const bytes = new Uint8Array(new ArrayBuffer(length));
      await readFully(handle, bytes, position, file);
      return bytes;
    };
    if (size < 8) throw new Error(`${file}: not a safetensors file (${size} bytes)`);
    const headerLength = Buffer.from(await read(0, 8)).readBigUInt64LE(0);
    if (headerLength > BigInt(Math.min(size - 8, MAX_HEADER_BYTES))) {
      throw new Error(`${file}: corrupt safetensors header (length ${headerLength} for a file of ${size} bytes)`);
    }
    const dataStart = 8 + Number(headerLength);
    const json = new TextDecoder().decode(await read(8, Number(headerLength)));
    const { entries, metadata } = parseHeader(file, json, size - dataStart);
    const tensors = new Map<string, Tensor>();
    for (const { name, dtype, shape, begin, end } of entries) {
      const bytes = await read(dataStart + begin, end - begin);
      tensors.set(name, { data: decodeTensor(bytes, dtype, 0, shape, contiguousStrides(shape)), shape });
    }
    return { tensors, metadata };
  } finally {
    await handle.close();
  }
}

function contiguousStrides(shape: number[]): number[] {
  return shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
}

function dtypeOf(data: TensorData): string {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof BigInt64Array) return 'I64';
  return 'U8';
}

/**
 * Writes `tensors` (in their Map order) to `file` atomically: a temporary file in the same
 * folder is written, flushed to disk, then renamed over `file`, so a crash never leaves half a file.
 */
export async function writeSafetensors(file: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { data, shape }] of tensors) {
    if (name === '__metadata__') throw new Error(`writeSafetensors ${file}: '__metadata__' cannot name a tensor`);
    if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
      throw new Error(`writeSafetensors ${file}: tensor '${name}' has a bad shape`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    if (data.length !== count) throw new Error(`writeSafetensors ${file}: tensor '${name}' has ${data.length} elements for shape [${shape.join(', ')}]`);
    header[name] = { dtype: dtypeOf(data), shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new Error(`writeSafetensors ${file}: metadata '${key}' is not a string`);
  }
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const lengthField = Buffer.alloc(8);
  lengthField.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));

  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fsp.open(temporary, 'wx');
  const writeAll = async (bytes: Uint8Array): Promise<void> => {
    for (let done = 0; done < bytes.byteLength; ) done += (await handle.write(bytes, done)).bytesWritten;
  };
  try {
    await writeAll(lengthField);
    await writeAll(Buffer.from(json));
    for (const { data } of tensors.values()) await writeAll(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    await handle.sync();
    await handle.close();
    await fsp.rename(temporary, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fsp.rm(temporary, { force: true });
    throw error;
  }
}
