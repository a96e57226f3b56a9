// Results files in and out: the streaming reader (any chunking, any valid JSON, one-line errors),
// the COCO results writer, and the `ir-rcnn eval` command.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCocoAnnotations, type CocoAnnotations } from '../../src/data/coco';
import { DetectionsBuilder, type CocoResult, type Detections } from '../../src/eval/detections';
import { evaluateResults } from '../../src/eval/evaluate';
import { parseCocoResults, readCocoResults } from '../../src/eval/results_reader';
import { writeCocoResults } from '../../src/eval/write_results';
import { ROOT } from '../support/paths';

const CASES = path.join(ROOT, 'test', 'fixtures', 'coco-eval-cases');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

function viaJsonParse(text: string, gt: CocoAnnotations): Detections {
  const builder = new DetectionsBuilder(gt, 'results');
  (JSON.parse(text) as CocoResult[]).forEach((r, i) => builder.addRecord(i, r));
  return builder.finish();
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-eval-io-'));
}

describe('eval: results reader', () => {
  let gt: CocoAnnotations;
  before(async () => {
    gt = await loadCocoAnnotations(path.join(CASES, 'crowd', 'gt.json'));
  });

  it('gives the same typed arrays as JSON.parse, whatever the chunk size', async () => {
    const file = path.join(CASES, 'crowd', 'dets.json');
    const expected = viaJsonParse(fs.readFileSync(file, 'utf8'), gt);
    assert.ok(expected.count > 100);
    for (const chunkBytes of [1, 7, 4096]) {
      assert.deepEqual(await readCocoResults(file, gt, { chunkBytes }), expected, `chunkBytes ${chunkBytes}`);
    }
  });

  it('reads any valid JSON layout: whitespace, extra fields, escaped keys, exponents, long decimals', () => {
    // The last two take the reader's fast path (any order, white space, a key given twice).
    const text = `
      [ { "score" : 1.5E-1, "segmentation": {"counts": "a}\\"b]", "size": [1, [2, {"x": null}]]},
          "image_\\u0069d": 1, "bbox": [ 1e1 , -0.5, 0.12345678901234567890, 3 ], "category_id": 2, "area": 7, "ok": true },
        {"image_id":2,"category_id":1,"bbox":[0,0,123456789012345678,4.000000000000001],"score":0.9999999999999999},
        { "bbox" : [ -1.25 ,2, 30.5,\t4 ] , "score": 0.25, "category_id" :1,"image_id": 2, "score": 0.75 },
        {"image_id":1,"category_id":2,"bbox":[10.01,-0.0,3,4.5],"score":0.123456789012345}
      ]
    `;
    assert.deepEqual(parseCocoResults(text, gt), viaJsonParse(text, gt));
    assert.equal(parseCocoResults('[]', gt).count, 0);
  });

  it('rejects bad records with one line naming the file and the record', async () => {
    const dir = tmpDir();
    const cases: [string, RegExp][] = [
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 999, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]',
        /bad\.json: \[1\]: image_id 999 is not an image of the ground truth \(.*gt\.json\)$/],
      ['[{"image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4], "score": 0.5}]', /bad\.json: \[0\]: category_id 4 is not a category of the ground truth/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]', /bad\.json: \[0\]: missing score$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}]', /bad\.json: \[0\]: bbox must be 4 finite numbers, got 3 values$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": "1 2 3 4", "score": 0.5}]', /bad\.json: \[0\]: bbox must be 4 finite numbers$/],
      ['[{"image_id": "1", "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]', /bad\.json: \[0\]: image_id must be a number$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": NaN}]', /bad\.json: \[0\]: score must be a finite number$/],
      ['{"annotations": []}', /bad\.json: invalid JSON at byte 0 \(list element 0\): a results file must be a JSON list of detections$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}', /bad\.json: \[1\]: the file ends in the middle of the results list$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}] x', /bad\.json: invalid JSON at byte 72 \(list element 1\): unexpected data after the results list$/],
      ['[{"image_id": 1 "category_id": 1}]', /bad\.json: invalid JSON at byte 16 \(list element 0\): expected ',' or '}' in an object$/],
      ['[3]', /bad\.json: \[0\]: expected an object$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [[1, 2, 3, 4]], "score": 0.5}]', /bad\.json: \[0\]: bbox must be 4 finite numbers$/],
      ['  ', /bad\.json: the file is empty; expected a JSON list of detections$/],
      ['[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.}]', /bad\.json: invalid JSON at byte 66 \(list element 0\): malformed number$/],
      ['[{"image_id": 01, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]', /bad\.json: invalid JSON at byte 14 \(list element 0\): malformed number$/],
    ];
    for (const [text, message] of cases) {
      const file = path.join(dir, 'bad.json');
      fs.writeFileSync(file, text);
      await assert.rejects(readCocoResults(file, gt), (error: Error) => {
        assert.match(error.message, message);
        assert.ok(!error.message.includes('\n'));
        return true;
      });
    }
    await assert.rejects(readCocoResults(path.join(dir, 'missing.json'), gt), /missing\.json: cannot open results file \(ENOENT\)/);
    fs.rmSync(dir, { recursive: true });
  });

  it('evaluates an empty results list as AP 0 wherever there is ground truth', async () => {
    const result = await evaluateResults(gt, []);
    assert.deepEqual(result.stats.slice(0, 3), [0, 0, 0]);
  });
});

