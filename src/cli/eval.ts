// `ir-rcnn eval --gt GT.json --dets RESULTS.json [--json]`: COCO bbox evaluation of a results
// file, printing pycocotools' summarize() table, or with --json
// { "stats": [12 numbers], "perCategory": { "<category_id>": AP, ... } }.
import { evaluateResults } from '../eval/evaluate';
import type { AreaRangePreset } from '../eval/params';
import { UsageError, optString, parseArgs, printJson } from './args';

const USAGE =
  'usage: ir-rcnn eval --gt GT.json --dets RESULTS.json [--json] [--areas coco|fine] [--max-dets 1,10,100] [--pr-curves DIR]';

export async function run(argv: string[]): Promise<void> {
  const args = parseArgs(argv, { values: ['gt', 'dets', 'areas', 'max-dets', 'pr-curves'], flags: ['json', 'help'] });
  if (args.options.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument '${args.positional[0]}'; ${USAGE}`);
  const gt = optString(args, 'gt');
  const dets = optString(args, 'dets');
  if (!gt || !dets) throw new UsageError(`--gt and --dets are required; ${USAGE}`);
  const areas = optString(args, 'areas');
  if (areas !== undefined && areas !== 'coco' && areas !== 'fine') throw new UsageError(`option --areas: expected coco or fine, got '${areas}'`);
  const maxDets = parseMaxDets(optString(args, 'max-dets'));

  const result = await evaluateResults(gt, dets, { areaRanges: areas as AreaRangePreset | undefined, maxDets });
  const curvesDir = optString(args, 'pr-curves');
  if (curvesDir !== undefined) {
    // Loaded only when asked for: the chart renderer (sharp) is the slowest part of starting up.
    const { writePrCurves } = await import('../eval/pr_curves');
    await writePrCurves(result, curvesDir);
  }
  if (args.options.has('json')) {
    const perCategory: Record<string, number> = {};
    for (const [id, ap] of result.perCategory) perCategory[String(id)] = ap;
    // Size buckets beyond COCO's are asked for explicitly, so only then does the document grow.
    await printJson(areas === 'fine' ? { stats: result.stats, perCategory, perSize: result.perSize } : { stats: result.stats, perCategory });
  } else {
    await new Promise<void>((resolve) => process.stdout.write(`${result.summary}\n`, () => resolve()));
  }
}

function parseMaxDets(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new UsageError(`option --max-dets: expected positive integers separated by commas, got '${text}'`);
  }
  return values;
}
