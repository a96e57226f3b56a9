// A minimal ZIP reader for the archives torch.save writes: the central directory (ZIP64 included,
// which torch uses for files over 4 GiB), stored and deflated entries, CRC-checked. Entries are
// read by offset from an open file, one at a time, so a large checkpoint is never held twice.
import { promises as fsp } from 'fs';
import * as zlib from 'zlib';
import { readFully } from './read';

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const ZIP64_END_LOCATOR = 0x07064b50;
const ZIP64_END_OF_CENTRAL_DIRECTORY = 0x06064b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const ZIP64_EXTRA_FIELD = 0x0001;
const STORED = 0;
const DEFLATED = 8;

/** A 64-bit little-endian size or offset as a number (exact up to 2^53, i.e. any real file). */
function readUint64(view: Buffer, at: number): number {
  return Number(view.readBigUInt64LE(at));
}

export class ZipArchive {
  private constructor(
    readonly file: string,
    private readonly handle: fsp.FileHandle,
    private readonly fileSize: number,
    readonly entries: Map<string, ZipEntry>,
  ) {}

  /** Opens `file` and reads its central directory; the caller must close() it. */
  static async open(file: string): Promise<ZipArchive> {
    const handle = await fsp.open(file, 'r');
    try {
      const { size } = await handle.stat();
      const entries = await readCentralDirectory(file, handle, size);
      return new ZipArchive(file, handle, size, entries);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** The uncompressed bytes of one entry, in a fresh ArrayBuffer (offset 0, so any typed array can view it). */
  async read(entry: ZipEntry): Promise<Uint8Array> {
    const where = `${this.file}: zip entry '${entry.name}'`;
    const header = await readAt(this.handle, entry.localHeaderOffset, 30, this.fileSize, where);
    if (header.readUInt32LE(0) !== LOCAL_FILE_HEADER) throw new Error(`${where} has no local header (corrupt archive)`);
    // The local extra field differs from the central one: torch pads it to align the data to 64 bytes.
    const dataStart = entry.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    let data: Uint8Array;
    if (entry.method === STORED) {
      if (entry.compressedSize !== entry.size) throw new Error(`${where} is stored but its sizes differ (corrupt archive)`);
      data = new Uint8Array(new ArrayBuffer(entry.size));
      await readInto(this.handle, data, dataStart, this.fileSize, where);
    } else {
      const compressed = await readAt(this.handle, dataStart, entry.compressedSize, this.fileSize, where);
      let inflated: Buffer;
      try {
        inflated = zlib.inflateRawSync(compressed);
      } catch (error) {
        throw new Error(`${where} does not inflate (${(error as Error).message})`);
      }
      if (inflated.length !== entry.size) throw new Error(`${where} inflates to ${inflated.length} bytes, not ${entry.size}`);
      data = new Uint8Array(new ArrayBuffer(entry.size));
      data.set(inflated);
    }
    if (zlib.crc32(data) !== entry.crc32) throw new Error(`${where} is corrupt (CRC-32 mismatch)`);
    return data;
  }
}

async function readInto(handle: fsp.FileHandle, target: Uint8Array, position: number, fileSize: number, where: string): Promise<void> {
  if (position + target.byteLength > fileSize) throw new Error(`${where} runs past the end of the file (truncated?)`);
  await readFully(handle, target, position, where);
}

async function readAt(handle: fsp.FileHandle, position: number, length: number, fileSize: number, where: string): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  await readInto(handle, buffer, position, fileSize, where);
  return buffer;
}

async function readCentralDirectory(file: string, handle: fsp.FileHandle, fileSize: number): Promise<Map<string, ZipEntry>> {
  const notZip = `${file}: not a valid zip archive`;
  // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end of the file.
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(handle, tailStart, tailLength, fileSize, file);
  let end = -1;
  for (let at = tailLength - 22; at >= 0; at--) {
    if (tail.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY && at + 22 + tail.readUInt16LE(at + 20) === tailLength) {
      end = at;
      break;
    }
  }
  if (end < 0) throw new Error(`${notZip} (no end-of-central-directory record; truncated?)`);
  if (tail.readUInt16LE(end + 4) !== 0 || tail.readUInt16LE(end + 6) !== 0) throw new Error(`${notZip} (multi-disk archives are not supported)`);
  let count = tail.readUInt16LE(end + 10);
  let directorySize = tail.readUInt32LE(end + 12);
  let directoryOffset = tail.readUInt32LE(end + 16);

  // A ZIP64 locator right before the end record points to the 64-bit end record.
  if (end >= 20 && tail.readUInt32LE(end - 20) === ZIP64_END_LOCATOR) {
    const zip64EndOffset = readUint64(tail, end - 20 + 8);
    const zip64End = await readAt(handle, zip64EndOffset, 56, fileSize, `${file}: ZIP64 end record`);
    if (zip64End.readUInt32LE(0) !== ZIP64_END_OF_CENTRAL_DIRECTORY) throw new Error(`${notZip} (bad ZIP64 end record)`);
    count = readUint64(zip64End, 32);
    directorySize = readUint64(zip64End, 40);
    directoryOffset = readUint64(zip64End, 48);
  }
  if (directoryOffset + directorySize > fileSize) throw new Error(`${notZip} (central directory past the end of the file; truncated?)`);

  const directory = await readAt(handle, directoryOffset, directorySize, fileSize, file);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_FILE_HEADER) {
      throw new Error(`${notZip} (central directory entry ${i} is corrupt)`);
    }
    const flags = directory.readUInt16LE(at + 8);
    const method = directory.readUInt16LE(at + 10);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const name = directory.toString('utf8', at + 46, at + 46 + nameLength);
    let size = directory.readUInt32LE(at + 24);
    let compressedSize = directory.readUInt32LE(at + 20);
    let localHeaderOffset = directory.readUInt32LE(at + 42);
    // Fields saturated at 0xffffffff are given, in this order, by the ZIP64 extra field.
    const extraEnd = at + 46 + nameLength + extraLength;
    if (extraEnd + commentLength > directory.length) throw new Error(`${notZip} (central directory entry ${i} is corrupt)`);
    for (let field = at + 46 + nameLength; field + 4 <= extraEnd; ) {
      const id = directory.readUInt16LE(field);
      const length = directory.readUInt16LE(field + 2);
      if (id === ZIP64_EXTRA_FIELD) {
        const values: number[] = [];
        for (let value = field + 4; value + 8 <= Math.min(field + 4 + length, extraEnd); value += 8) values.push(readUint64(directory, value));
        const next = (): number => {
          const value = values.shift();
          if (value === undefined) throw new Error(`${notZip} (ZIP64 field of '${name}' is too short)`);
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      field += 4 + length;
    }
    if (flags & 1) throw new Error(`${file}: zip entry '${name}' is encrypted`);
    if (method !== STORED && method !== DEFLATED) throw new Error(`${file}: zip entry '${name}' uses compression method ${method} (only stored and deflate are supported)`);
    entries.set(name, { name, method, crc32: directory.readUInt32LE(at + 16), compressedSize, size, localHeaderOffset });
    at = extraEnd + commentLength;
  }
  return entries;
}
