// The demo (src/demo, `ir-rcnn demo`): a shortened run end to end with every report file, the
// Table 3 rows with mean ± std and the differences' intervals, report.html as headless Chromium
// renders it, and the CLI's errors. (The drawing itself: test/unit/draw.test.ts.)
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runDemo, type DemoResult } from '../../src/demo/experiment';
import { PORTABLE_KERNELS, PORTABLE_THREADS } from '../../src/demo/kernels';
import { BASELINE, IR_RCNN, SEMANTIC, SPATIAL, demoVariants, variantConfig } from '../../src/demo/preset';
import { formatTable, tableRows } from '../../src/demo/table';
import { findChromium, inspectPage } from '../support/chromium';
import { CLI } from '../support/paths';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function isPng(file: string): Promise<boolean> {
  const bytes = await fsp.readFile(file);
  return bytes.subarray(0, 8).equals(PNG_SIGNATURE);
}

describe('demo: the Table 3 models', () => {
  it('are the baseline and IR R-CNN, plus the single-graph rows with --ablation, all from one schema-valid recipe', () => {
    assert.deepEqual(demoVariants(false), [BASELINE, IR_RCNN]);
    assert.deepEqual(demoVariants(true), [BASELINE, SEMANTIC, SPATIAL, IR_RCNN]);
    const schedule = { iterations: 40, seed: 3, imageSize: 128 };
    const configs = demoVariants(true).map((v) => variantConfig(v, schedule));
    assert.deepEqual(configs.map((c) => [c.model.relation.enabled, c.model.relation.semantic, c.model.relation.spatial]), [
      [false, true, true], // the baseline's switches are unused: the module is off
      [true, true, false],
      [true, false, true],
      [true, true, true],
    ]);
    for (const c of configs) {
      // Same recipe, schedule and seed for every row.
      assert.deepEqual(c.train, configs[0].train);
      assert.deepEqual({ ...c.model, relation: undefined }, { ...configs[0].model, relation: undefined });
      assert.equal(c.train.seed, 3);
      assert.equal(c.model.minSize, 128);
    }
  });
});

describe('demo: the table', () => {
  it('has the paper columns, marks Sem/Spa, and gives mean ± std over seeds ("–" where COCO has no objects)', () => {
    const stats = (v: number) => [v, v, v, v, -1, v, 0, 0, 0, 0, 0, 0];
    const runs = [
      { variant: 'baseline', stats: stats(0.1) },
      { variant: 'baseline', stats: stats(0.3) },
      { variant: 'ir_rcnn', stats: stats(0.25) },
      { variant: 'ir_rcnn', stats: stats(0.25) },
    ];
    const rows = tableRows(demoVariants(false), runs);
    assert.equal(rows[0].runs, 2);
    assert.ok(Math.abs(rows[0].mean[0] - 20) < 1e-9);
    assert.ok(Math.abs(rows[0].std[0] - Math.SQRT2 * 10) < 1e-9);
    const lines = formatTable(rows).split('\n');
    assert.equal(lines.length, 4);
    assert.deepEqual(lines[0].split('|').map((s) => s.trim()).slice(1, -1), ['Model', 'Sem', 'Spa', 'AP', 'AP50', 'AP75', 'APs', 'APm', 'APl']);
    const cells = (line: string) => line.split('|').map((s) => s.trim()).slice(1, -1);
    assert.deepEqual(cells(lines[2]), ['Baseline (Faster R-CNN)', '', '', '20.0 ± 14.1', '20.0 ± 14.1', '20.0 ± 14.1', '20.0 ± 14.1', '–', '20.0 ± 14.1']);
    assert.deepEqual(cells(lines[3]).slice(0, 4), ['+ Semantic + Spatial (IR R-CNN)', '✓', '✓', '25.0 ± 0.0']);
    // One seed: plain numbers.
    assert.equal(cells(formatTable(tableRows([BASELINE], [runs[0]])).split('\n')[2])[3], '10.0');
  });

  it('adds the differences to the baseline in AP and APs with their intervals, one column per resampling unit', () => {
    const runs = [
      { variant: 'baseline', stats: [0.1, 0, 0, 0.2, 0, 0] },
      { variant: 'ir_rcnn', stats: [0.15, 0, 0, 0.18, 0, 0] },
    ];
    const interval = (estimate: number, low: number, high: number) => ({ estimate, low, high });
    const images = [interval(5, 1.04, 8.96), ...Array(2).fill(interval(0, 0, 0)), interval(-2, -4.5, 0.02), interval(NaN, NaN, NaN), interval(0, 0, 0)];
    const rows = tableRows(demoVariants(false), runs, new Map([['ir_rcnn', { images, seeds: images }]]));
    const cells = (line: string) => line.split('|').map((s) => s.trim()).slice(1, -1);
    const lines = formatTable(rows).split('\n');
    assert.deepEqual(cells(lines[0]).slice(9), ['ΔAP (images)', 'ΔAPs (images)', 'ΔAP (seeds)', 'ΔAPs (seeds)']);
    assert.deepEqual(cells(lines[2]).slice(9), ['', '', '', '']);
    assert.deepEqual(cells(lines[3]).slice(9), ['+5.0 [+1.0, +9.0]', '-2.0 [-4.5, 0.0]', '+5.0 [+1.0, +9.0]', '-2.0 [-4.5, 0.0]']);
    // Only the units computed get columns.
    const imagesOnly = formatTable(tableRows(demoVariants(false), runs, new Map([['ir_rcnn', { images }]])));
    assert.deepEqual(cells(imagesOnly.split('\n')[0]).slice(9), ['ΔAP (images)', 'ΔAPs (images)']);
  });
});

