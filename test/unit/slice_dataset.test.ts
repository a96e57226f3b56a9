// `ir-rcnn slice` / sliceDataset: a COCO set becomes a COCO set of tiles; boxes clipped to each
// tile and dropped below minAreaRatio, crowd regions kept clipped, empty tiles kept at a seeded
// rate, tile pixels equal to the source's, images smaller than a tile kept whole.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { imageAnnotations, loadCocoAnnotations } from '../../src/data/coco';
import { sliceDataset } from '../../src/slice/dataset';
import { CLI } from '../support/paths';

/** A 100×60 and a 30×20 PNG with noise pixels, and their COCO annotations. */
async function sourceSet(dir: string): Promise<{ annotations: string; images: string; pixels: Buffer }> {
  const images = path.join(dir, 'src');
  fs.mkdirSync(images, { recursive: true });
  const pixels = Buffer.from(Array.from({ length: 100 * 60 * 3 }, (_, i) => (i * 37) % 251));
  await sharp(pixels, { raw: { width: 100, height: 60, channels: 3 } }).png().toFile(path.join(images, 'a.png'));
  await sharp(Buffer.alloc(30 * 20 * 3, 90), { raw: { width: 30, height: 20, channels: 3 } }).png().toFile(path.join(images, 'b.png'));
  const annotations = path.join(dir, 'gt.json');
  fs.writeFileSync(
    annotations,
    JSON.stringify({
      images: [{ id: 7, file_name: 'a.png', width: 100, height: 60 }, { id: 8, file_name: 'b.png', width: 30, height: 20 }],
      categories: [{ id: 3, name: 'car' }, { id: 5, name: 'person' }],
      annotations: [
        // Across the border at x = 40 between tiles x 0..40 and 30..70 (tile 60..100 sees none).
        { id: 1, image_id: 7, category_id: 3, bbox: [32, 5, 16, 10], area: 160, iscrowd: 0 },
        // Only 2 of its 10 columns reach into tile 60..100: below the 0.3 area share there.
        { id: 2, image_id: 7, category_id: 5, bbox: [52, 45, 10, 10], area: 100, iscrowd: 0 },
        { id: 3, image_id: 7, category_id: 5, bbox: [80, 0, 20, 10], area: 200, iscrowd: 1 },
        { id: 4, image_id: 8, category_id: 3, bbox: [2, 2, 5, 5], area: 25, iscrowd: 0 },
      ],
    }),
  );
  return { annotations, images, pixels };
}

