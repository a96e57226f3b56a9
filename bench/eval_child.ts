// Runs the COCO-evaluation bench in a process of its own, so that the peak RSS it reports is the
// evaluation's (plus the generated case), not the whole bench's. Args: seed images dets categories
// warmup repeats. Prints one JSON line.
import * as fs from 'fs';
import { evaluateResults } from '../src/eval';
import { makeSyntheticEvalCase } from '../src/eval/synthetic';
import { timeRuns } from './harness';

// Linux's VmHWM is this process image's own peak. getrusage's maxRSS is not: a child spawned by a
// large parent starts from the parent's RSS at fork (several GiB after the train section).
function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]);
  } catch {
    // not Linux: fall back to getrusage
  }
  return process.resourceUsage().maxRSS;
}

async function main(): Promise<void> {
  const [seed, images, dets, categories, warmup, repeats] = process.argv.slice(2).map(Number);
  const start = process.hrtime.bigint();
  const { gt, results } = makeSyntheticEvalCase(seed, images, dets, categories);
  const generateMs = Number(process.hrtime.bigint() - start) / 1e6;
  let ap = NaN;
  const samples = await timeRuns(async () => {
    ap = (await evaluateResults(gt, results)).stats[0];
  }, { warmup, repeats });
  const maxRssMiB = peakRssKiB() / 1024;
  process.stdout.write(JSON.stringify({ generateMs, samples, ap, maxRssMiB }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
});
