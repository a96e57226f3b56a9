// Section "eval": COCO bbox evaluation (pycocotools semantics) of a seeded synthetic case, 5,000
// images × 100 detections over 80 categories, in a child process that reports its peak RSS.
// Ours only: pycocotools is not installable here.
import { execFile } from 'child_process';
import * as path from 'path';
import type { Section } from './context';
import { row, summarize } from './harness';

interface ChildAnswer {
  generateMs: number;
  samples: number[];
  ap: number;
  maxRssMiB: number;
}

export const evalSection: Section = async (context) => {
  const images = context.quick ? 200 : 5000;
  const [dets, categories] = [100, 80];
  const [warmup, repeats] = context.quick ? [0, 1] : [1, 3];
  context.log(`eval: ${images} images × ${dets} detections, ${categories} categories`);
  const child = path.join(__dirname, 'eval_child.js');
  const args = [child, '7', String(images), String(dets), String(categories), String(warmup), String(repeats)];
  const answer = await new Promise<ChildAnswer>((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`eval bench: ${stderr.trim() || error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').slice(-1)[0]) as ChildAnswer);
    });
  });
  return [
    row('eval', `COCO bbox eval, ${images} images × ${dets} dets, ${categories} categories`, summarize(answer.samples), undefined, {
      extra: { 'peak RSS MiB': Math.round(answer.maxRssMiB), 'case generation ms': Math.round(answer.generateMs), AP: answer.ap.toFixed(4) },
      note: 'no reference (pycocotools is not installed here)',
    }),
  ];
};
