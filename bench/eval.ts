// Section "eval": COCO bbox evaluation (pycocotools semantics) as a user runs it, one whole
// `ir-rcnn eval --gt GT.json --dets RESULTS.json` process (node start, reading both files,
// evaluating, printing pycocotools' table), with its peak RSS, on a seeded synthetic case of
// 5,000 images × 100 detections over 80 categories. pycocotools cannot be installed here: the
// reference is its whole-process time on this case measured side by side in issue #17 on this kind
// of machine (2 cores), quoted rather than run.
import * as path from 'path';
import { makeSyntheticEvalCase, writeSyntheticEvalCase } from '../src/eval/synthetic';
import type { Section } from './context';
import { row, summarize, type Stats } from './harness';
import { measureNodeProcess } from './process';

const PYCOCOTOOLS: { name: string; stats: Stats } = {
  name: 'pycocotools COCOeval, whole process (issue #17; not installable here)',
  stats: { runs: 1, medianMs: 16_500, minMs: 16_500, p90Ms: 16_500 },
};
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');

export const evalSection: Section = async (context) => {
  const images = context.quick ? 200 : 5000;
  const [dets, categories] = [100, 80];
  // Seven whole processes: on a busy machine their times vary, and the table shows the minimum too.
  const [warmup, repeats] = context.quick ? [0, 1] : [1, 7];
  context.log(`eval: ${images} images × ${dets} detections, ${categories} categories, as whole \`ir-rcnn eval\` processes`);
  const files = await writeSyntheticEvalCase(makeSyntheticEvalCase(7, images, dets, categories), path.join(context.scratch, 'eval'));
  const runs: EvalProcess[] = [];
  for (let i = 0; i < warmup + repeats; i++) {
    const run = await evalProcess(files.gt, files.results);
    if (i >= warmup) runs.push(run);
  }
  // The reference was measured on the 5,000-image case only.
  const reference = images === 5000 ? PYCOCOTOOLS : undefined;
  const stats = summarize(runs.map((r) => r.ms));
  return [
    row('eval', `ir-rcnn eval, COCO bbox, ${images} images × ${dets} dets, ${categories} categories`, stats, reference, {
      extra: {
        'peak RSS MiB': Math.round(Math.max(...runs.map((r) => r.peakRssKiB)) / 1024),
        ...(reference && { 'times faster than pycocotools': (reference.stats.medianMs / stats.medianMs).toFixed(1) }),
        AP: runs[0].ap,
      },
      note: 'whole process: node start, reading the annotations and results files, evaluating, printing the table',
    }),
  ];
};

interface EvalProcess {
  ms: number;
  peakRssKiB: number;
  /** AP @[.50:.95 | all | 100] as the table prints it. */
  ap: string;
}

async function evalProcess(gt: string, results: string): Promise<EvalProcess> {
  const run = await measureNodeProcess('ir-rcnn eval', CLI, ['eval', '--gt', gt, '--dets', results]);
  const ap = / = (-?[\d.]+)$/m.exec(run.stdout);
  if (!ap) throw new Error(`ir-rcnn eval: unexpected output '${run.stdout.trim()}'`);
  return { ms: run.ms, peakRssKiB: run.peakRssKiB, ap: ap[1] };
}
