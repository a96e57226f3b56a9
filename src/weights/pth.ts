// torch.save's zip format (the default since PyTorch 1.6): `<name>/data.pkl` is a pickle whose
// tensors point, by persistent id, at raw little-endian storages `<name>/data/<key>`. The pickle
// is read first with storages as references only; then the caller picks the tensors it wants and
// each storage is read once and cut into its tensors, so unused entries (an optimizer's state in a
// training checkpoint) are never read.
import { decodeTensor, DType } from './dtype';
import { PickleCallable, unpickle } from './pickle';
import { ZipArchive, ZipEntry } from './zip';
import type { Tensor } from '../types';

/** A storage the pickle refers to: the zip entry holding its bytes and its element type. */
class StorageRef {
  constructor(
    readonly entry: ZipEntry,
    readonly dtype: DType,
  ) {}
}

/** A tensor as the pickle describes it: a strided window on a storage, not yet read. */
export class StoredTensor {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

/** torch.<Type>Storage classes name the element type of a storage in its persistent id. */
class StorageType {
  constructor(readonly dtype: DType) {}
}

const storageTypes: Record<string, DType> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

function isIntList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

// torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
const rebuildTensor: PickleCallable = (args) => {
  const [storage, offset, shape, stride] = args;
  if (!(storage instanceof StorageRef)) throw new Error('_rebuild_tensor_v2 without a storage');
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error('_rebuild_tensor_v2 with a bad storage offset');
  if (!isIntList(shape) || !isIntList(stride) || shape.length !== stride.length) throw new Error('_rebuild_tensor_v2 with a bad size or stride');
  return new StoredTensor(storage, offset as number, shape, stride);
};

// torch._utils._rebuild_parameter(data, requires_grad, backward_hooks): a Parameter is its data here.
const rebuildParameter: PickleCallable = (args) => {
  if (!(args[0] instanceof StoredTensor)) throw new Error('_rebuild_parameter without a tensor');
  return args[0];
};

// collections.OrderedDict(): state dicts are OrderedDicts; a Map keeps insertion order too.
const orderedDict: PickleCallable = (args) => {
  if (args.length !== 0) throw new Error('OrderedDict with arguments is not supported');
  return new Map();
};

const globals = new Map<string, unknown>([
  ['collections.OrderedDict', orderedDict],
  ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ['torch._utils._rebuild_parameter', rebuildParameter],
  ...Object.entries(storageTypes).map(([name, dtype]): [string, unknown] => [`torch.${name}`, new StorageType(dtype)]),
]);

/** An open torch.save archive: the unpickled value (tensors as StoredTensor) and a way to read them. */
export class PthFile {
  private constructor(
    readonly file: string,
    private readonly zip: ZipArchive,
    readonly value: unknown,
  ) {}

  /** Opens and unpickles `file`; the caller must close() it. */
  static async open(file: string): Promise<PthFile> {
    const zip = await ZipArchive.open(file);
    try {
      const pickleEntry = [...zip.entries.values()].find((entry) => /^[^/]+\/data\.pkl$/.test(entry.name));
      if (!pickleEntry) {
        const what = [...zip.entries.keys()].some((name) => name.endsWith('constants.pkl'))
          ? 'a TorchScript archive (torch.jit.save), not a torch.save file; save the model\'s state_dict() instead'
          : 'a zip archive without data.pkl, not a torch.save file';
        throw new Error(`${file}: is ${what}`);
      }
      const prefix = pickleEntry.name.slice(0, -'data.pkl'.length);
      const byteOrder = zip.entries.get(`${prefix}byteorder`);
      if (byteOrder && new TextDecoder().decode(await zip.read(byteOrder)).trim() !== 'little') {
        throw new Error(`${file}: was saved on a big-endian machine, which is not supported`);
      }
      const persistentLoad = (pid: unknown): StorageRef => {
        if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof StorageType) || typeof pid[2] !== 'string') {
          throw new Error('unsupported persistent id (expected a torch storage)');
        }
        const entry = zip.entries.get(`${prefix}data/${pid[2]}`);
        if (!entry) throw new Error(`storage 'data/${pid[2]}' is missing from the archive`);
        return new StorageRef(entry, pid[1].dtype);
      };
      const value = unpickle(await zip.read(pickleEntry), { file, globals, persistentLoad });
      return new PthFile(file, zip, value);
    } catch (error) {
      await zip.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.zip.close();
  }

  /** Reads the given tensors, each storage once; tensors of one storage share its memory when contiguous. */
  async load(stored: Map<string, StoredTensor>): Promise<Map<string, Tensor>> {
    const byStorage = new Map<ZipEntry, string[]>();
    for (const [key, tensor] of stored) {
      const keys = byStorage.get(tensor.storage.entry) ?? [];
      keys.push(key);
      byStorage.set(tensor.storage.entry, keys);
    }
    const tensors = new Map<string, Tensor>();
    for (const [entry, keys] of byStorage) {
      const bytes = await this.zip.read(entry);
      for (const key of keys) {
        const { storage, offset, shape, stride } = stored.get(key) as StoredTensor;
        try {
          tensors.set(key, { data: decodeTensor(bytes, storage.dtype, offset, shape, stride), shape });
        } catch (error) {
          throw new Error(`${this.file}: tensor '${key}': ${(error as Error).message}`);
        }
      }
    }
    // Keep the file's order, which is the model's parameter order.
    return new Map([...stored.keys()].map((key) => [key, tensors.get(key) as Tensor]));
  }
}

/** True for the first bytes of a legacy (before PyTorch 1.6, non-zip) torch.save file: a pickle of a magic number. */
export function isLegacyTorchSave(head: Uint8Array): boolean {
  return head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a && head[3] === 0x0a;
}