describe('slice: dataset of tiles', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-slice-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('clips boxes to tiles, drops slivers, keeps crowd regions and tile pixels, keeps small images whole', async () => {
    const source = await sourceSet(dir);
    const out = path.join(dir, 'tiles');
    const result = await sliceDataset({ ...source, out, tile: { size: 40, overlap: 0.25 }, emptyTileRate: 1 });
    // a.png: x 0, 30, 60 × y 0, 20 = 6 tiles; b.png (30×20) is one tile of its own size.
    assert.strictEqual(result.sourceImages, 2);
    assert.strictEqual(result.tiles, 7);
    const tiles = await loadCocoAnnotations(result.annotations);
    assert.deepStrictEqual(tiles.images.fileNames, ['a_0_0.png', 'a_30_0.png', 'a_60_0.png', 'a_0_20.png', 'a_30_20.png', 'a_60_20.png', 'b_0_0.png']);
    assert.deepStrictEqual(Array.from(tiles.categories.ids), [3, 5]);
    const boxesOf = (name: string) => {
      const i = tiles.images.fileNames.indexOf(name);
      const t = imageAnnotations(tiles, i);
      return { boxes: Array.from(t.boxes), labels: Array.from(t.labels), crowd: Array.from(t.crowdBoxes) };
    };
    // The car cut at x = 40: 32..40 in tile 0 (8 of 16 columns: kept), 32..48 whole in tile 30.
    assert.deepStrictEqual(boxesOf('a_0_0.png'), { boxes: [32, 5, 40, 15], labels: [1], crowd: [] });
    assert.deepStrictEqual(boxesOf('a_30_0.png'), { boxes: [2, 5, 18, 15], labels: [1], crowd: [] });
    // The crowd region, clipped; the person at x 52..62 reaches tile 60 by 2 columns only: dropped.
    assert.deepStrictEqual(boxesOf('a_60_0.png'), { boxes: [], labels: [], crowd: [20, 0, 40, 10] });
    assert.deepStrictEqual(boxesOf('a_30_20.png'), { boxes: [22, 25, 32, 35], labels: [2], crowd: [] });
    assert.deepStrictEqual(boxesOf('a_60_20.png'), { boxes: [], labels: [], crowd: [] });
    assert.ok(result.droppedParts >= 1);
    assert.deepStrictEqual(boxesOf('b_0_0.png'), { boxes: [2, 2, 7, 7], labels: [1], crowd: [] });
    // Tile pixels are the source's crop, bit for bit (PNG in, PNG out).
    const { data, info } = await sharp(path.join(out, 'images', 'a_30_20.png')).raw().toBuffer({ resolveWithObject: true });
    assert.deepStrictEqual([info.width, info.height, info.channels], [40, 40, 3]);
    for (let y = 0; y < 40; y++) {
      const row = source.pixels.subarray(((20 + y) * 100 + 30) * 3, ((20 + y) * 100 + 70) * 3);
      assert.ok(row.equals(data.subarray(y * 40 * 3, (y + 1) * 40 * 3)), `row ${y}`);
    }
  });

  it('keeps empty tiles at the asked rate, the same ones on every run', async () => {
    const source = await sourceSet(dir);
    const none = await sliceDataset({ ...source, out: path.join(dir, 'none'), tile: { size: 40, overlap: 0.25 }, emptyTileRate: 0 });
    assert.strictEqual(none.emptyTiles, 0);
    // Tile a_60_0 has a crowd region only: it counts as a tile with a box.
    assert.strictEqual(none.tiles, 5);
    const half = async (out: string) => (await loadCocoAnnotations((await sliceDataset({ ...source, out, tile: { size: 10, overlap: 0 }, emptyTileRate: 0.5, seed: 4 })).annotations)).images.fileNames;
    const first = await half(path.join(dir, 'h1'));
    assert.deepStrictEqual(await half(path.join(dir, 'h2')), first);
    assert.ok(first.length > 10 && first.length < 66, `${first.length} tiles`);
  });

  it('stops on an abort signal without leaving an annotations file, and rejects bad options in one line', async () => {
    const source = await sourceSet(dir);
    const controller = new AbortController();
    const out = path.join(dir, 'aborted');
    await assert.rejects(
      sliceDataset({ ...source, out, tile: { size: 40, overlap: 0.25 }, onProgress: () => controller.abort(), signal: controller.signal }),
      /abort/i,
    );
    assert.ok(!fs.existsSync(path.join(out, 'annotations.json')));
    assert.deepStrictEqual(fs.readdirSync(out), ['images']);
    await assert.rejects(sliceDataset({ ...source, out, tile: { size: 40, overlap: 1.5 } }), /slice: tile\.overlap: expected a number in \[0, 1\), got 1\.5/);
    await assert.rejects(sliceDataset({ ...source, out, tile: { size: 40, overlap: 0 }, minAreaRatio: 2 }), /slice: minAreaRatio must be in \[0, 1\], got 2/);
  });

  it('`ir-rcnn slice` prints what it wrote; usage errors exit 1 with one line', async () => {
    const source = await sourceSet(dir);
    const out = path.join(dir, 'cli');
    const ok = spawnSync(process.execPath, [CLI, 'slice', '--annotations', source.annotations, '--images', source.images, '--out', out, '--tile', '40', '--overlap', '0.25'], { encoding: 'utf8' });
    assert.strictEqual(ok.status, 0, ok.stderr);
    assert.deepStrictEqual(JSON.parse(ok.stdout).tiles > 0, true);
    const bad = spawnSync(process.execPath, [CLI, 'slice', '--annotations', source.annotations, '--out', out], { encoding: 'utf8' });
    assert.strictEqual(bad.status, 1);
    assert.strictEqual(bad.stdout, '');
    assert.match(bad.stderr, /^ir-rcnn: --annotations, --images, --out and --tile are required; usage: ir-rcnn slice .*\n$/);
  });
});
