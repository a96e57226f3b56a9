// Positional reads of exactly N bytes from an open file, in chunks small enough for any platform
// (one read(2) returns at most ~2 GiB), so a tensor of any size lands in one buffer.
import type { promises as fsp } from 'fs';

const CHUNK = 1 << 30;

/** Fills `target` from `position`; `where` names what is read in the error if the file ends first. */
export async function readFully(handle: fsp.FileHandle, target: Uint8Array, position: number, where: string): Promise<void> {
  for (let done = 0; done < target.byteLength; ) {
    const length = Math.min(target.byteLength - done, CHUNK);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) throw new Error(`${where} runs past the end of the file (truncated?)`);
    done += bytesRead;
  }
}
