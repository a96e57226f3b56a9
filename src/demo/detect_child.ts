// One detection job in a process of its own, so that its peak memory is its own: loads a detector
// (config and weights), detects the listed images with the given options, writes the detections
// as a COCO results file, and prints { seconds, peakMiB, detections } as one JSON line. The large-
// image demo runs one per model and mode; the memory test runs it too.
import { execFile } from 'child_process';
import * as fs from 'fs';
import { Detector, type DetectOptions } from '../detector';
import { writeCocoResults } from '../eval/write_results';
import type { ConfigInput } from '../config';

export interface DetectJob {
  config: string | ConfigInput;
  weights: string;
  images: { file: string; imageId: number }[];
  options: DetectOptions;
  resultsFile: string;
}

export interface DetectJobResult {
  /** Wall time of the detections (model loading excluded). */
  seconds: number;
  /** The process's peak resident set size (VmHWM). */
  peakMiB: number;
  detections: number;
}

/** Runs `job` in a child process (its description in `jobFile`) and resolves to what it measured. */
export function runDetectJob(job: DetectJob, jobFile: string): Promise<DetectJobResult> {
  fs.writeFileSync(jobFile, JSON.stringify(job));
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [__filename, jobFile], { maxBuffer: 1 << 20 }, (error, stdout, stderr) =>
      error ? reject(new Error(`detect job ${jobFile}: ${(stderr || error.message).trim().split('\n')[0]}`)) : resolve(JSON.parse(stdout) as DetectJobResult),
    ),
  );
}

async function main(job: DetectJob): Promise<void> {
  const detector = await Detector.load({ config: job.config, weights: job.weights });
  const started = Date.now();
  const perImage = [];
  for (const { file, imageId } of job.images) perImage.push({ imageId, detections: (await detector.detect([file], job.options))[0].detections });
  const seconds = (Date.now() - started) / 1000;
  await writeCocoResults(job.resultsFile, perImage);
  const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]);
  const result: DetectJobResult = { seconds, peakMiB: peakKiB / 1024, detections: perImage.reduce((n, p) => n + p.detections.length, 0) };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main(JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as DetectJob).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
