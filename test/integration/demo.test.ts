// The demo (src/demo, `ir-rcnn demo`): a shortened run end to end with every report file, the
// Table 3 rows and mean ± std, the drawing of boxes and relation edges, and the CLI's errors.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import sharp from 'sharp';
import { drawDetections, EDGE_COLORS } from '../../src/demo/draw';
import { runDemo } from '../../src/demo/experiment';
import { BASELINE, IR_RCNN, SEMANTIC, SPATIAL, demoVariants, variantConfig } from '../../src/demo/preset';
import { formatTable, tableRows } from '../../src/demo/table';
import { PALETTE } from '../../src/plot';
import { CLI } from '../support/paths';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function isPng(file: string): Promise<boolean> {
  const bytes = await fsp.readFile(file);
  return bytes.subarray(0, 8).equals(PNG_SIGNATURE);
}

function hexRgb(hex: string): number[] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
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
});

describe('demo: drawing detections and the relation graph', () => {
  it('draws class-coloured boxes and an edge in its type colour between the box centres', async () => {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ir-rcnn-draw-'));
    const image = path.join(dir, 'grey.png');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#404040' } }).png().toFile(image);
    const result = {
      detections: [
        { bbox: [4, 20, 8, 8] as [number, number, number, number], score: 0.9, label: 1, categoryId: 1 },
        { bbox: [44, 20, 8, 8] as [number, number, number, number], score: 0.8, label: 3, categoryId: 3 },
        { bbox: [30, 2, 6, 6] as [number, number, number, number], score: 0.1, label: 2, categoryId: 2 },
      ],
      graph: { src: new Int32Array([0, 1, 0]), dst: new Int32Array([1, 0, 2]), type: new Uint8Array([1, 1, 2]), weight: new Float32Array([1, 1, 1]) },
    };
    const file = path.join(dir, 'out.png');
    await drawDetections(image, [{ title: 'a', result: { detections: result.detections } }, { title: 'b', result }], file, {
      categories: new Map([[1, 'disc'], [2, 'notched'], [3, 'striped']]),
      minScore: 0.5,
      scale: 2,
    });
    assert.ok(await isPng(file));
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const panelWidth = 128;
    const gap = 8;
    const title = 28;
    assert.equal(info.width, 2 * panelWidth + gap);
    assert.equal(info.height, 96 + title);
    const pixel = (x: number, y: number) => [0, 1, 2].map((c) => data[(y * info.width + x) * 3 + c]);
    const near = (got: number[], want: number[], tol: number) => got.every((v, c) => Math.abs(v - want[c]) <= tol);
    // The left edge of detection 0's box (x = 8 at scale 2) in class 1's colour, in both panels.
    for (const left of [0, panelWidth + gap]) assert.ok(near(pixel(left + 8, title + 48), hexRgb(PALETTE[0]), 40), `box at ${left}: ${pixel(left + 8, title + 48)}`);
    // The semantic edge between the centres (16, 48) and (96, 48): only in the panel with the graph.
    // (a thin, half-transparent, anti-aliased line over grey: the cyan shows as green and blue over red)
    assert.equal(EDGE_COLORS[1].color, '#17becf');
    const [r, g, b] = pixel(panelWidth + gap + 56, title + 48);
    assert.ok(g - r > 40 && b - r > 40, `edge: ${[r, g, b]}`);
    assert.ok(near(pixel(56, title + 48), [0x40, 0x40, 0x40], 10), 'no edge without a graph');
    // Detection 2 scores under minScore: neither it nor its spatial edge is drawn.
    assert.ok(near(pixel(panelWidth + gap + 40, title + 26), [0x40, 0x40, 0x40], 10));
  });
});

describe('demo: a shortened run end to end', function () {
  this.timeout(120000);

  it('trains, evaluates and writes metrics.json, table.md, both charts and the drawn val images', async () => {
    const out = await fsp.mkdtemp(path.join(os.tmpdir(), 'ir-rcnn-demo-'));
    const lines: string[] = [];
    const result = await runDemo({
      out, images: 4, valImages: 2, iterations: 3, seeds: 1, ablation: false, imageSize: 64, dataSeed: 1, drawImages: 2,
      log: (line) => lines.push(line),
    });
    assert.ok(lines.some((l) => l.startsWith('training Baseline')), lines.join('\n'));
    for (const name of ['loss_curves.png', 'ap_by_size.png', 'val_images/000001.png', 'val_images/000002.png']) {
      assert.ok(await isPng(path.join(out, name)), `${name} is a PNG`);
    }
    const metrics = JSON.parse(await fsp.readFile(path.join(out, 'metrics.json'), 'utf8'));
    assert.deepEqual(metrics.runs.map((r: { variant: string }) => r.variant), ['baseline', 'ir_rcnn']);
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
    assert.ok(metrics.wallSeconds > 0);
    const table = await fsp.readFile(path.join(out, 'table.md'), 'utf8');
    assert.ok(table.includes(result.table));
    assert.match(table, /^\| Baseline \(Faster R-CNN\) +\| +\| +\| \d+\.\d \|/m);
    assert.match(table, /^\| \+ Semantic \+ Spatial \(IR R-CNN\) \| ✓ +\| ✓ +\| \d+\.\d \|/m);
  });
});

describe('demo: the command line', () => {
  it('rejects a bad option or report folder with one line on stderr and exit status 1, before any work', () => {
    for (const [args, message] of [
      [['--seeds', '0'], "ir-rcnn: option --seeds: expected an integer in [1, 100], got '0'"],
      [['--iterations', 'many'], "ir-rcnn: option --iterations: expected an integer in [1, inf], got 'many'"],
      [['--fast'], 'ir-rcnn: unknown option --fast'],
      [['--out', '/dev/null/report'], 'ir-rcnn: /dev/null/report: cannot create the report folder (ENOTDIR)'],
    ] as const) {
      const child = spawnSync(process.execPath, [CLI, 'demo', ...args], { encoding: 'utf8' });
      assert.equal(child.status, 1);
      assert.equal(child.stdout, '');
      assert.equal(child.stderr, `${message}\n`);
    }
  });
});
