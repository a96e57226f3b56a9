// The data pipeline: COCO streaming, image decoding, sampling and batching, on tiny sets the tests
// write themselves.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { imageAnnotations, loadCocoAnnotations, nonEmptyImageIndices, withoutEmptyImages } from '../../src/data/coco';
import { decodeImage, resizeScale, scaledSize, transformBoxes } from '../../src/data/images';
import { writeLargeCocoAnnotations } from '../../src/data/large_coco';
import { createBatchLoader, loaderBatchesPerEpoch, type Batch, type BatchLoaderOptions } from '../../src/data/loader';
import { batchesPerEpoch, makeBatches, shardIndices } from '../../src/data/sampler';

let dir: string;
before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-data-'))));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A valid tiny COCO document; tests break copies of it. */
function tinyCoco() {
  return {
    info: { year: 2017, nested: { a: [1, 2, { b: 3 }] } },
    categories: [
      { id: 7, name: 'seven', supercategory: 'x' },
      { id: 3, name: 'three' },
    ],
    annotations: [
      { id: 10, image_id: 2, category_id: 7, bbox: [1, 2, 3, 4], area: 9.5, iscrowd: 0, segmentation: [[1, 2, 3, 4, 5, 6]] },
      { id: 11, image_id: 1, category_id: 3, bbox: [0, 0, 10, 5], iscrowd: 1, segmentation: { counts: [1, 2], size: [5, 10] } },
      { id: 12, image_id: 2, category_id: 3, bbox: [5.5, 6, 2, 2] },
      { id: 13, image_id: 2, category_id: 3, bbox: [5, 6, 0, 2] },
    ],
    images: [
      { id: 1, file_name: 'a.jpg', width: 40, height: 30, license: 3 },
      { id: 2, file_name: 'b.jpg', width: 20, height: 40 },
      { id: 5, file_name: 'c.jpg', width: 30, height: 30 },
    ],
    licenses: [{ id: 3, name: 'cc' }],
  };
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 1));
  return file;
}

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp) {
  await assert.rejects(promise, (error: Error) => {
    assert.match(error.message, pattern);
    return true;
  });
}

