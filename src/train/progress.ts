// What a person watching a run sees: on a TTY one progress bar line redrawn in place
// (iteration, losses, lr, images/s, ETA); otherwise a plain line every `logEvery` iterations.
export interface Progress {
  iteration: number;
  iterations: number;
  losses: Record<string, number>;
  lr: number;
  imagesPerSecond: number;
  /** Seconds left at the current speed. */
  etaSeconds: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function progressText(p: Progress): string {
  const losses = Object.entries(p.losses)
    .map(([name, value]) => `${name.replace(/^loss_/, '')} ${value.toFixed(4)}`)
    .join(' ');
  return `iter ${p.iteration}/${p.iterations} | ${losses} | lr ${p.lr.toPrecision(3)} | ${p.imagesPerSecond.toFixed(1)} img/s | ETA ${formatDuration(p.etaSeconds)}`;
}

/** Writes progress to `stream` (a bar on a TTY, lines every `every` iterations otherwise). */
export class ProgressReporter {
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly every: number,
  ) {}

  update(p: Progress): void {
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round((width * p.iteration) / p.iterations);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const line = `${bar} ${progressText(p)}`.slice(0, Math.max(20, (this.stream.columns ?? 120) - 1));
      this.stream.write(`\r\x1b[2K${line}`);
      this.drawn = true;
    } else if (p.iteration % this.every === 0 || p.iteration === p.iterations) {
      this.stream.write(`${progressText(p)}\n`);
    }
  }

  /** Ends the bar's line so later output starts on a fresh one. */
  message(text: string): void {
    this.finish();
    this.stream.write(`${text}\n`);
  }

  finish(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
