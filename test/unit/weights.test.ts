// Weights I/O against fixtures written by torch.save (test/fixtures/make_weights_fixtures.py):
// every dtype and layout torch writes, the restricted unpickler refusing code, corrupt files,
// safetensors both ways, and matching loaded keys to a model's names.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkStrict, matchStateDict, readSafetensors, readStateDict, writeSafetensors } from '../../src/weights';
import { decodeTensor } from '../../src/weights/dtype';
import { unpickle } from '../../src/weights/pickle';
import type { Tensor, TensorData } from '../../src/types';
import { FIXTURES } from '../support/paths';

const WEIGHT_FIXTURES = path.join(FIXTURES, 'weights');
const fixture = (name: string): string => path.join(WEIGHT_FIXTURES, name);

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | boolean | string)[];
}
const expected = JSON.parse(fs.readFileSync(fixture('weights.json'), 'utf8')) as {
  basic: Record<string, Expected>;
  nested: Record<string, Expected>;
  old_layout: { expected_shapes: Record<string, number[]>; old_keys: string[]; values: Record<string, Expected> };
  resnet_backbone: { expected_shapes: Record<string, number[]>; fpn_keys: string[]; conv1: Expected };
  pwned_marker: string;
  safetensors: { tensors: Record<string, Expected>; metadata: Record<string, string> };
};

const arrayTypes: Record<string, string> = {
  float32: 'Float32Array',
  float16: 'Float32Array',
  bfloat16: 'Float32Array',
  float64: 'Float32Array',
  int64: 'BigInt64Array',
  int32: 'Int32Array',
  uint8: 'Uint8Array',
  bool: 'Uint8Array',
};

function assertTensor(actual: Tensor | undefined, want: Expected, key: string): void {
  assert.ok(actual, `missing tensor ${key}`);
  assert.strictEqual(actual.data.constructor.name, arrayTypes[want.dtype], `${key}: array type`);
  assert.deepStrictEqual(actual.shape, want.shape, `${key}: shape`);
  const values = Array.from(actual.data as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? Number(v) : v));
  const wanted = want.values.map((v) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : typeof v === 'boolean' ? Number(v) : v));
  // Exact: float16/bfloat16 widen exactly and float64 rounds to nearest as torch's .float() does.
  assert.deepStrictEqual(values, wanted, `${key}: values`);
}

function assertStateDict(actual: Map<string, Tensor>, want: Record<string, Expected>): void {
  assert.deepStrictEqual([...actual.keys()], Object.keys(want), 'keys in the file order');
  for (const [key, value] of Object.entries(want)) assertTensor(actual.get(key), value, key);
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes('\n'), `one line: ${error.message}`);
    return true;
  });
}

const temporaryFolders: string[] = [];
function temporaryFile(name: string): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-weights-'));
  temporaryFolders.push(folder);
  return path.join(folder, name);
}
after(() => temporaryFolders.forEach((folder) => fs.rmSync(folder, { recursive: true, force: true })));

