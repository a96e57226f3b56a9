// Weights files in, weights files out: torch.save .pth (read through a restricted unpickler that
// never runs code) and .safetensors (read and written). Pure I/O; nothing here needs the addon.
import { promises as fsp } from 'fs';
import { PthFile, StoredTensor, isLegacyTorchSave } from './pth';
import { readSafetensors } from './safetensors';
import type { Tensor } from '../types';

export { checkStrict, matchStateDict, type MatchedStateDict, type StrictOptions } from './keys';
export { readSafetensors, writeSafetensors, type Safetensors } from './safetensors';

type FileKind = 'pth' | 'safetensors';

async function fileKind(file: string): Promise<FileKind> {
  const handle = await fsp.open(file, 'r');
  const head = new Uint8Array(9);
  let length: number;
  try {
    length = (await handle.read(head, 0, head.length, 0)).bytesRead;
  } finally {
    await handle.close();
  }
  // A zip's first record is a local file header (PK\3\4), or the end record if it is empty (PK\5\6).
  if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5)) return 'pth';
  if (isLegacyTorchSave(head)) {
    throw new Error(
      `${file}: is in the legacy torch.save format (before PyTorch 1.6), which is not supported; ` +
        're-save it with a recent torch.save or convert it to .safetensors',
    );
  }
  // safetensors: an 8-byte header length, then the JSON header's '{'.
  if ((length === 9 && head[8] === 0x7b) || file.endsWith('.safetensors')) return 'safetensors';
  throw new Error(`${file}: is neither a torch.save .pth (zip) nor a .safetensors file`);
}

function describe(value: unknown): string {
  if (value instanceof Map) return 'a dict';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof StoredTensor) return 'a tensor';
  return value === null ? 'None' : `a ${typeof value}`;
}

/** The state dict in an unpickled .pth: the top dict, or the one under 'model' or 'state_dict' (training checkpoints). */
function stateDictOf(file: string, value: unknown): Map<string, StoredTensor> {
  if (!(value instanceof Map)) throw new Error(`${file}: holds ${describe(value)}, not a state dict`);
  const nested = ['model', 'state_dict'].map((key) => value.get(key)).find((inner) => inner instanceof Map);
  const dict = (nested ?? value) as Map<unknown, unknown>;
  for (const [key, tensor] of dict) {
    if (typeof key !== 'string') throw new Error(`${file}: the state dict has a non-string key (${describe(key)})`);
    if (!(tensor instanceof StoredTensor)) throw new Error(`${file}: state dict entry '${key}' is ${describe(tensor)}, not a tensor`);
  }
  return dict as Map<string, StoredTensor>;
}

/**
 * Reads a state dict from a .pth written by torch.save (zip format) or a .safetensors file,
 * whichever the content is. Floating tensors come back as Float32Array (float16, bfloat16 and
 * float64 converted), int64 as BigInt64Array, int32 as Int32Array, uint8 and bool as Uint8Array.
 * A training checkpoint holding the state dict under 'model' or 'state_dict' is unwrapped
 * (and its other entries, e.g. the optimizer's state, are not read).
 */
export async function readStateDict(file: string): Promise<Map<string, Tensor>> {
  if ((await fileKind(file)) === 'safetensors') return (await readSafetensors(file)).tensors;
  const pth = await PthFile.open(file);
  try {
    return await pth.load(stateDictOf(file, pth.value));
  } finally {
    await pth.close();
  }
}
