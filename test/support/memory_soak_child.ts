// The memory soak's child process (test/integration/memory_soak.test.ts): one detector, `calls`
// detect() calls of seeded random image sizes and batch sizes, its RSS recorded after each call.
// Calls `probe` - 1 and `calls` - 1 are the same largest batch, so that the two RSS readings
// compare the same state of one call, before and after every other size has been seen. Writes
// one JSON line to stdout.
import * as fs from 'fs';
import { Detector } from '../../src/detector';
import { torchInfo } from '../../src/native';
import { mulberry32 } from '../../src/data/random';
import type { RgbImage } from '../../src/types';
import { seededStateDict } from './model_seeded_weights';

const rssMiB = (): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;

function noise(width: number, height: number, random: () => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  return { data, width, height };
}

async function main(): Promise<void> {
  const { config, calls, probe, minSide, maxSide, maxBatch } = JSON.parse(process.argv[2]);
  const detector = await Detector.load({ config });
  await detector.loadState(seededStateDict(detector.stateShapes()));
  const random = mulberry32(7);
  const side = () => minSide + Math.floor(random() * (maxSide - minSide + 1));
  const rss: number[] = [];
  for (let call = 0; call < calls; call++) {
    const largest = call === probe - 1 || call === calls - 1;
    const batch = largest ? maxBatch : 1 + Math.floor(random() * maxBatch);
    const images = Array.from({ length: batch }, () => (largest ? noise(maxSide, maxSide, random) : noise(side(), side(), random)));
    await detector.detectPixels(images, { batchSize: batch });
    rss.push(rssMiB());
  }
  const afterSoak = torchInfo().cpuCache;
  // Small calls after the soak: the working set moves on and the large blocks go.
  for (let call = 0; call < 6; call++) await detector.detectPixels([noise(minSide, minSide, random)]);
  process.stdout.write(`${JSON.stringify({ rss, afterSoak, afterSmall: torchInfo().cpuCache })}\n`);
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
});
