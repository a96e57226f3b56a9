// The small chart library (src/plot) and the PR curves built on it.
import { strict as assert } from 'assert';
import * as path from 'path';
import sharp from 'sharp';
import { evaluateResults } from '../../src/eval/evaluate';
import { prCurvesByCategorySvg, prCurvesBySizeSvg } from '../../src/eval/pr_curves';
import { barChartSvg, lineChartSvg, svgToPng } from '../../src/plot';
import { FIXTURES } from '../support/paths';

const CASES = path.join(FIXTURES, 'coco-eval-cases');

/** Fraction of pixels of the PNG whose colour is close to `rgb`. */
async function share(png: Buffer, rgb: [number, number, number]): Promise<number> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let hits = 0;
  for (let i = 0; i < data.length; i += 3) {
    if (Math.abs(data[i] - rgb[0]) + Math.abs(data[i + 1] - rgb[1]) + Math.abs(data[i + 2] - rgb[2]) < 30) hits++;
  }
  return hits / (info.width * info.height);
}

describe('plot: SVG charts rendered to PNG', () => {
  it('a line chart has one polyline per finite run, and renders at the asked size in the series colours', async () => {
    const svg = lineChartSvg({
      title: 'loss <& "curves">',
      xLabel: 'iteration',
      yLabel: 'loss',
      series: [
        { name: 'total', x: [0, 1, 2, 3], y: [4, 3, NaN, 1] },
        { name: 'rpn', x: [0, 1, 2, 3], y: [2, 1.5, 1, 0.5], color: '#00ff00' },
      ],
      width: 400,
      height: 300,
    });
    assert.equal(svg.match(/<polyline/g)?.length, 3);
    assert.ok(svg.includes('loss &lt;&amp; &quot;curves&quot;&gt;'));
    const png = await svgToPng(svg);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 400, 300]);
    assert.ok((await share(png, [0, 255, 0])) > 0.001, 'the green series is drawn');
  });

  it('a bar chart draws one bar per finite value, on a zero baseline', async () => {
    const svg = barChartSvg({
      labels: ['tiny', 'small', 'medium'],
      series: [
        { name: 'Faster R-CNN', values: [0.1, 0.2, 0.4] },
        { name: 'IR R-CNN', values: [0.15, NaN, 0.42] },
      ],
      yRange: [0, 1],
    });
    assert.equal(svg.match(/<rect [^>]*fill="#(1f77b4|ff7f0e)"\/>/g)?.length, 5 + 2); // bars + legend swatches
    const png = await svgToPng(svg);
    assert.ok((await share(png, [0x1f, 0x77, 0xb4])) > 0.005);
  });

  it('rejects mismatched data and bad sizes with one line', () => {
    assert.throws(() => lineChartSvg({ series: [{ name: 'a', x: [1, 2], y: [1] }] }), /^Error: lineChart: series 0 \('a'\) has 2 x values but 1 y values$/);
    assert.throws(() => barChartSvg({ labels: ['a'], series: [{ name: 'b', values: [1, 2] }] }), /barChart: series 0 \('b'\) has 2 values for 1 labels/);
    assert.throws(() => lineChartSvg({ series: [], width: 10 }), /lineChart: width and height must be integers/);
  });
});

describe('eval: PR curves', () => {
  it('draws the best categories and every size bucket; unknown IoU thresholds are an error', async () => {
    const dir = path.join(CASES, 'random');
    const result = await evaluateResults(path.join(dir, 'gt.json'), path.join(dir, 'dets.json'), { areaRanges: 'fine' });
    const byCategory = prCurvesByCategorySvg(result, { maxCategories: 3 });
    assert.equal(byCategory.match(/<polyline/g)?.length, 3);
    const bySize = prCurvesBySizeSvg(result);
    for (const name of ['all', 'small', 'medium', 'large', 'tiny', 's16-32']) assert.ok(bySize.includes(`>${name}</text>`), name);
    assert.throws(() => prCurvesBySizeSvg(result, { iouThreshold: 0.42 }), /PR curves: IoU threshold 0.42 is not one of the evaluation's \(0.50, 0.55/);
    assert.throws(() => prCurvesByCategorySvg(result, { categories: [4] }), /PR curves: category 4 is not in the evaluation/);
  });
});
