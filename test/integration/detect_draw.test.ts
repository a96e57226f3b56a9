// Detector.detect({ draw }) and `ir-rcnn detect --draw`: each image written with its boxes, labels
// and scores (and, for an IR model, its relation graph), named after its input, on a tiny
// ResNet-18 detector with seeded weights.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { Detector } from '../../src/detector';
import { isIrRcnnError } from '../../src/errors';
import { writeSafetensors } from '../../src/weights';
import { seededStateDict } from '../support/model_seeded_weights';
import { CLI, FIXTURES } from '../support/paths';

const IMAGE = path.join(FIXTURES, 'model', 'image.png');
const TINY = { model: { depth: 18 as const, numClasses: 5, minSize: 96, maxSize: 128, roi: { representationSize: 32 } } };
const TITLE_HEIGHT = 28;

/** The drawing's pixels below its title bar, as RGB bytes. */
async function drawnPixels(file: string): Promise<{ data: Buffer; width: number; height: number }> {
  const meta = await sharp(file).metadata();
  const { data, info } = await sharp(file)
    .extract({ left: 0, top: TITLE_HEIGHT, width: meta.width as number, height: (meta.height as number) - TITLE_HEIGHT })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function loadTiny(relation: boolean): Promise<Detector> {
  const detector = await Detector.load({ config: { model: { ...TINY.model, relation: { enabled: relation, k: 8 } } } });
  await detector.loadState(seededStateDict(detector.stateShapes()));
  return detector;
}

describe('detect: drawing the results', function () {
  this.timeout(120000);
  let tmp: string;
  let detector: Detector;

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-detect-draw-'));
    detector = await loadTiny(false);
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes each image with its boxes under its own name, Buffers as image-<index>, clashing names with the index, tiled or not', async () => {
    for (const dir of ['a', 'b']) {
      fs.mkdirSync(path.join(tmp, dir));
      fs.copyFileSync(IMAGE, path.join(tmp, dir, 'photo.png'));
    }
    const out = path.join(tmp, 'drawn');
    const images = [path.join(tmp, 'a', 'photo.png'), path.join(tmp, 'b', 'photo.png'), fs.readFileSync(IMAGE)];
    const results = await detector.detect(images, { scoreThreshold: 0, maxDetections: 5, draw: out, drawScoreThreshold: 0 });
    assert.deepEqual(fs.readdirSync(out).sort(), ['image-2.png', 'photo-0.png', 'photo-1.png']);
    assert.equal(results.length, 3);
    assert.ok(results[0].detections.length > 0);
    // Above the title bar, the image at its own size; boxes drawn over it where there are detections.
    const original = await sharp(IMAGE).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const drawn = await drawnPixels(path.join(out, 'photo-0.png'));
    assert.deepEqual([drawn.width, drawn.height], [original.info.width, original.info.height]);
    assert.notDeepEqual(drawn.data, original.data);
    // Sliced detection draws the merged detections on the whole image.
    const tiled = path.join(tmp, 'tiled');
    await detector.detect([IMAGE], { scoreThreshold: 0, maxDetections: 5, tiles: { size: 96 }, draw: tiled, drawScoreThreshold: 0 });
    const tiledDrawing = await drawnPixels(path.join(tiled, 'image.png'));
    assert.deepEqual([tiledDrawing.width, tiledDrawing.height], [original.info.width, original.info.height]);
    assert.notDeepEqual(tiledDrawing.data, original.data);
    // With no detection, only the image is left, pixel for pixel. (The unit test checks the
    // drawing threshold: these seeded weights score every detection 1.)
    const none = path.join(tmp, 'none');
    await detector.detect([IMAGE], { maxDetections: 0, draw: none });
    assert.deepEqual((await drawnPixels(path.join(none, 'image.png'))).data, original.data);
  });

  it('labels boxes with the caller\'s category names, else the ids, and draws an IR model\'s relation graph', async () => {
    const draw = async (d: Detector, dir: string, options: object) => {
      await d.detect([IMAGE], { scoreThreshold: 0, maxDetections: 20, draw: path.join(tmp, dir), drawScoreThreshold: 0, ...options });
      return (await drawnPixels(path.join(tmp, dir, 'image.png'))).data;
    };
    const ids = await draw(detector, 'ids', {});
    assert.deepEqual(await draw(detector, 'ids-again', {}), ids);
    assert.notDeepEqual(await draw(detector, 'names', { categoryNames: { 1: 'disc', 2: 'notched', 3: 'striped', 4: 'dotted' } }), ids);
    const ir = await loadTiny(true);
    const withoutGraph = await draw(ir, 'ir-boxes', {});
    assert.notDeepEqual(await draw(ir, 'ir-graph', { returnGraph: true }), withoutGraph);
    const invalid = (message: string) => (error: unknown) => isIrRcnnError(error, 'ERR_INVALID_ARGUMENT') && error.message === message;
    await assert.rejects(detector.detect([IMAGE], { draw: '' }), invalid('detect: draw must be a folder path'));
    await assert.rejects(detector.detect([IMAGE], { draw: '/dev/null/x' }), invalid('/dev/null/x: cannot create the drawing folder (ENOTDIR)'));
    await assert.rejects(detector.detect([IMAGE], { draw: path.join(tmp, 'x'), drawScoreThreshold: 2 }), /drawScoreThreshold must be a number in \[0, 1\]/);
  });

  it('ir-rcnn detect --draw DIR [--categories FILE] draws, prints the same JSON, and refuses drawing options without --draw', async () => {
    const weights = path.join(tmp, 'tiny.safetensors');
    await writeSafetensors(weights, await detector.stateDict());
    const config = path.join(tmp, 'tiny.json');
    fs.writeFileSync(config, JSON.stringify(TINY));
    const categories = path.join(tmp, 'categories.json');
    fs.writeFileSync(categories, JSON.stringify({ images: [], annotations: [], categories: [1, 2, 3, 4].map((id) => ({ id, name: `thing ${id}` })) }));
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'detect', IMAGE, '--weights', weights, '--config', config, '--max-dets', '5', ...args], { encoding: 'utf8' });
    const plain = run([]);
    const out = path.join(tmp, 'cli');
    const drawn = run(['--draw', out, '--categories', categories, '--draw-score-thresh', '0']);
    assert.equal(drawn.status, 0, drawn.stderr);
    assert.equal(drawn.stdout, plain.stdout);
    assert.deepEqual(fs.readdirSync(out), ['image.png']);
    // The category names label the boxes instead of the ids.
    const byId = path.join(tmp, 'cli-ids');
    assert.equal(run(['--draw', byId, '--draw-score-thresh', '0']).status, 0);
    assert.notDeepEqual((await drawnPixels(path.join(out, 'image.png'))).data, (await drawnPixels(path.join(byId, 'image.png'))).data);
    const refused = run(['--categories', categories]);
    assert.equal(refused.status, 1);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.match(refused.stderr, /^ir-rcnn: --categories and --draw-score-thresh only apply with --draw; usage: /);
  });
});
