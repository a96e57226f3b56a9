// The CPU block cache is bounded by the working set of recent calls (native/addon/cpu_allocator.h):
// a detector process that has seen 200 calls of random image and batch sizes holds no more memory
// than after its first 20, and the cache lets go of large blocks once calls get small.
import { strict as assert } from 'assert';
import { execFile } from 'child_process';
import * as path from 'path';
import { DIST } from '../support/paths';

const CHILD = path.join(DIST, 'test', 'support', 'memory_soak_child.js');
// A seeded R18-FPN that keeps the images' own sizes (64–1024 px, no resize), batches of 1–3.
const SOAK = {
  config: { model: { depth: 18, numClasses: 5, minSize: 64, maxSize: 1024 } },
  calls: 200,
  probe: 20,
  minSide: 64,
  maxSide: 1024,
  maxBatch: 3,
};

interface CacheInfo {
  cachedBytes: number;
  inUseBytes: number;
  workingSetBytes: number;
  hits: number;
  misses: number;
}

describe('CPU block cache: memory soak', function () {
  it('200 detects of random sizes end within 10% of the RSS after the first 20; small calls shrink the cache', async function () {
    this.timeout(30 * 60 * 1000);
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [CHILD, JSON.stringify(SOAK)], { maxBuffer: 2 ** 24 }, (error, out, err) => (error ? reject(new Error(err || error.message)) : resolve(out))),
    );
    const { rss, afterSoak, afterSmall } = JSON.parse(stdout) as { rss: number[]; afterSoak: CacheInfo; afterSmall: CacheInfo };
    const [early, late] = [rss[SOAK.probe - 1], rss[SOAK.calls - 1]];
    console.log(`      RSS after ${SOAK.probe} calls ${early.toFixed(0)} MiB, after ${SOAK.calls} ${late.toFixed(0)} MiB (max ${Math.max(...rss).toFixed(0)}); ` +
      `cache ${(afterSoak.cachedBytes / 2 ** 20).toFixed(0)} MiB → ${(afterSmall.cachedBytes / 2 ** 20).toFixed(0)} MiB after small calls; hits ${afterSoak.hits}, misses ${afterSoak.misses}`);
    assert.ok(late <= 1.1 * early, `RSS grew from ${early.toFixed(0)} MiB to ${late.toFixed(0)} MiB`);
    for (const cache of [afterSoak, afterSmall]) assert.ok(cache.inUseBytes + cache.cachedBytes <= cache.workingSetBytes, JSON.stringify(cache));
    assert.ok(afterSmall.cachedBytes < afterSoak.cachedBytes / 2, `the cache kept ${afterSmall.cachedBytes} of ${afterSoak.cachedBytes} bytes`);
    assert.ok(afterSoak.hits > afterSoak.misses, 'the cache serves most large blocks');
  });
});
