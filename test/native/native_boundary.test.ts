// The native boundary as a whole: the model config reaches C++ exactly as the schema resolves it,
// errors arrive as IrRcnnError with their code, handles are disposed explicitly, and the addon
// loads in worker threads (one instance, and its own error class, per thread).
import { strict as assert } from 'assert';
import { Worker } from 'worker_threads';
import { presets, resolveConfig } from '../../src/config';
import { nativeModelConfig } from '../../src/config/native';
import { Detector } from '../../src/detector';
import { isIrRcnnError, type IrRcnnErrorCode } from '../../src/errors';
import { addon } from '../../src/native';
import { nms } from '../../src/ops';
import { NativeTrainer } from '../../src/train/native_trainer';
import type { RgbImage } from '../../src/types';
import { ROOT } from '../support/paths';
import { PROBE } from '../support/train_helpers';

// A ResNet-18 detector small enough to build in a worker in a second.
const TINY = { model: { depth: 18 as const, numClasses: 3, minSize: 64, maxSize: 64, roi: { representationSize: 16 } } };

const failure = (code: IrRcnnErrorCode, pattern: RegExp) => (error: unknown) =>
  isIrRcnnError(error, code) && pattern.test(error.message) && !error.message.includes('\n');

function image(size = 64): RgbImage {
  return { data: new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 256), height: size, width: size };
}

type Plain = Record<string, unknown>;
const echo = (config: unknown): Plain => addon().echoModelConfig(config) as Plain;

describe('native boundary: the model config has one source', () => {
  for (const preset of Object.keys(presets)) {
    it(`${preset}: C++ reads every field as the schema resolved it`, () => {
      const model = nativeModelConfig(resolveConfig(preset).model);
      assert.deepStrictEqual(echo(model), model);
    });
  }

  it('rejects an unknown key and a missing one, naming the field', () => {
    const model = nativeModelConfig(resolveConfig('ir_rcnn_r50_fpn_coco').model) as Plain & { rpn: Plain; relation: Plain };
    assert.throws(() => echo({ ...model, scoreThresh: 0.1 }), failure('ERR_INVALID_ARGUMENT', /^model: unknown option 'scoreThresh'$/));
    assert.throws(() => echo({ ...model, rpn: { ...model.rpn, nmsThresh: 0.7 } }), failure('ERR_INVALID_ARGUMENT', /^model\.rpn: unknown option 'nmsThresh'$/));
    const { nmsThreshold: _, ...rpn } = model.rpn;
    assert.throws(() => echo({ ...model, rpn }), failure('ERR_INVALID_ARGUMENT', /^model\.rpn\.nmsThreshold: required$/));
    const { k: __, ...relation } = model.relation;
    assert.throws(() => echo({ ...model, relation }), failure('ERR_INVALID_ARGUMENT', /^model\.relation\.k: required$/));
    // categoryIds is TypeScript's: it must not cross.
    assert.throws(() => echo(resolveConfig('ir_rcnn_r50_fpn_coco').model), failure('ERR_INVALID_ARGUMENT', /^model: unknown option 'categoryIds'$/));
  });

  it('a config the model cannot be built from is ERR_CONFIG', () => {
    const model = nativeModelConfig(resolveConfig(TINY).model);
    assert.throws(() => addon().createDetector({ ...model, anchorSizes: [32, 64] }), failure('ERR_CONFIG', /^model\.anchorSizes: expected 5 sizes/));
    assert.throws(() => addon().createDetector({ ...model, relation: { ...model.relation, enabled: true, edgeWeights: 'soft' } }),
      failure('ERR_CONFIG', /^relation\.edgeWeights: expected 'binary' or 'relatedness', got 'soft'$/));
  });
});

describe('native boundary: handles', () => {
  it('a disposed detector rejects every call with ERR_DISPOSED; `await using` disposes at the end of the scope', async () => {
    let kept: Detector;
    {
      await using detector = await Detector.load({ config: TINY });
      kept = detector;
      assert.equal((await detector.detectPixels([image()])).length, 1);
    }
    const disposed = failure('ERR_DISPOSED', /^detector: used after dispose\(\)$/);
    await assert.rejects(kept.detectPixels([image()]), disposed);
    await assert.rejects(kept.stateDict(), disposed);
    assert.throws(() => kept.stateShapes(), disposed);
    await kept.dispose(); // twice is harmless
  });

  it('dispose() during a detection: the detection completes or is refused, never crashes', async () => {
    const detector = await Detector.load({ config: TINY });
    const [detected, disposed] = await Promise.allSettled([detector.detectPixels([image(), image()]), detector.dispose()]);
    assert.equal(disposed.status, 'fulfilled');
    assert.ok(detected.status === 'fulfilled' || isIrRcnnError(detected.reason, 'ERR_DISPOSED'), String(detected.status === 'rejected' && detected.reason));
  });

  it('a handle of one kind is refused where another is expected', async () => {
    const detector = await Detector.load({ config: TINY });
    const trainer = await NativeTrainer.create(PROBE);
    const handle = (trainer as unknown as { handle: unknown }).handle;
    assert.throws(() => addon().detectorStateShapes(handle), failure('ERR_INVALID_ARGUMENT', /^stateShapes\.handle: expected a detector handle$/));
    await trainer.dispose();
    await detector.dispose();
  });
});

describe('native boundary: worker threads', () => {
  it('a worker loads the package, detects, runs an op, disposes and exits; the main thread still detects', async () => {
    const main = await Detector.load({ config: TINY });
    const before = await main.detectPixels([image()], { scoreThreshold: 0 });
    const script = `
      const { parentPort } = require('worker_threads');
      const irRcnn = require(${JSON.stringify(ROOT)});
      (async () => {
        const detector = await irRcnn.Detector.load({ config: ${JSON.stringify(TINY)} });
        const size = 64;
        const image = { data: new Uint8Array(size * size * 3).map((_, i) => (i * 37) % 256), height: size, width: size };
        const [result] = await detector.detectPixels([image], { scoreThreshold: 0 });
        const keep = await irRcnn.nms({
          boxes: { data: new Float32Array([0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30]), shape: [3, 4] },
          scores: { data: new Float32Array([0.9, 0.8, 0.7]), shape: [3] },
          iouThreshold: 0.5,
        });
        const typed = await irRcnn.nms({}).then(() => false, (e) => irRcnn.isIrRcnnError(e, 'ERR_INVALID_ARGUMENT'));
        await detector.dispose();
        parentPort.postMessage({ detections: result.detections.length, keep: Array.from(keep.data), typed });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
    const worker = new Worker(script, { eval: true });
    const [message, exitCode] = await Promise.all([
      new Promise<Plain>((resolve) => worker.once('message', resolve)),
      new Promise<number>((resolve) => worker.once('exit', resolve)),
    ]);
    assert.equal(message.error, undefined);
    assert.ok(typeof message.detections === 'number' && message.detections > 0, JSON.stringify(message));
    assert.deepEqual({ ...message, detections: 1 }, { detections: 1, keep: [0, 2], typed: true });
    assert.equal(exitCode, 0);
    // The main thread's instance (its error class, its models) is untouched.
    const after = await main.detectPixels([image()], { scoreThreshold: 0 });
    assert.deepEqual(after[0].detections, before[0].detections);
    await assert.rejects(nms({} as never), failure('ERR_INVALID_ARGUMENT', /^nms\.boxes: required$/));
    await main.dispose();
  });
});
