// The synthetic small-object set: deterministic bytes, valid COCO for the project's own loader and
// evaluator, and the area distribution the README states.
import { strict as assert } from 'assert';
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { imageAnnotations, loadCocoAnnotations } from '../../src/data/coco';
import { hash32 } from '../../src/data/random';
import { generateSyntheticDataset, renderSyntheticImage, SYNTHETIC_CATEGORIES } from '../../src/data/synthetic';
import { evaluateResults } from '../../src/eval/evaluate';
import { CLI } from '../support/paths';

let dir: string;
before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-synth-'))));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** sha256 of every file under `root`, by relative path. */
function digest(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(root, file)] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return out;
}

describe('synthetic set', () => {
  it('is deterministic: the same seed gives the same bytes, another seed other bytes', async () => {
    const options = { images: 3, valImages: 2, size: 128 };
    await generateSyntheticDataset({ ...options, out: path.join(dir, 'a'), seed: 4 });
    await generateSyntheticDataset({ ...options, out: path.join(dir, 'b'), seed: 4 });
    await generateSyntheticDataset({ ...options, out: path.join(dir, 'c'), seed: 5 });
    const a = digest(path.join(dir, 'a'));
    assert.equal(Object.keys(a).length, 3 + 2 + 2);
    assert.deepEqual(digest(path.join(dir, 'b')), a);
    assert.notDeepEqual(digest(path.join(dir, 'c')), a);
  });

  it('has pinned bytes: its drawing (pixels before JPEG) and its files, so a change of code or of JPEG encoder shows here', async () => {
    // Checked on this project's machines: JPEG encoding and decoding give these bytes with
    // libjpeg's SIMD on or off (JSIMD_FORCENONE=1, JSIMD_FORCESSE2=1) and VIPS_NOVECTOR=1, and the
    // drawing is plain JavaScript. If only the files differ, sharp's encoder (sharp.versions:
    // vips 8.18.7, mozjpeg 0826579 when pinned) changed: the synthetic set, and every demo number,
    // changes with it.
    const pixels = renderSyntheticImage(hash32(hash32(4, 1), 0), 128).pixels;
    assert.equal(createHash('sha256').update(pixels).digest('hex'), '1d67c921d1131ed3b52eced95324fe0d7b2b2fcab27677acaab52e223ae55fe1');
    await generateSyntheticDataset({ out: path.join(dir, 'pinned'), images: 3, valImages: 2, size: 128, seed: 4 });
    assert.deepEqual(digest(path.join(dir, 'pinned')), {
      'annotations/instances_train.json': 'a9a150804c6935c2d58a44c7b4482033662a64e4d82dc3293a2faeede009dda7',
      'annotations/instances_val.json': '9f7866ce266697cf6c5777f41c411c04a0907d7e25237e179d599bbd1b4e1fa1',
      'train/000001.jpg': 'c2d293f0b111549307552bc80a1ac7bfbb2e0641ff14a076f10cea36e8e6b0ec',
      'train/000002.jpg': '91f846696dd1322eb6a04cf01aadfbb72ddf8d1b2409eabf047d31d9cc77528f',
      'train/000003.jpg': '0d54c59cfae9b60210017cb198b0f6d462c572d32a4aaa8fefab6194c53d10f2',
      'val/000001.jpg': 'a7bc1d4609fb7a5afae290f3182c6a91a98f726eb1fe3af14ba828f42615573f',
      'val/000002.jpg': '6a886cfad0ef152e3af25ad17dd5705081c176dc85698dd6b3e81754bd392a1d',
    });
  });

  it('writes COCO that the loader reads and the evaluator scores (ground truth as detections: AP 1)', async () => {
    const set = await generateSyntheticDataset({ out: path.join(dir, 'coco'), images: 4, valImages: 1, seed: 1, size: 160 });
    const train = await loadCocoAnnotations(set.trainAnnotations);
    assert.equal(train.images.ids.length, 4);
    assert.deepEqual(train.categories.names, SYNTHETIC_CATEGORIES.map((c) => c.name));
    for (let i = 0; i < 4; i++) {
      assert.ok(fs.existsSync(path.join(set.trainImages, train.images.fileNames[i])));
      assert.ok(imageAnnotations(train, i).boxes.length > 0);
    }
    const val = await loadCocoAnnotations(set.valAnnotations);
    const doc = JSON.parse(fs.readFileSync(set.valAnnotations, 'utf8'));
    const results = doc.annotations.map((a: { image_id: number; category_id: number; bbox: number[] }) => ({ ...a, score: 1 }));
    const { stats } = await evaluateResults(val, results);
    assert.equal(stats[0], 1);
  });

  it('objects are mostly small, with a few medium and large, in same-category clusters', () => {
    let small = 0;
    let medium = 0;
    let large = 0;
    let clustered = 0;
    for (let i = 0; i < 60; i++) {
      const objects = renderSyntheticImage(hash32(hash32(0, 1), i), 320).objects;
      for (const o of objects) {
        // A cluster mate: same category, same aspect ratio, centre within 100 px.
        const aspect = o.bbox[2] / o.bbox[3];
        const centre = (b: number[]) => [b[0] + b[2] / 2, b[1] + b[3] / 2];
        const [cx, cy] = centre(o.bbox);
        const mate = objects.some((p) => {
          const [px, py] = centre(p.bbox);
          return p !== o && p.categoryId === o.categoryId && Math.abs(p.bbox[2] / p.bbox[3] / aspect - 1) < 0.02 && Math.hypot(px - cx, py - cy) < 100;
        });
        if (mate) clustered++;
        const area = o.bbox[2] * o.bbox[3];
        if (area < 32 ** 2) small++;
        else if (area < 96 ** 2) medium++;
        else large++;
        assert.ok(o.bbox[0] >= 0 && o.bbox[1] >= 0 && o.bbox[0] + o.bbox[2] <= 320 && o.bbox[1] + o.bbox[3] <= 320);
      }
    }
    const total = small + medium + large;
    // The README's figures (300 images, seed 0): 94% small, 5% medium, 0.4% large, 28 objects an image.
    assert.ok(total / 60 > 20 && total / 60 < 36, `objects per image ${total / 60}`);
    assert.ok(small / total > 0.9, `small ${small / total}`);
    assert.ok(medium / total > 0.02 && medium / total < 0.1, `medium ${medium / total}`);
    assert.ok(large / total < 0.015, `large ${large / total}`);
    assert.ok(clustered / total > 0.95, `clustered ${clustered / total}`);
  });

  it('`ir-rcnn synth` writes the set and prints where; bad options exit 1 with one line', () => {
    const main = CLI;
    const out = path.join(dir, 'cli');
    const printed = JSON.parse(execFileSync(process.execPath, [main, 'synth', '--out', out, '--images', '1', '--val-images', '0', '--size', '64'], { encoding: 'utf8' }));
    assert.equal(printed.trainAnnotations, path.join(out, 'annotations', 'instances_train.json'));
    assert.ok(fs.existsSync(path.join(out, 'train', '000001.jpg')));
    assert.throws(
      () => execFileSync(process.execPath, [main, 'synth', '--out', out, '--images', 'many'], { encoding: 'utf8', stdio: 'pipe' }),
      (error: { status: number; stderr: string; stdout: string }) =>
        error.status === 1 && /^ir-rcnn: option --images: expected an integer/.test(error.stderr) && error.stdout === '',
    );
  });
});