describe('data: COCO annotations', () => {
  it('streams every section in any order into typed arrays', async () => {
    const file = writeJson('ok.json', tinyCoco());
    const ann = await loadCocoAnnotations(file);
    assert.equal(ann.file, file);
    assert.deepEqual([...ann.images.ids], [1, 2, 5]);
    assert.deepEqual([...ann.images.widths], [40, 20, 30]);
    assert.deepEqual([...ann.images.heights], [30, 40, 30]);
    assert.deepEqual(ann.images.fileNames, ['a.jpg', 'b.jpg', 'c.jpg']);
    // Sorted by id: label 1 is category 3, label 2 is category 7.
    assert.deepEqual([...ann.categories.ids], [3, 7]);
    assert.deepEqual(ann.categories.names, ['three', 'seven']);
    const a = ann.annotations;
    assert.deepEqual([...a.ids], [10, 11, 12, 13]);
    assert.deepEqual([...a.imageIndex], [1, 0, 1, 1]);
    assert.deepEqual([...a.categoryIndex], [1, 0, 0, 0]);
    assert.deepEqual([...a.bbox], [1, 2, 3, 4, 0, 0, 10, 5, 5.5, 6, 2, 2, 5, 6, 0, 2]);
    assert.deepEqual([...a.area], [9.5, 50, 4, 0], 'the file area, else w*h');
    assert.deepEqual([...a.iscrowd], [0, 1, 0, 0]);
  });

  it('reads the same whatever the chunk size: escapes, unicode, nested skipped fields, exponents', async () => {
    const doc = tinyCoco();
    const text = JSON.stringify(doc, null, 1)
      .replace('"a.jpg"', '"d\\u00e9j\\u00e0 \\"vu\\".jpg"')
      .replace('"seven"', '"sept \u00e9t\u00e9"')
      .replace('"file_name": "b.jpg"', '"file_\\u006eame": "b.jpg"')
      .replace('"area": 9.5', '"area": 0.95e1');
    const file = writeJson('chunks.json', text);
    const whole = await loadCocoAnnotations(file);
    assert.deepEqual(whole.images.fileNames, ['déjà "vu".jpg', 'b.jpg', 'c.jpg']);
    assert.deepEqual(whole.categories.names, ['three', 'sept été']);
    assert.equal(whole.annotations.area[0], 9.5);
    for (const chunkBytes of [1, 2, 7, 64]) assert.deepEqual(await loadCocoAnnotations(file, { chunkBytes }), whole, `chunkBytes ${chunkBytes}`);
  });

  it('checks the syntax of the fields it skips, and where a literal is cut by the end of the file', async () => {
    const text = JSON.stringify(tinyCoco()).replace('"size":[5,10]', '"size":[5,,10]');
    await rejectsWith(loadCocoAnnotations(writeJson('skipped.json', text)), /skipped\.json: invalid JSON near byte \d+ \(expected a value\)/);
    await rejectsWith(loadCocoAnnotations(writeJson('literal.json', '{"info": tru')), /literal\.json: invalid JSON near byte 9 \(expected a value\)/);
  });

  it('gives per-image targets: x1y1x2y2 boxes, contiguous labels, crowd regions apart', async () => {
    const ann = await loadCocoAnnotations(writeJson('ok.json', tinyCoco()));
    const b = imageAnnotations(ann, 1);
    assert.deepEqual([...b.boxes], [1, 2, 4, 6, 5.5, 6, 7.5, 8], 'the zero-width box is left out');
    assert.deepEqual([...b.labels], [2, 1]);
    assert.equal(b.crowdBoxes.length, 0);
    const a = imageAnnotations(ann, 0);
    assert.equal(a.boxes.length, 0);
    assert.deepEqual([...a.crowdBoxes], [0, 0, 10, 5]);
    assert.equal(imageAnnotations(ann, 2).boxes.length, 0);
    assert.deepEqual([...nonEmptyImageIndices(ann)], [1], 'only image 2 has a trainable box');
  });

  it('skipEmptyImages keeps only images with a trainable box, and their annotations', async () => {
    const file = writeJson('ok.json', tinyCoco());
    const all = await loadCocoAnnotations(file);
    const kept = await loadCocoAnnotations(file, { skipEmptyImages: true });
    assert.deepEqual(withoutEmptyImages(all), kept);
    assert.deepEqual([...kept.images.ids], [2]);
    assert.deepEqual([...kept.annotations.ids], [10, 12, 13]);
    assert.deepEqual([...kept.annotations.imageIndex], [0, 0, 0]);
    assert.deepEqual([...kept.annotations.bbox.subarray(4, 8)], [5.5, 6, 2, 2]);
  });

  it('loads a COCO-shaped file written by the large-file generator, as JSON.parse reads it', async () => {
    const file = path.join(dir, 'large.json');
    await writeLargeCocoAnnotations(file, { images: 50, annotations: 400, categories: 6, seed: 3 });
    const ann = await loadCocoAnnotations(file);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(ann.images.ids.length, 50);
    assert.equal(ann.annotations.ids.length, 400);
    assert.deepEqual([...ann.annotations.bbox], doc.annotations.flatMap((a: { bbox: number[] }) => a.bbox));
    assert.deepEqual([...ann.annotations.area], doc.annotations.map((a: { area: number }) => a.area));
    assert.deepEqual([...ann.annotations.imageIndex], doc.annotations.map((a: { image_id: number }) => a.image_id - 1));
    assert.deepEqual([...ann.annotations.iscrowd], doc.annotations.map((a: { iscrowd: number }) => a.iscrowd));
  });

  describe('malformed files give an error naming the file and the record', () => {
    const cases: [string, (d: ReturnType<typeof tinyCoco>) => void, RegExp][] = [
      ['missing file_name', (d) => delete (d.images[1] as Partial<(typeof d.images)[0]>).file_name, /bad\.json: images\[1\] \(id 2\): missing "file_name"/],
      ['missing bbox', (d) => delete (d.annotations[2] as Partial<(typeof d.annotations)[0]>).bbox, /bad\.json: annotations\[2\] \(id 12\): missing "bbox"/],
      ['missing category name', (d) => delete (d.categories[0] as Partial<(typeof d.categories)[0]>).name, /bad\.json: categories\[0\] \(id 7\): missing "name"/],
      ['missing image_id', (d) => delete (d.annotations[1] as Partial<(typeof d.annotations)[0]>).image_id, /annotations\[1\] \(id 11\): missing "image_id"/],
      ['negative width', (d) => (d.annotations[3].bbox = [1, 1, -2, 3]), /annotations\[3\] \(id 13\): "bbox" must be 4 finite numbers \[x, y, w, h\] with w, h >= 0/],
      ['non-numeric bbox', (d) => ((d.annotations[0] as { bbox: unknown }).bbox = [1, '2', 3, 4]), /annotations\[0\] \(id 10\): "bbox" must be 4 finite/],
      ['three-number bbox', (d) => (d.annotations[0].bbox = [1, 2, 3]), /annotations\[0\] \(id 10\): "bbox" must be 4 finite/],
      ['nested bbox', (d) => ((d.annotations[0] as { bbox: unknown }).bbox = [[1, 2, 3, 4]]), /annotations\[0\] \(id 10\): "bbox" must be 4/],
      ['unknown image id', (d) => (d.annotations[2].image_id = 99), /annotations\[2\] \(id 12\): image_id 99 is not in "images"/],
      ['unknown category id', (d) => (d.annotations[0].category_id = 4), /annotations\[0\] \(id 10\): category_id 4 is not in "categories"/],
      ['duplicate image id', (d) => (d.images[2].id = 1), /images\[2\] \(id 1\): duplicate id \(also images\[0\]\)/],
      ['duplicate annotation id', (d) => (d.annotations[3].id = 11), /annotations\[3\] \(id 11\): duplicate id \(also annotations\[1\]\)/],
      ['string width', (d) => ((d.images[0] as { width: unknown }).width = '40'), /images\[0\] \(id 1\): "width" must be an integer >= 1 \(got "40"\)/],
      ['fractional image id', (d) => (d.images[0].id = 1.5), /images\[0\] \(id 1.5\): "id" must be an integer/],
      ['bad iscrowd', (d) => (d.annotations[0].iscrowd = 2), /annotations\[0\] \(id 10\): "iscrowd" must be 0 or 1/],
      ['record not an object', (d) => ((d.images as unknown[])[1] = 7), /images\[1\]: expected an object/],
      ['section not a list', (d) => ((d as { images: unknown }).images = {}), /bad\.json: "images" must be a list/],
      ['no categories', (d) => delete (d as Partial<typeof d>).categories, /bad\.json: no "categories" list/],
    ];
    for (const [name, breakIt, pattern] of cases) {
      it(name, async () => {
        const doc = tinyCoco();
        breakIt(doc);
        await rejectsWith(loadCocoAnnotations(writeJson('bad.json', doc)), pattern);
      });
    }

    it('a truncated file: the byte where it ends', async () => {
      const text = JSON.stringify(tinyCoco());
      const cut = text.length - 40;
      await rejectsWith(loadCocoAnnotations(writeJson('cut.json', text.slice(0, cut))), new RegExp(`cut\\.json: invalid JSON at byte ${cut}: the file ends early`));
      await rejectsWith(loadCocoAnnotations(writeJson('empty.json', '')), /empty\.json: invalid JSON at byte 0/);
    });

    it('invalid JSON mid-file: located near the byte, also past the first chunk', async () => {
      const doc = tinyCoco();
      const padding = 'x'.repeat(200_000); // pushes the error into the fourth 64 KiB chunk
      const text = JSON.stringify({ ...doc, info: padding }).replace('"b.jpg"', '"b.jpg" oops');
      const at = text.indexOf('oops');
      const error = await loadCocoAnnotations(writeJson('broken.json', text)).then(
        () => assert.fail('should reject'),
        (e: Error) => e.message,
      );
      const match = /^.*broken\.json: invalid JSON near byte (\d+) \((.+)\)$/.exec(error);
      assert.ok(match, error);
      const byte = Number(match[1]);
      assert.ok(byte >= at && byte <= at + 16, `${byte} vs ${at}`);
    });

    it('a missing file, and a JSON list instead of a COCO object', async () => {
      await rejectsWith(loadCocoAnnotations(path.join(dir, 'nope.json')), /nope\.json: cannot open annotation file \(ENOENT\)/);
      await rejectsWith(loadCocoAnnotations(writeJson('list.json', [{ image_id: 1 }])), /list\.json: expected one JSON object/);
    });
  });
});