describe('eval: COCO results writer', () => {
  it('writes category ids, rounds, and reads back as written', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'results.json');
    const gt = await loadCocoAnnotations(path.join(CASES, 'crowd', 'gt.json'));
    await writeCocoResults(
      file,
      [
        { imageId: 1, detections: [{ bbox: [1.23456, 2, 3.999, 4], score: 0.123456789, categoryId: 1 }] },
        { imageId: 2, detections: [] },
        { imageId: 3, detections: [{ bbox: [5, 6, 7, 8], score: 0.5, categoryId: 90 }] },
      ],
    );
    const written = JSON.parse(fs.readFileSync(file, 'utf8')) as CocoResult[];
    assert.deepEqual(written, [
      { image_id: 1, category_id: 1, bbox: [1.23, 2, 4, 4], score: 0.12346 },
      { image_id: 3, category_id: 90, bbox: [5, 6, 7, 8], score: 0.5 },
    ]);
    assert.equal((await readCocoResults(file, gt)).count, 2);
    fs.rmSync(dir, { recursive: true });
  });

  it('rejects a category id that is not an integer and leaves no partial file', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'results.json');
    await assert.rejects(
      writeCocoResults(file, [{ imageId: 5, detections: [{ bbox: [0, 0, 1, 1], score: 0.5, categoryId: 1.5 }] }]),
      /results\.json: image_id 5, detection 0: categoryId must be an integer/,
    );
    assert.ok(!fs.existsSync(file));
    fs.rmSync(dir, { recursive: true });
  });
});

describe('eval: the ir-rcnn eval command', () => {
  const gt = path.join(CASES, 'over_maxdets', 'gt.json');
  const dets = path.join(CASES, 'over_maxdets', 'dets.json');
  const cli = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'eval', ...args], { encoding: 'utf8' });

  it('--json prints exactly { stats, perCategory } with pycocotools values', () => {
    const run = cli('--gt', gt, '--dets', dets, '--json');
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { stats: number[]; perCategory: Record<string, number> };
    const expected = JSON.parse(fs.readFileSync(path.join(CASES, 'over_maxdets', 'expected.json'), 'utf8'));
    assert.deepEqual(Object.keys(out), ['stats', 'perCategory']);
    out.stats.forEach((v, i) => assert.ok(Math.abs(v - expected.stats[i]) <= 1e-6));
    assert.deepEqual(Object.keys(out.perCategory), Object.keys(expected.perCategory));
  });

  it("prints pycocotools' table by default, and tiny-object lines with --areas fine", () => {
    const run = cli('--gt', gt, '--dets', dets);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 12);
    assert.match(lines[3], /^ Average Precision {2}\(AP\) @\[ IoU=0\.50:0\.95 \| area= small \| maxDets=100 \] = 0\.149$/);
    const fine = cli('--gt', gt, '--dets', dets, '--areas', 'fine');
    assert.equal(fine.stdout.trimEnd().split('\n').length, 16);
    assert.match(fine.stdout, /area= {2}tiny \| maxDets=100/);
  });

  it('writes PR curves as PNG with --pr-curves', () => {
    const dir = tmpDir();
    const run = cli('--gt', gt, '--dets', dets, '--json', '--pr-curves', dir);
    assert.equal(run.status, 0, run.stderr);
    for (const name of ['pr_by_category.png', 'pr_by_size.png']) {
      assert.deepEqual([...fs.readFileSync(path.join(dir, name)).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    }
    fs.rmSync(dir, { recursive: true });
  });

  it('fails with one line on stderr, nothing on stdout and exit status 1', () => {
    for (const args of [['--gt', gt], ['--gt', gt, '--dets', path.join(CASES, 'nope.json')], ['--gt', gt, '--dets', dets, '--areas', 'huge'], ['--gt', dets, '--dets', dets]]) {
      const run = cli(...args);
      assert.equal(run.status, 1, args.join(' '));
      assert.equal(run.stdout, '');
      assert.equal(run.stderr.trimEnd().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, /^ir-rcnn: /);
    }
  });
});