describe('weights: .pth written by torch.save', () => {
  it('reads every dtype with torch\'s values, in the file\'s key order', async () => {
    assertStateDict(await readStateDict(fixture('basic.pth')), expected.basic);
  });

  it('rebuilds views of one storage (offset, transposed, strided, expanded), sharing memory when contiguous', async () => {
    const sd = await readStateDict(fixture('basic.pth'));
    const base = sd.get('base') as Tensor;
    const view = sd.get('view') as Tensor;
    assert.strictEqual(view.data.buffer, base.data.buffer);
    assert.strictEqual(view.data.byteOffset, base.data.byteOffset + 4 * 4);
    // The transpose is gathered into its own row-major array.
    assert.notStrictEqual(sd.get('transposed')?.data.buffer, base.data.buffer);
  });

  it('reads deflated entries and ZIP64 archives the same', async () => {
    assertStateDict(await readStateDict(fixture('deflated.pth')), expected.basic);
    assertStateDict(await readStateDict(fixture('zip64.pth')), expected.basic);
  });

  it("unwraps a checkpoint's state dict under 'model' (beside an optimizer) or 'state_dict'", async () => {
    assertStateDict(await readStateDict(fixture('nested_model.pth')), expected.nested);
    assertStateDict(await readStateDict(fixture('nested_state_dict.pth')), expected.nested);
  });

  it('refuses pickles that name os.system, builtins.eval or posix.system, without running them', async () => {
    fs.rmSync(expected.pwned_marker, { force: true });
    const cases: [string, string][] = [
      ['malicious_os_system.pth', 'os.system'],
      ['malicious_eval.pth', 'builtins.eval'],
      ['malicious_stack_global.pth', 'posix.system'],
    ];
    for (const [name, global] of cases) {
      const file = fixture(name);
      await assert.rejects(readStateDict(file), {
        message: `${file}: refuses to load global '${global}' (a weights file must not run code)`,
      });
    }
    // Each payload runs `touch <marker>` when Python's pickle loads it.
    assert.ok(!fs.existsSync(expected.pwned_marker), 'the payload ran');
  });

  it('never calls an allowed global that is not a function, and rejects unknown opcodes', () => {
    const file = 'hand.pkl';
    const globals = new Map<string, unknown>([['torch.FloatStorage', { dtype: 'float32' }]]);
    const persistentLoad = (): never => assert.fail('no persistent ids here');
    // PROTO 2, GLOBAL 'torch FloatStorage', EMPTY_TUPLE, REDUCE, STOP
    const reduce = Buffer.from('\x80\x02ctorch\nFloatStorage\n)R.', 'latin1');
    assert.throws(() => unpickle(reduce, { file, globals, persistentLoad }), /^Error: hand\.pkl: REDUCE calls something that is not an allowed function/);
    // PROTO 2, INST (protocol 0 class instantiation, which torch never writes)
    const inst = Buffer.from('\x80\x02iposix\nsystem\n.', 'latin1');
    assert.throws(() => unpickle(inst, { file, globals, persistentLoad }), /hand\.pkl: unsupported pickle opcode 0x69 \(pickle byte 2\)/);
    // {'a': [1, -2, 3.5, True, None, 2**70], 'b': <the same list, from the memo>, 'c': ('a', 2)}
    const list = [1, -2, 3.5, true, null, 2n ** 70n];
    const bytes = Buffer.from(
      '\x80\x02}q\x00X\x01\x00\x00\x00aq\x01]q\x02(K\x01J\xfe\xff\xff\xffG@\x0c\x00\x00\x00\x00\x00\x00\x88N' +
        '\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x40es' +
        'X\x01\x00\x00\x00bh\x02sX\x01\x00\x00\x00ch\x01K\x02\x86s.',
      'latin1',
    );
    const dict = unpickle(bytes, { file, globals, persistentLoad }) as Map<string, unknown>;
    assert.deepStrictEqual(dict, new Map<string, unknown>([['a', list], ['b', list], ['c', ['a', 2]]]));
    assert.strictEqual(dict.get('a'), dict.get('b'));
  });

  it('gives one-line errors naming the file for truncated and corrupt archives', async () => {
    const bytes = fs.readFileSync(fixture('basic.pth'));
    const truncated = temporaryFile('truncated.pth');
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length / 2));
    await rejectsWith(readStateDict(truncated), new RegExp(`^${truncated}: not a valid zip archive \\(no end-of-central-directory record; truncated\\?\\)$`));

    // Flip one bit inside the storage of 'base' (its first floats are -2, -1.5, -1).
    const corrupt = temporaryFile('corrupt.pth');
    const flipped = Buffer.from(bytes);
    const at = flipped.indexOf(Buffer.from(new Float32Array([-2, -1.5, -1]).buffer));
    assert.ok(at > 0);
    flipped[at + 1] ^= 0x10;
    fs.writeFileSync(corrupt, flipped);
    await rejectsWith(readStateDict(corrupt), new RegExp(`^${corrupt}: zip entry 'basic/data/\\d+' is corrupt \\(CRC-32 mismatch\\)$`));

    const file = fixture('truncated_pickle.pth');
    await rejectsWith(readStateDict(file), new RegExp(`^${file}: the pickle is truncated \\(pickle byte \\d+\\)$`));
  });

  it('names the legacy torch.save format, and files that are not weights at all', async () => {
    await rejectsWith(readStateDict(fixture('legacy.pth')), /legacy\.pth: is in the legacy torch\.save format \(before PyTorch 1\.6\)/);
    await rejectsWith(readStateDict(fixture('weights.json')), /weights\.json: is neither a torch\.save \.pth \(zip\) nor a \.safetensors file$/);
    await rejectsWith(readStateDict(fixture('no-such-file.pth')), /ENOENT.*no-such-file\.pth/);
  });

  it('refuses a tensor that reaches past its storage', () => {
    const bytes = new Uint8Array(new Float32Array([1, 2]).buffer);
    assert.throws(() => decodeTensor(bytes, 'float32', 1, [2], [1]), /reaches element 2 of a storage of 2/);
    assert.throws(() => decodeTensor(bytes.subarray(0, 6), 'float32', 0, [1], [1]), /not a whole number of float32 elements/);
  });
});

