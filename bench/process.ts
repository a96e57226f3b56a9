// The bench's child processes: one run of a program, with its wall time from spawn to exit; and, for
// the processes measured as a whole (`ir-rcnn eval`, load + 3 detects), its peak RSS, which the child
// writes to stderr on exit as a last line `peak RSS KiB <n>` (node children preload peak_rss.js,
// torchvision_bench.py writes it itself).
import { execFile } from 'child_process';
import * as path from 'path';

const PEAK_RSS_HOOK = path.join(__dirname, 'peak_rss.js');
const PEAK_RSS_LINE = /^peak RSS KiB (\d+)$/m;

export interface ChildRun {
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `file args`. A failure rejects with `label` and the child's last line of stderr (its error,
 * not the peak RSS line after it), or the spawn error.
 */
export function runProcess(label: string, file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ChildRun> {
  const start = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: options.env, timeout: options.timeoutMs ?? 0, maxBuffer: 64 * 2 ** 20 }, (error, stdout, stderr) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (error) {
        const lines = stderr.trim().split('\n').filter((line) => line && !PEAK_RSS_LINE.test(line));
        reject(new Error(`${label}: ${lines.at(-1) ?? error.message}`));
      } else resolve({ stdout, stderr, ms });
    });
  });
}

export interface MeasuredProcess extends ChildRun {
  peakRssKiB: number;
}

/** runProcess, and the peak RSS line the child wrote. */
export async function measureProcess(label: string, file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<MeasuredProcess> {
  const run = await runProcess(label, file, args, options);
  const peak = PEAK_RSS_LINE.exec(run.stderr);
  if (!peak) throw new Error(`${label}: the process wrote no 'peak RSS KiB' line`);
  return { ...run, peakRssKiB: Number(peak[1]) };
}

/** measureProcess of `node script args` with the peak RSS hook preloaded. */
export function measureNodeProcess(label: string, script: string, args: string[], timeoutMs?: number): Promise<MeasuredProcess> {
  return measureProcess(label, process.execPath, ['--require', PEAK_RSS_HOOK, script, ...args], { timeoutMs });
}
