// The Detector API and the `detect` / `params` commands: decoding (grayscale, alpha, EXIF
// orientation), detect() on Buffers, the CLI's JSON, and one-line errors that leave the process up.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { resolveConfig } from '../../src/config';
import { Detector } from '../../src/detector';
import { isIrRcnnError, type IrRcnnErrorCode } from '../../src/errors';
import { decodeRgb } from '../../src/image';
import { torchInfo } from '../../src/native';
import { writeSafetensors } from '../../src/weights';
import { seededStateDict } from '../support/model_seeded_weights';
import { ROOT } from '../support/paths';

const IMAGE = path.join(ROOT, 'test', 'fixtures', 'model', 'image.png');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
// A small ResNet-18 model so that the CLI runs in a second; seeded weights, not trained ones.
const TINY = { model: { depth: 18 as const, numClasses: 5, minSize: 96, maxSize: 128, roi: { representationSize: 32 } } };

/** An IrRcnnError of `code` whose message matches `pattern`. */
const failure = (code: IrRcnnErrorCode, pattern: RegExp) => (error: unknown) => isIrRcnnError(error, code) && pattern.test(error.message);

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: process.env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function assertOneLineFailure(result: { status: number | null; stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.status, 1, `exit status (stderr: ${result.stderr})`);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr}`);
  assert.match(result.stderr, pattern);
}

describe('detector: images, detect() and the CLI', function () {
  let tmp: string;
  let detector: Detector;
  let weights: string;

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-detector-'));
    detector = await Detector.load({ config: TINY });
    await detector.loadState(seededStateDict(detector.stateShapes()));
    weights = path.join(tmp, 'tiny.safetensors');
    await writeSafetensors(weights, await detector.stateDict());
    fs.writeFileSync(path.join(tmp, 'tiny.json'), JSON.stringify(TINY));
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('decodes grayscale to equal R, G, B and drops alpha', async function () {
    const rgb = await decodeRgb(IMAGE);
    const gray = await decodeRgb(await sharp(IMAGE).grayscale().png().toBuffer());
    assert.deepEqual([gray.height, gray.width], [rgb.height, rgb.width]);
    for (let i = 0; i < gray.data.length; i += 3) {
      assert.ok(gray.data[i] === gray.data[i + 1] && gray.data[i] === gray.data[i + 2], `pixel ${i / 3} is not grey`);
    }
    const rgba = await decodeRgb(await sharp(IMAGE).ensureAlpha(0.5).png().toBuffer());
    assert.deepEqual(Buffer.from(rgba.data), Buffer.from(rgb.data));
  });

  it('applies the EXIF orientation', async function () {
    const rotated = await sharp(IMAGE).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const decoded = await decodeRgb(rotated);
    const rgb = await decodeRgb(IMAGE);
    assert.deepEqual([decoded.height, decoded.width], [rgb.width, rgb.height]);
  });

  it('detects on PNG, JPEG, grayscale and RGBA buffers, batched or not', async function () {
    const png = fs.readFileSync(IMAGE);
    const inputs = [
      png,
      await sharp(IMAGE).jpeg({ quality: 90 }).toBuffer(),
      await sharp(IMAGE).grayscale().png().toBuffer(),
      await sharp(IMAGE).ensureAlpha(0.3).png().toBuffer(),
    ];
    const one = await detector.detect(inputs, { scoreThreshold: 0 });
    const batched = await detector.detect(inputs, { scoreThreshold: 0, batchSize: 4 });
    assert.equal(one.length, 4);
    for (const result of one) {
      assert.ok(result.detections.length > 0);
      for (const d of result.detections) {
        assert.ok(d.bbox[2] >= 0 && d.bbox[3] >= 0 && d.bbox[0] >= 0 && d.bbox[0] + d.bbox[2] <= 200.001 && d.bbox[1] + d.bbox[3] <= 150.001);
        assert.ok(Number.isInteger(d.categoryId) && d.categoryId >= 1 && d.categoryId < 5);
      }
    }
    // Alpha is dropped, so the RGBA image gives the PNG's detections; batching changes nothing
    // for images of one size.
    assert.deepEqual(one[3], one[0]);
    for (let i = 0; i < 4; i++) {
      assert.equal(batched[i].detections.length, one[i].detections.length);
      batched[i].detections.forEach((d, j) => assert.ok(Math.abs(d.score - one[i].detections[j].score) < 1e-4));
    }
  });

  it('folds the frozen batch norms into the convolutions for inference, invisibly: state dict, reloads and detections', async function () {
    const folding = await Detector.load({ config: TINY });
    const seeded = seededStateDict(folding.stateShapes());
    await folding.loadState(seeded);
    const first = await folding.detect([IMAGE]);
    // After a detect the convolutions carry W·s; the state dict gives W back to within one rounding.
    const state = await folding.stateDict();
    let folded = 0;
    for (const [name, expected] of seeded) {
      const got = state.get(name)?.data as Float32Array;
      const isFoldedWeight = /(conv\d|downsample\.0)\.weight$/.test(name) && name.startsWith('backbone.body.');
      if (!isFoldedWeight) {
        assert.deepEqual(got, expected.data, name);
        continue;
      }
      folded++;
      expected.data.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 2 ** -23 * Math.abs(w), `${name}[${i}]: ${got[i]} vs ${w}`));
    }
    assert.ok(folded >= 20, `folded convolutions: ${folded}`);
    // Loading unfolds first and folds again at the next detect: the same bits as the first time.
    await folding.loadState(seeded);
    assert.deepEqual(await folding.detect([IMAGE]), first);
    // Folding stays within float rounding of the unfolded model: a reload of the exported weights agrees.
    const reloaded = await Detector.load({ config: TINY });
    await reloaded.loadState(state);
    const [a, b] = [first[0].detections, (await reloaded.detect([IMAGE]))[0].detections];
    assert.ok(a.length > 0);
    assert.equal(a.length, b.length);
    a.forEach((d, i) => {
      assert.equal(d.label, b[i].label);
      assert.ok(Math.abs(d.score - b[i].score) < 1e-4);
      d.bbox.forEach((v, k) => assert.ok(Math.abs(v - b[i].bbox[k]) < 1e-2, `box ${i}: ${d.bbox} vs ${b[i].bbox}`));
    });
  });

  it('maps class indices to category ids and honours maxDetections', async function () {
    const mapped = await Detector.load({ config: { model: { ...TINY.model, categoryIds: [0, 11, 22, 33, 44] } }, weights });
    const [a] = await mapped.detect([IMAGE], { scoreThreshold: 0, maxDetections: 7 });
    const [b] = await detector.detect([IMAGE], { scoreThreshold: 0, maxDetections: 7 });
    assert.equal(a.detections.length, 7);
    assert.deepEqual(a.detections.map((d) => d.categoryId), b.detections.map((d) => [0, 11, 22, 33, 44][d.categoryId]));
  });

  it('rejects a corrupt image with one line naming it, and keeps working', async function () {
    await assert.rejects(detector.detect([Buffer.from('not an image')]), (error: Error) => {
      assert.ok(isIrRcnnError(error, 'ERR_IMAGE_DECODE'));
      assert.match(error.message, /^image #0 \(buffer\): cannot decode image/);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    await assert.rejects(detector.detect(['/nonexistent/x.jpg']), failure('ERR_IMAGE_DECODE', /^\/nonexistent\/x\.jpg: cannot decode image/));
    await assert.rejects(detector.detect([IMAGE], { scoreThreshold: 2 }), failure('ERR_INVALID_ARGUMENT', /scoreThreshold must be a number in \[0, 1\]/));
    assert.equal((await detector.detect([IMAGE])).length, 1);
  });

  it('says so when CUDA is asked for and missing', async function () {
    if (torchInfo().cudaAvailable) this.skip();
    await assert.rejects(Detector.load({ config: TINY, device: 'cuda' }), failure('ERR_DEVICE', /device 'cuda': CUDA is not available/));
    await assert.rejects(Detector.load({ config: TINY, device: 'tpu' }), failure('ERR_DEVICE', /device 'tpu': expected 'cpu', 'cuda' or 'cuda:N'/));
  });

  it('refuses weights of another architecture with one line naming the key', async function () {
    const wrong = path.join(tmp, 'wrong.safetensors');
    await writeSafetensors(wrong, new Map([['backbone.body.conv1.weight', { data: new Float32Array(64 * 3 * 3 * 3), shape: [64, 3, 3, 3] }]]));
    await assert.rejects(Detector.load({ config: TINY, weights: wrong }), (error: Error) => {
      assert.match(error.message, /backbone\.body\.conv1\.weight/);
      assert.match(error.message, /\[64, 3, 3, 3\]/);
      assert.ok(!error.message.includes('\n'));
      return true;
    });
    const partial = path.join(tmp, 'partial.safetensors');
    await writeSafetensors(partial, new Map([['backbone.body.conv1.weight', { data: new Float32Array(64 * 3 * 7 * 7), shape: [64, 3, 7, 7] }]]));
    await assert.rejects(Detector.load({ config: TINY, weights: partial }), /missing \d+ tensor\(s\) of this model/);
  });

  it('refuses a ResNet-101 state dict in the R50 config (exit 1, one line, the config to use); --allow-unexpected loads it', async function () {
    const r101 = await Detector.load({ config: 'faster_rcnn_r101_fpn_coco' });
    const file = path.join(tmp, 'r101.safetensors');
    await writeSafetensors(file, await r101.stateDict());
    const args = ['detect', IMAGE, '--weights', file, '--config', 'faster_rcnn_r50_fpn_coco', '--max-dets', '1'];
    assertOneLineFailure(cli(args), /weights .*r101\.safetensors: \d+ tensor\(s\) that this model does not have \(backbone\.body\.layer3\.6\..*a ResNet-101 checkpoint\? try --config faster_rcnn_r101_fpn_coco/);
    const loaded = cli([...args, '--allow-unexpected']);
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.equal(cli(['detect', IMAGE, '--weights', file, '--config', 'faster_rcnn_r101_fpn_coco', '--max-dets', '1']).status, 0);
    fs.rmSync(file);
  });

  it('runs the IR module: graphs among detections and the relation loss', async function () {
    const ir = await Detector.load({ config: { model: { ...TINY.model, relation: { enabled: true, k: 8 } } } });
    await ir.loadState(seededStateDict(ir.stateShapes()));
    const [result] = await ir.detect([IMAGE], { scoreThreshold: 0, maxDetections: 30, returnGraph: true });
    const graph = result.graph;
    assert.ok(graph && graph.src.length > 0, 'a graph with edges');
    const n = result.detections.length;
    const edges = new Set<string>();
    for (let e = 0; e < graph.src.length; e++) {
      assert.ok(graph.src[e] >= 0 && graph.src[e] < n && graph.dst[e] >= 0 && graph.dst[e] < n, `edge ${e} out of range`);
      assert.ok([1, 2, 3].includes(graph.type[e]));
      edges.add(`${graph.src[e]},${graph.dst[e]}`);
    }
    for (let e = 0; e < graph.src.length; e++) assert.ok(edges.has(`${graph.dst[e]},${graph.src[e]}`), 'undirected');
    const [plain] = await detector.detect([IMAGE], { returnGraph: true });
    assert.equal(plain.graph, undefined);
    const image = await decodeRgb(IMAGE);
    const losses = await ir.losses([image], [{ boxes: new Float32Array([20, 30, 70, 90]), labels: new Int32Array([2]), crowdBoxes: new Float32Array(0) }], { seed: 1 });
    assert.deepEqual(Object.keys(losses).sort(), ['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_relation', 'loss_rpn_box_reg']);
    assert.ok(Object.values(losses).every(Number.isFinite));
    await assert.rejects(
      ir.losses([image], [{ boxes: new Float32Array([20, 30, 70, 90]), labels: new Int32Array([5]), crowdBoxes: new Float32Array(0) }]),
      failure('ERR_INVALID_ARGUMENT', /labels outside 1\.\.4/),
    );
  });

  it('counts parameters as torchvision does', async function () {
    const r50 = await Detector.load({ config: 'faster_rcnn_r50_fpn_coco' });
    assert.deepEqual(r50.parameterCount(), { total: 41755286, trainable: r50.parameterCount().trainable, relation: 0 });
    const r101 = await Detector.load({ config: 'faster_rcnn_r101_fpn_coco', numClasses: 81 });
    assert.equal(r101.parameterCount().total, 60643940);
    const ir101 = await Detector.load({ config: 'ir_rcnn_r101_fpn_coco' });
    assert.equal(ir101.parameterCount().total - ir101.parameterCount().relation, 60643940);
    assert.equal(ir101.parameterCount().relation, 4196352);
  });

  it('validates configs with one-line errors naming the field', function () {
    assert.throws(() => resolveConfig('faster_rcnn_r50_fpn_coco', { model: { depth: 42 as 50 } }), /: config faster_rcnn_r50_fpn_coco: model\.depth: expected 18, 34, 50 or 101/);
    assert.throws(() => resolveConfig({ model: { numClasses: 3, categoryIds: [0, 1] } }), /model\.categoryIds: expected one category id per class/);
    assert.throws(() => resolveConfig('no_such_preset'), /not a preset/);
    assert.equal(resolveConfig('ir_rcnn_r50_fpn_coco', { model: { numClasses: 91 } }).model.categoryIds, undefined);
    assert.equal(resolveConfig('ir_rcnn_r50_fpn_coco').model.categoryIds?.[80], 90);
  });

  it('ir-rcnn detect prints the CLI contract JSON', function () {
    const result = cli(['detect', IMAGE, IMAGE, '--weights', weights, '--config', path.join(tmp, 'tiny.json'), '--score-thresh', '0', '--max-dets', '5']);
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { file: string; detections: { bbox: number[]; score: number; category_id: number }[] }[];
    assert.equal(json.length, 2);
    assert.equal(json[0].file, IMAGE);
    assert.equal(json[0].detections.length, 5);
    assert.deepEqual(Object.keys(json[0].detections[0]), ['bbox', 'score', 'category_id']);
    assert.equal(json[0].detections[0].bbox.length, 4);
  });

  it('ir-rcnn params prints { total, relation }', function () {
    const result = cli(['params', '--config', 'ir_rcnn_r50_fpn_coco']);
    assert.equal(result.status, 0, result.stderr);
    const json = JSON.parse(result.stdout) as { total: number; relation: number };
    assert.deepEqual(Object.keys(json), ['total', 'relation']);
    assert.equal(json.relation, 4196352);
  });

  it('CLI errors are one line on stderr, exit 1, nothing on stdout', function () {
    const corrupt = path.join(tmp, 'corrupt.jpg');
    fs.writeFileSync(corrupt, 'garbage');
    assertOneLineFailure(cli(['detect', corrupt, '--weights', weights, '--config', path.join(tmp, 'tiny.json')]), /corrupt\.jpg: cannot decode image/);
    assertOneLineFailure(cli(['detect', IMAGE]), /--weights is required/);
    assertOneLineFailure(cli(['detect', IMAGE, '--weights', weights, '--score-thresh', 'high']), /--score-thresh: expected a number/);
    assertOneLineFailure(cli(['detect', IMAGE, '--weights', weights, '--config', 'faster_rcnn_r50_fpn_coco']), /weights .*tiny\.safetensors/);
    assertOneLineFailure(cli(['params', '--config', 'nope']), /not a preset/);
    assertOneLineFailure(cli(['frobnicate']), /unknown command 'frobnicate'/);
  });
});