function safetensorsBytes(header: object, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

describe('weights: .safetensors', () => {
  it('reads a file written from the format description by Python, with its metadata', async () => {
    const { tensors, metadata } = await readSafetensors(fixture('python.safetensors'));
    assertStateDict(tensors, expected.safetensors.tensors);
    assert.deepStrictEqual(metadata, expected.safetensors.metadata);
    // readStateDict recognises it by content, whatever the extension.
    const renamed = temporaryFile('weights.bin');
    fs.copyFileSync(fixture('python.safetensors'), renamed);
    assertStateDict(await readStateDict(renamed), expected.safetensors.tensors);
  });

  it('round-trips every array type, scalars and empty tensors, atomically', async () => {
    const file = temporaryFile('model.safetensors');
    const tensors = new Map<string, Tensor>([
      ['conv.weight', { data: new Float32Array([0.5, -1.25, 3, 4, 5, 6]), shape: [1, 2, 3] }],
      ['double', { data: new Float64Array([0.1, 2]), shape: [2] }],
      ['steps', { data: new BigInt64Array([-(2n ** 40n)]), shape: [] }],
      ['labels', { data: new Int32Array([3, -7]), shape: [2, 1] }],
      ['mask', { data: new Uint8Array([0, 1, 255]), shape: [3] }],
      ['empty', { data: new Float32Array(0), shape: [0, 4] }],
      ['10', { data: new Float32Array([1]), shape: [1] }],
    ]);
    await writeSafetensors(file, tensors, { iteration: '90000' });
    const bytes = fs.readFileSync(file);
    assert.strictEqual(Number(bytes.readBigUInt64LE(0)) % 8, 0, 'data starts 8-byte aligned');
    const back = await readSafetensors(file);
    assert.deepStrictEqual(back.metadata, { iteration: '90000' });
    assert.deepStrictEqual([...back.tensors.keys()], [...tensors.keys()]);
    for (const [key, { data, shape }] of tensors) {
      const read = back.tensors.get(key) as Tensor;
      assert.deepStrictEqual(read.shape, shape, key);
      const want: TensorData = data instanceof Float64Array ? Float32Array.from(data) : data;
      assert.deepStrictEqual(read.data, want, key);
    }
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['model.safetensors'], 'no temporary file left');

    // A bad tensor fails before anything is written: the old file stays whole.
    await rejectsWith(
      writeSafetensors(file, new Map([['x', { data: new Float32Array(3), shape: [2, 2] }]])),
      /^writeSafetensors .*model\.safetensors: tensor 'x' has 3 elements for shape \[2, 2\]$/,
    );
    assert.deepStrictEqual(fs.readFileSync(file), bytes);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['model.safetensors']);
  });

  it('gives one-line errors naming the file for corrupt headers and data', async () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const entry = (over: object): object => ({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...over } });
    const cases: [string, Buffer, RegExp][] = [
      ['not-json', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{abc')]), /not valid JSON/],
      ['huge-header', Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x7b]), /corrupt safetensors header \(length 65535 for a file of 9 bytes\)/],
      ['dtype', safetensorsBytes(entry({ dtype: 'C64' }), data), /tensor 'a' has unsupported dtype "C64"/],
      ['size', safetensorsBytes(entry({ shape: [3] }), data), /tensor 'a' spans 8 bytes but its shape needs 12/],
      ['truncated', safetensorsBytes(entry({}), data.subarray(0, 4)), /tensor 'a' ends at byte 8 of 4 \(truncated\?\)/],
      ['overlap', safetensorsBytes({ ...entry({}), b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data), /tensors 'a' and 'b' overlap/],
      ['shape', safetensorsBytes(entry({ shape: [-2] }), data), /tensor 'a' has a bad shape/],
    ];
    for (const [name, bytes, pattern] of cases) {
      const file = temporaryFile(`${name}.safetensors`);
      fs.writeFileSync(file, bytes);
      await rejectsWith(readStateDict(file), new RegExp(`^${file}: .*${pattern.source}`));
    }
  });
});