describe('demo: a shortened run end to end', function () {
  this.timeout(180000);
  let out: string;
  let result: DemoResult;
  const lines: string[] = [];

  before(async () => {
    out = await fsp.mkdtemp(path.join(os.tmpdir(), 'ir-rcnn-demo-'));
    // Two seeds and validation during training: every part of the report has something to show.
    result = await runDemo({
      out, images: 4, valImages: 2, iterations: 3, seeds: 2, ablation: false, relationSettings: [], imageSize: 64, dataSeed: 1, drawImages: 2,
      resamples: 200, evalEvery: 2, log: (line) => lines.push(line),
    });
  });

  after(async () => {
    await fsp.rm(out, { recursive: true, force: true });
  });

  it('trains, evaluates and writes metrics.json, table.md, report.html, both charts and the drawn val images', async () => {
    assert.ok(lines.some((l) => l.startsWith('training Baseline')), lines.join('\n'));
    for (const name of ['loss_curves.png', 'ap_by_size.png', 'val_images/000001.png', 'val_images/000002.png']) {
      assert.ok(await isPng(path.join(out, name)), `${name} is a PNG`);
    }
    const metrics = JSON.parse(await fsp.readFile(path.join(out, 'metrics.json'), 'utf8'));
    assert.deepEqual(metrics.runs.map((r: { variant: string; seed: number }) => `${r.variant}-${r.seed}`), ['baseline-0', 'ir_rcnn-0', 'baseline-1', 'ir_rcnn-1']);
    for (const run of metrics.runs) {
      assert.equal(run.stats.length, 12);
      assert.equal(run.iterations, 3);
      assert.ok(run.trainSeconds > 0 && run.evalSeconds > 0);
      assert.ok(Number.isFinite(run.finalLosses.loss));
      assert.equal(run.config.train.iterations, 3);
      await fsp.access(run.weights);
      await fsp.access(run.detections);
      // The optimizer state is dropped: the demo never resumes.
      await assert.rejects(fsp.access(path.join(run.dir, 'checkpoints')));
    }
    assert.ok(metrics.runs[1].parameters.relation > 0 && metrics.runs[0].parameters.relation === 0);
    assert.deepEqual(metrics.rows.map((r: { variant: string }) => r.variant), ['baseline', 'ir_rcnn']);
    assert.equal(metrics.dataset.valImagesCount, 2);
    assert.match(metrics.dataset.sha256, /^[0-9a-f]{64}$/);
    assert.ok(['portable', 'native'].includes(metrics.machine.kernels.mode) && Array.isArray(metrics.machine.kernels.cpuFlags));
    assert.ok(metrics.wallSeconds > 0);
    await fsp.access(path.join(out, 'report.html'));
    const table = await fsp.readFile(path.join(out, 'table.md'), 'utf8');
    assert.ok(table.includes(result.table) && table.includes(result.note));
    assert.match(table, /^\| Baseline \(Faster R-CNN\) +\| +\| +\| \d+\.\d ± \d+\.\d \|/m);
    assert.match(table, /^\| \+ Semantic \+ Spatial \(IR R-CNN\) \| ✓ +\| ✓ +\| \d+\.\d ± \d+\.\d \|.*\| (-|[+-]?\d+\.\d \[[+-]?\d+\.\d, [+-]?\d+\.\d\]) +\|$/m);
    assert.match(result.note, /percentile bootstrap of 200 resamples: \(images\) draws the 2 val images .*; \(seeds\) draws the 2 seeds/);
  });

  it('bootstraps the differences over the val images and over the seeds, into metrics.json', async () => {
    const metrics = JSON.parse(await fsp.readFile(path.join(out, 'metrics.json'), 'utf8'));
    assert.equal(metrics.rows[0].difference, undefined);
    const { images, seeds } = metrics.rows[1].difference;
    assert.equal(images.length, 6);
    assert.equal(seeds.length, 6);
    assert.deepEqual(Object.keys(metrics.bootstrap).sort(), ['level', 'resamples', 'seconds', 'seed']);
    // The paired difference of the seed means, whichever unit resamples it.
    const meanDifference = 100 * ((metrics.runs[1].stats[0] + metrics.runs[3].stats[0]) / 2 - (metrics.runs[0].stats[0] + metrics.runs[2].stats[0]) / 2);
    for (const interval of [images[0], seeds[0]]) {
      assert.ok(Math.abs(interval.estimate - meanDifference) < 1e-9, `${interval.estimate} vs ${meanDifference}`);
      assert.ok(interval.low <= interval.estimate + 1e-9 && interval.estimate <= interval.high + 1e-9, JSON.stringify(interval));
    }
    // --eval-every 2: the runs evaluated at iteration 2, so the report has an AP curve.
    const records = (await fsp.readFile(metrics.runs[0].metrics, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(records.some((r: { iteration: number; ap?: number }) => r.iteration === 2 && r.ap !== undefined));
  });

  it('report.html renders in headless Chromium: no console errors, no request but its own data: images, every image and chart there', async function () {
    const chromium = findChromium();
    if (chromium === undefined) {
      console.log('      (skipped: no chromium on PATH; apt-get install chromium, or set CHROMIUM)');
      this.skip();
    }
    const report = path.join(out, 'report.html');
    const probe = `(async () => {
      await Promise.all([...document.images].map((img) => img.decode().catch(() => undefined)));
      return { images: [...document.images].map((img) => img.naturalWidth), svgs: document.querySelectorAll('svg').length, rows: document.querySelectorAll('tbody tr').length };
    })()`;
    const page = await inspectPage(chromium as string, `file://${report}`, probe);
    assert.deepEqual(page.messages, []);
    assert.deepEqual(page.exceptions, []);
    assert.deepEqual(page.failed, []);
    assert.deepEqual(page.requests.filter((url) => !url.startsWith('data:image/png;base64,')), [`file://${report}`]);
    const value = page.value as { images: number[]; svgs: number; rows: number };
    // Both drawn val images, decoded; the loss, AP-during-training, by-size and per-category charts; both models' rows.
    assert.equal(value.images.length, 2);
    assert.ok(value.images.every((width) => width > 0), JSON.stringify(value.images));
    assert.equal(value.svgs, 4);
    assert.equal(value.rows, 2);

    // The same check fails on a page that reaches outside itself or lacks an image.
    const broken = path.join(out, 'broken.html');
    const html = await fsp.readFile(report, 'utf8');
    await fsp.writeFile(broken, html.replace('<h2>Results</h2>', '<h2>Results</h2><img src="http://example.invalid/x.png"><img src="data:image/png;base64,AAAA">'));
    const bad = await inspectPage(chromium as string, `file://${broken}`, probe);
    assert.ok(bad.messages.some((m) => m.startsWith('error:') && m.includes('http://example.invalid/x.png')), JSON.stringify(bad.messages));
    assert.ok(bad.requests.includes('http://example.invalid/x.png'));
    assert.deepEqual((bad.value as { images: number[] }).images.slice(0, 2), [0, 0]);
  });
});

describe('demo: the command line', function () {
  this.timeout(120000);

  it('runs a tiny demo: the table and what its Δ columns mean on stdout, the portable kernels and 2 threads where the CPU allows', async () => {
    const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'ir-rcnn-demo-cli-'));
    const args = ['--out', out, '--images', '4', '--val-images', '2', '--iterations', '2', '--image-size', '64', '--draw', '1', '--bootstrap', '100'];
    const child = spawnSync(process.execPath, [CLI, 'demo', ...args], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^\| Model +\| Sem \| Spa \| AP .*\| ΔAP \(images\) +\| ΔAPs \(images\) +\|\n/);
    assert.match(child.stdout, /\n\nΔ: difference to the baseline in AP points.* 100 resamples: \(images\) draws the 2 val images/);
    const { machine } = JSON.parse(await fsp.readFile(path.join(out, 'metrics.json'), 'utf8'));
    const portable = machine.kernels.cpuFlags.includes('avx2') && machine.kernels.cpuFlags.includes('fma');
    assert.deepEqual(machine.kernels.env, portable ? PORTABLE_KERNELS : {});
    assert.equal(machine.threads, portable ? PORTABLE_THREADS : machine.threads);
    assert.match(child.stderr, new RegExp(`^demo: kernels: ${portable ? 'portable \\(OPENBLAS_CORETYPE=Haswell' : 'native'}`, 'm'));
    await fsp.rm(out, { recursive: true, force: true });
  });

  it('rejects a bad option or report folder with one line on stderr and exit status 1, before any work', () => {
    for (const [args, message] of [
      [['--seeds', '0'], "ir-rcnn: option --seeds: expected an integer in [1, 100], got '0'"],
      [['--iterations', 'many'], "ir-rcnn: option --iterations: expected an integer in [1, inf], got 'many'"],
      [['--fast'], 'ir-rcnn: unknown option --fast'],
      [['--kernels', 'fast'], "ir-rcnn: option --kernels: expected portable or native, got 'fast'"],
      [['--bootstrap', '10'], "ir-rcnn: option --bootstrap: expected an integer in [100, 100000], got '10'"],
      [['--out', '/dev/null/report'], 'ir-rcnn: /dev/null/report: cannot create the report folder (ENOTDIR)'],
    ] as const) {
      const child = spawnSync(process.execPath, [CLI, 'demo', ...args], { encoding: 'utf8' });
      assert.equal(child.status, 1);
      assert.equal(child.stdout, '');
      assert.equal(child.stderr, `${message}\n`);
    }
  });
});
