// `ir-rcnn demo --large` end to end at a toy size: scenes, tiles, both models trained on the
// tiles, the four ways of detecting each, the table and the report files.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { LargeDemoResult } from '../../src/demo/large';
import { CLI } from '../support/paths';

describe('demo --large', () => {
  it('trains on tiles and reports the four ways of detecting for both models', function () {
    this.timeout(15 * 60 * 1000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ir-rcnn-large-demo-'));
    try {
      const run = spawnSync(
        process.execPath,
        [CLI, 'demo', '--large', '--out', out, '--scene-size', '384', '--images', '2', '--val-images', '1', '--iterations', '3', '--tile', '128'],
        { encoding: 'utf8' },
      );
      assert.strictEqual(run.status, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      assert.match(lines[0], /^\| Model \| Detection \| AP \| AP50 \| APs \| AP tiny \| AP 16–32 \| s \/ image \| peak RSS \(MiB\) \|$/);
      assert.strictEqual(lines.length, 2 + 8);
      const result = JSON.parse(fs.readFileSync(path.join(out, 'large.json'), 'utf8')) as LargeDemoResult;
      assert.deepStrictEqual(
        result.rows.map((r) => `${r.model}: ${r.mode}`),
        ['Faster R-CNN', 'IR R-CNN'].flatMap((m) => ['whole image resized', 'tiles', 'tiles + whole image', "tiles, relationScope 'image'"].map((mode) => `${m}: ${mode}`)),
      );
      assert.ok(result.rows.every((r) => r.peakMiB > 0 && r.secondsPerImage > 0 && r.ap >= 0 && r.ap <= 1));
      assert.ok(result.tiles > 0);
      assert.strictEqual(fs.readFileSync(path.join(out, 'large.md'), 'utf8').trim(), run.stdout.trim());
      const bad = spawnSync(process.execPath, [CLI, 'demo', '--large', '--seeds', '2'], { encoding: 'utf8' });
      assert.strictEqual(bad.status, 1);
      assert.match(bad.stderr, /^ir-rcnn: option --seeds is not one of --large's/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