describe('weights: matching to the model\'s names', () => {
  const shapes = (record: Record<string, number[]>): Map<string, number[]> => new Map(Object.entries(record));

  it("renames torchvision's older layout (rpn.head.conv, fpn inner/layer blocks) and skips num_batches_tracked", async () => {
    const loaded = await readStateDict(fixture('old_layout.pth'));
    assert.deepStrictEqual([...loaded.keys()], expected.old_layout.old_keys);
    const matched = matchStateDict(shapes(expected.old_layout.expected_shapes), loaded, 'old_layout.pth');
    assert.deepStrictEqual(matched.missing, []);
    assert.deepStrictEqual(matched.unexpected, []);
    assert.strictEqual(matched.backboneOnly, false);
    assert.ok(matched.tensors.has('rpn.head.conv.0.0.weight') && matched.tensors.has('backbone.fpn.layer_blocks.1.0.bias'));
    assertStateDict(matched.tensors, expected.old_layout.values);
  });

  it('keeps a name the model expects as it is, and renames only into names the model has', () => {
    const tensor = { data: new Float32Array(1), shape: [1] };
    const loaded = new Map([
      ['rpn.head.conv.weight', tensor],
      ['backbone.fpn.inner_blocks.0.weight', tensor],
    ]);
    const matched = matchStateDict(shapes({ 'rpn.head.conv.weight': [1], 'backbone.fpn.inner_blocks.0.1.weight': [1] }), loaded);
    assert.deepStrictEqual([...matched.tensors.keys()], ['rpn.head.conv.weight']);
    assert.deepStrictEqual(matched.missing, ['backbone.fpn.inner_blocks.0.1.weight']);
    assert.deepStrictEqual(matched.unexpected, ['backbone.fpn.inner_blocks.0.weight']);
  });

  it('loads a backbone-only ImageNet ResNet into backbone.body, dropping fc.* as unexpected', async () => {
    const loaded = await readStateDict(fixture('resnet_backbone.pth'));
    const want = expected.resnet_backbone;
    const matched = matchStateDict(shapes(want.expected_shapes), loaded, 'resnet_backbone.pth');
    assert.strictEqual(matched.backboneOnly, true);
    assert.deepStrictEqual(matched.missing, want.fpn_keys);
    assert.deepStrictEqual(matched.unexpected, ['fc.weight', 'fc.bias']);
    assert.deepStrictEqual(
      [...matched.tensors.keys()],
      Object.keys(want.expected_shapes).filter((key) => !want.fpn_keys.includes(key)),
    );
    assertTensor(matched.tensors.get('backbone.body.conv1.weight'), want.conv1, 'backbone.body.conv1.weight');
  });

  it('is strict by default: unexpected or missing tensors fail with one line naming keys and the likely config', () => {
    // Names only: a ResNet's layer3 block count and the IR module's prefix are what the hint reads.
    const resnet = (blocks: number, relation = false): Map<string, Tensor> => {
      const names = ['backbone.body.conv1.weight', 'roi_heads.box_predictor.cls_score.weight'];
      for (let b = 0; b < blocks; b++) names.push(...[1, 2, 3].map((c) => `backbone.body.layer3.${b}.conv${c}.weight`));
      if (relation) names.push('roi_heads.relation.phi.0.weight', 'roi_heads.relation.gcn.0.weight');
      return new Map(names.map((name) => [name, { data: new Float32Array(1), shape: [1] }]));
    };
    const shapesOf = (dict: Map<string, Tensor>): Map<string, number[]> => new Map([...dict].map(([k, t]) => [k, t.shape]));
    const r50 = { depth: 50, relation: false };
    const r101IntoR50 = matchStateDict(shapesOf(resnet(6)), resnet(23), 'r101.pth');
    assert.throws(() => checkStrict(r101IntoR50, 'r101.pth', r50), {
      message:
        'weights r101.pth: 51 tensor(s) that this model does not have (backbone.body.layer3.6.conv1.weight, backbone.body.layer3.6.conv2.weight, ' +
        'backbone.body.layer3.6.conv3.weight and 48 more); a ResNet-101 checkpoint? try --config faster_rcnn_r101_fpn_coco ' +
        '(allowUnexpected / --allow-unexpected ignores them)',
    });
    checkStrict(r101IntoR50, 'r101.pth', r50, { allowUnexpected: true });
    const r50IntoR101 = matchStateDict(shapesOf(resnet(23)), resnet(6), 'r50.pth');
    assert.throws(() => checkStrict(r50IntoR101, 'r50.pth', { depth: 101, relation: false }), /missing 51 tensor\(s\).*a ResNet-50 checkpoint\? try --config faster_rcnn_r50_fpn_coco/);
    const irIntoFaster = matchStateDict(shapesOf(resnet(6)), resnet(6, true), 'ir.pth');
    assert.throws(() => checkStrict(irIntoFaster, 'ir.pth', r50), /2 tensor\(s\) that this model does not have .*an IR R-CNN checkpoint\? use an ir_rcnn_\* config/);
    // Fine-tuning IR R-CNN from Faster R-CNN weights: the relation module is missing, by intent.
    const fasterIntoIr = matchStateDict(shapesOf(resnet(6, true)), resnet(6), 'frcnn.pth');
    assert.throws(() => checkStrict(fasterIntoIr, 'frcnn.pth', { depth: 50, relation: true }), /a Faster R-CNN checkpoint\? .*allowMissing/);
    checkStrict(fasterIntoIr, 'frcnn.pth', { depth: 50, relation: true }, { allowMissing: true });
  });

  it("accepts an ImageNet checkpoint's fc.* while strict about everything else", async () => {
    const loaded = await readStateDict(fixture('resnet_backbone.pth'));
    const model = shapes(expected.resnet_backbone.expected_shapes);
    checkStrict(matchStateDict(model, loaded, 'resnet.pth'), 'resnet.pth', { depth: 50, relation: false }, { allowMissing: true });
    loaded.set('layer9.weight', { data: new Float32Array(1), shape: [1] });
    assert.throws(
      () => checkStrict(matchStateDict(model, loaded, 'resnet.pth'), 'resnet.pth', { depth: 50, relation: false }, { allowMissing: true }),
      /1 tensor\(s\) that this model does not have \(layer9\.weight\)/,
    );
  });

  it('names the key and both shapes on a mismatch', async () => {
    const loaded = await readStateDict(fixture('old_layout.pth'));
    const wrong = shapes({ ...expected.old_layout.expected_shapes, 'rpn.head.conv.0.0.weight': [4, 4, 1, 1] });
    assert.throws(() => matchStateDict(wrong, loaded, 'tv.pth'), {
      message: 'weights tv.pth: key rpn.head.conv.weight has shape [4, 4, 3, 3] but the model expects [4, 4, 1, 1]',
    });
    const scalar = new Map([['x', { data: new Float32Array(1), shape: [] }]]);
    assert.throws(() => matchStateDict(shapes({ x: [1] }), scalar, 'a.pth'), { message: 'weights a.pth: key x has shape [] but the model expects [1]' });
  });
});
