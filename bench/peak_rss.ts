// Preloaded into a process the bench measures (node --require peak_rss.js ...): when the process
// exits, writes its peak resident set size to stderr as a last line `peak RSS KiB <n>`.
import * as fs from 'fs';

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

process.on('exit', () => fs.writeSync(2, `peak RSS KiB ${peakRssKiB()}\n`));