describe('data: image decoding', () => {
  it('resizes by torchvision\'s rule, to the pixel', () => {
    // The sizes torchvision 0.14's GeneralizedRCNNTransform(800, 1333) gives (checked with it).
    const cases: [number, number, number, number][] = [[640, 480, 1066, 800], [2000, 500, 1333, 333], [640, 427, 1199, 799], [500, 333, 1201, 799]];
    for (const [w, h, ew, eh] of cases) {
      assert.deepEqual(scaledSize(w, h, resizeScale(w, h, 800, 1333)), { width: ew, height: eh }, `${w}×${h}`);
    }
    assert.equal(resizeScale(100, 50, 0, 0), 1, 'minSize 0 keeps the size');
  });

  it('moves boxes with the per-axis ratios and mirrors them', () => {
    const boxes = new Float32Array([10, 20, 30, 40]);
    const from = { width: 100, height: 50 };
    const to = { width: 200, height: 150 };
    assert.deepEqual([...transformBoxes(boxes, from, to, false)], [20, 60, 60, 120]);
    assert.deepEqual([...transformBoxes(boxes, from, to, true)], [140, 60, 180, 120]);
  });

  it('decodes to RGB HWC at the target scale; flip mirrors the pixels', async () => {
    // Left half red, right half blue, 40×20, PNG with alpha.
    const w = 40;
    const h = 20;
    const rgba = Buffer.alloc(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgba.set(x < w / 2 ? [255, 0, 0, 128] : [0, 0, 255, 255], 4 * (y * w + x));
    const file = path.join(dir, 'halves.png');
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } }).png().toFile(file);
    const img = await decodeImage(file, { minSize: 40, maxSize: 100 });
    assert.deepEqual([img.width, img.height, img.data.length, img.flipped], [80, 40, 80 * 40 * 3, false]);
    assert.equal(img.scale, 2);
    const px = (im: typeof img, x: number, y: number) => [...im.data.subarray(3 * (y * im.width + x), 3 * (y * im.width + x) + 3)];
    assert.deepEqual(px(img, 5, 5), [255, 0, 0]);
    const flipped = await decodeImage(file, { minSize: 40, maxSize: 100, flip: true });
    assert.deepEqual(px(flipped, 5, 5), [0, 0, 255]);
    assert.deepEqual(px(flipped, 75, 5), [255, 0, 0]);
  });

  it('grey images come out as three channels', async () => {
    const file = path.join(dir, 'grey.jpg');
    await sharp(Buffer.alloc(16 * 8, 200), { raw: { width: 16, height: 8, channels: 1 } }).jpeg().toFile(file);
    const img = await decodeImage(file, { minSize: 0, maxSize: 0 });
    assert.deepEqual([img.width, img.height, img.data.length], [16, 8, 16 * 8 * 3]);
  });

  it('applies EXIF orientation unless the annotations were made on the stored pixels', async () => {
    const file = path.join(dir, 'rotated.jpg');
    await sharp(Buffer.alloc(30 * 10 * 3, 90), { raw: { width: 30, height: 10, channels: 3 } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toFile(file);
    const upright = await decodeImage(file, { minSize: 0, maxSize: 0 });
    assert.deepEqual([upright.width, upright.height], [10, 30]);
    const raw = await decodeImage(file, { minSize: 0, maxSize: 0, annotatedSize: { width: 30, height: 10 } });
    assert.deepEqual([raw.width, raw.height], [30, 10]);
  });

  it('a missing or corrupt file rejects with its name', async () => {
    await rejectsWith(decodeImage(path.join(dir, 'none.jpg'), { minSize: 0, maxSize: 0 }), /none\.jpg: cannot read image \(ENOENT\)/);
    const bad = path.join(dir, 'bad.jpg');
    fs.writeFileSync(bad, 'not a jpeg');
    await rejectsWith(decodeImage(bad, { minSize: 0, maxSize: 0 }), /bad\.jpg: cannot decode image/);
  });
});

