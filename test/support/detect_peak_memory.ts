// A child process for memory measurements: builds a seeded R18-FPN detector at the COCO resize
// (short side 800, long side ≤ 1333), detects one image (optionally sliced), and prints its peak
// RSS (VmHWM) with the time and detection count as one JSON line.
import * as fs from 'fs';
import { Detector, type DetectOptions } from '../../src/detector';
import { seededStateDict } from './model_seeded_weights';

async function main(): Promise<void> {
  const [file, optionsJson] = process.argv.slice(2);
  const detector = await Detector.load({ config: { model: { depth: 18, numClasses: 5, minSize: 800, maxSize: 1333 } } });
  await detector.loadState(seededStateDict(detector.stateShapes()));
  const started = Date.now();
  const [result] = await detector.detect([file], JSON.parse(optionsJson ?? '{}') as DetectOptions);
  const peakKiB = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]);
  process.stdout.write(`${JSON.stringify({ peakMiB: peakKiB / 1024, ms: Date.now() - started, detections: result.detections.length })}\n`);
}

void main();
