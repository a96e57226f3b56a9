// What every bench section gets: the run's options, the repeat plan, the torchvision runner (when
// /usr/bin/python3 has torchvision) and a scratch folder; and what it gives back: table rows.
import type { BenchRow, Plan } from './harness';
import type { Torchvision } from './python';

export interface BenchContext {
  quick: boolean;
  device: 'cpu' | 'cuda';
  threads: number;
  /** Images per detect() call and per training step, one row per size (defaults [1, 4] and [2]). */
  batches: { detect: number[]; train: number[] };
  /** Warm-up and timed runs for cheap cases; sections scale it down for expensive ones. */
  plan: Plan;
  /** Absent when the comparisons are skipped (no torchvision, or --no-python). */
  torchvision?: Torchvision;
  /** A fresh folder for inputs shared with Python; removed after the run. */
  scratch: string;
  /** Records why something did not run; printed and kept in the results. */
  notice(message: string): void;
  log(message: string): void;
}

export type Section = (context: BenchContext) => Promise<BenchRow[]>;
