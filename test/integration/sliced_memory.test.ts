// Sliced detection's memory bound: an 8000 × 8000 image detected tile by tile peaks at no more
// than 1.5 × the RSS of one ordinary detect at 1333 × 800 with the same model (each in a fresh
// process). The image is decoded once; tiles are cropped per pass; the whole-image pass gets the
// image shrunk to the model's size.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { runDetectJob } from '../../src/demo/detect_child';
import { Detector } from '../../src/detector';
import { writeSafetensors } from '../../src/weights';
import { seededStateDict } from '../support/model_seeded_weights';

// A seeded R18-FPN at the COCO resize (short side 800, long side ≤ 1333).
const CONFIG = { model: { depth: 18 as const, numClasses: 5, minSize: 800, maxSize: 1333 } };

describe('sliced detection: memory', function () {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-large-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an 8000 × 8000 image in tiles peaks within 1.5 × one 1333-px detect', async function () {
    this.timeout(20 * 60 * 1000);
    const plainFile = path.join(dir, 'plain.png');
    const largeFile = path.join(dir, 'large.png');
    // Gradients so that every tile holds something; PNG keeps the files small.
    const gradient = (width: number, height: number) =>
      sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 60 } } })
        .composite([{ input: Buffer.from(`<svg width="${width}" height="${height}"><defs><linearGradient id="g"><stop offset="0" stop-color="#203040"/><stop offset="1" stop-color="#d0c0a0"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`) }])
        .png();
    await gradient(1333, 800).toFile(plainFile);
    await gradient(8000, 8000).toFile(largeFile);
    const weights = path.join(dir, 'r18.safetensors');
    const detector = await Detector.load({ config: CONFIG });
    await writeSafetensors(weights, seededStateDict(detector.stateShapes()));
    await detector.dispose();
    // Each in a fresh process, so that each peak is its own.
    const job = (file: string, options: object, name: string) =>
      runDetectJob({ config: CONFIG, weights, images: [{ file, imageId: 1 }], options, resultsFile: path.join(dir, `${name}.json`) }, path.join(dir, `${name}.job.json`));
    const plain = await job(plainFile, {}, 'plain');
    const sliced = await job(largeFile, { tiles: { size: 2048, overlap: 0.2 } }, 'sliced');
    console.log(`      peak RSS: one 1333×800 detect ${plain.peakMiB.toFixed(0)} MiB; 8000×8000 in 2048-px tiles ${sliced.peakMiB.toFixed(0)} MiB (${sliced.seconds.toFixed(1)} s)`);
    assert.ok(sliced.peakMiB <= 1.5 * plain.peakMiB, `${sliced.peakMiB.toFixed(0)} MiB > 1.5 × ${plain.peakMiB.toFixed(0)} MiB`);
  });
});