describe('data: sampler', () => {
  const base = { seed: 5, shuffle: true };

  it('shards are disjoint, equal, cover the set, and pad by repeating the epoch\'s start', () => {
    const count = 10;
    const worldSize = 3;
    const shards = [0, 1, 2].map((rank) => [...shardIndices(count, 0, { ...base, rank, worldSize })]);
    assert.ok(shards.every((s) => s.length === 4));
    const all = shards.flat();
    assert.deepEqual([...new Set(all)].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(all.length - new Set(all).size, 2, 'exactly the padding repeats');
    // Positions 10 and 11 of the epoch's order wrap to its positions 0 and 1.
    assert.equal(shards[1][3], shards[0][0]);
    assert.equal(shards[2][3], shards[1][0]);
  });

  it('is deterministic per (seed, epoch) and reshuffles every epoch', () => {
    const options = { ...base, rank: 1, worldSize: 2 };
    assert.deepEqual(shardIndices(50, 3, options), shardIndices(50, 3, options));
    assert.notDeepEqual(shardIndices(50, 3, options), shardIndices(50, 4, options));
    assert.notDeepEqual(shardIndices(50, 3, options), shardIndices(50, 3, { ...options, seed: 6 }));
    assert.deepEqual([...shardIndices(5, 0, { ...options, shuffle: false })], [1, 3, 0]);
  });

  it('groups batches by aspect ratio and gives every rank the same number of batches', () => {
    const group = (i: number) => (i % 3 === 0 ? 1 : 0);
    for (const rank of [0, 1]) {
      const shard = shardIndices(23, 0, { ...base, rank, worldSize: 2 });
      const count = batchesPerEpoch(23, 2, 4);
      assert.equal(count, 3);
      const batches = makeBatches(shard, 4, count, group);
      assert.equal(batches.length, 3);
      for (const batch of batches) {
        assert.equal(batch.length, 4);
        assert.equal(new Set(batch.map(group)).size, 1, `mixed batch ${batch}`);
        assert.ok(batch.every((i) => shard.includes(i)));
      }
    }
    // Fewer items than a batch: one batch, completed from its own group.
    assert.deepEqual(makeBatches(Int32Array.from([4, 3]), 3, 1, group), [[4, 4, 4]]);
  });
});

describe('data: batch loader', () => {
  let ann: Awaited<ReturnType<typeof loadCocoAnnotations>>;
  let imagesDir: string;

  before(async () => {
    // Six images: four landscape 40×20, two portrait 20×40; one listed file is missing, one corrupt.
    imagesDir = path.join(dir, 'images');
    fs.mkdirSync(imagesDir, { recursive: true });
    const images = [];
    const annotations = [];
    for (let i = 1; i <= 6; i++) {
      const [width, height] = i <= 4 ? [40, 20] : [20, 40];
      images.push({ id: i, file_name: `${i}.jpg`, width, height });
      annotations.push({ id: i, image_id: i, category_id: 1, bbox: [2, 4, 6, 8], area: 48, iscrowd: 0 });
      if (i === 3) continue; // missing
      const file = path.join(imagesDir, `${i}.jpg`);
      if (i === 5) fs.writeFileSync(file, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
      else await sharp(Buffer.alloc(width * height * 3, 10 * i), { raw: { width, height, channels: 3 } }).jpeg().toFile(file);
    }
    images.push({ id: 7, file_name: 'empty.jpg', width: 10, height: 10 }); // no boxes: never sampled
    ann = await loadCocoAnnotations(writeJson('loader.json', { images, annotations, categories: [{ id: 1, name: 'thing' }] }));
  });

  async function collect(options: Partial<BatchLoaderOptions>, warnings: string[] = []): Promise<Batch[]> {
    const batches: Batch[] = [];
    const loader = createBatchLoader(ann, imagesDir, {
      batchSize: 2, minSize: 40, maxSize: 100, seed: 1, onWarning: (m) => warnings.push(m), ...options,
    });
    for await (const batch of loader) batches.push(batch);
    return batches;
  }

  it('yields decoded, resized images with boxes in their pixels; bad images are reported and skipped', async () => {
    const warnings: string[] = [];
    const batches = await collect({ shuffle: false, groupByAspectRatio: false }, warnings);
    assert.deepEqual(batches.map((b) => [...b.imageIndices]), [[0, 1], [3], [5]]);
    assert.equal(warnings.length, 2);
    assert.ok(warnings.some((w) => /3\.jpg: cannot read image \(ENOENT\); skipped/.test(w)), warnings.join('\n'));
    assert.ok(warnings.some((w) => /5\.jpg: cannot decode image/.test(w)), warnings.join('\n'));
    const [first] = batches;
    assert.deepEqual([first.images[0].width, first.images[0].height], [80, 40]);
    assert.equal(first.images[0].data.length, 80 * 40 * 3);
    assert.deepEqual([...first.targets[0].boxes], [4, 8, 16, 24], 'scaled ×2');
    assert.deepEqual([...first.targets[0].labels], [1]);
    assert.deepEqual([...batches[2].targets[0].boxes], [4, 8, 16, 24], 'portrait 20×40 → 40×80');
  });

  it('groups by aspect ratio, and is deterministic given the seed, flips included', async () => {
    const options = { flip: true, epochs: 3 };
    const a = await collect(options);
    const b = await collect(options);
    const summary = (batches: Batch[]) => batches.map((x) => ({ i: [...x.imageIndices], boxes: x.targets.map((t) => [...t.boxes]) }));
    assert.deepEqual(summary(a), summary(b));
    for (const batch of a) assert.equal(new Set([...batch.imageIndices].map((i) => (i < 4 ? 0 : 1))).size, 1);
    const flippedBoxes = a.flatMap((x) => x.targets.map((t) => t.boxes[0]));
    assert.ok(flippedBoxes.includes(4) && flippedBoxes.some((x) => x !== 4), 'some images mirrored, some not');
    const c = await collect({ ...options, seed: 2 });
    assert.notDeepEqual(summary(a), summary(c));
  });

  it('startBatch resumes where an uninterrupted run would be', async () => {
    const perEpoch = loaderBatchesPerEpoch(ann, { batchSize: 2, minSize: 40, maxSize: 100 });
    assert.equal(perEpoch, 3);
    const full = await collect({ epochs: 2 });
    const resumed = await collect({ epochs: 2, startBatch: 4 });
    const ids = (batches: Batch[]) => batches.map((x) => [x.batch, [...x.imageIndices]]);
    assert.deepEqual(ids(resumed), ids(full).filter(([position]) => (position as number) >= 4));
  });

  it('ranks read disjoint shards', async () => {
    const seen = await Promise.all([0, 1].map((rank) => collect({ worldSize: 2, rank, batchSize: 1, shuffle: true })));
    const [r0, r1] = seen.map((batches) => new Set(batches.flatMap((x) => [...x.imageIndices])));
    assert.ok([...r0].every((i) => !r1.has(i)), 'disjoint');
  });

  it('rejects bad options with a one-line reason', () => {
    assert.throws(() => createBatchLoader(ann, imagesDir, { batchSize: 0, minSize: 1, maxSize: 2 }), /batchSize must be a positive integer/);
    assert.throws(() => createBatchLoader(ann, imagesDir, { batchSize: 1, minSize: 1, maxSize: 2, rank: 2, worldSize: 2 }), /rank must be an integer in \[0, 2\)/);
  });
});
