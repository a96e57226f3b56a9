// What a demo run is given and what it produces: the options, each training run's record, the
// data set's summary and the whole result that the table, the report and the CLI read.
import type { Config } from '../config';
import type { RelationOptionsInput } from '../config/relation';
import type { SyntheticDataset } from '../data/synthetic';
import type { ParameterCount } from '../detector';
import type { BootstrapSummary } from './intervals';
import type { KernelSettings } from './kernels';
import type { TableRow } from './table';

export interface DemoOptions {
  /** The report folder; the data set and each run's files go below it. */
  out: string;
  /** Training images of the synthetic set. */
  images: number;
  valImages: number;
  /** Training iterations of every model. */
  iterations: number;
  /** Repeats with training seeds 0..seeds-1 (the data set stays the same). */
  seeds: number;
  /** Adds the semantic-only and spatial-only rows. */
  ablation: boolean;
  /** Adds an IR R-CNN row for each of these IR module settings (`--relation`). */
  relationSettings: RelationOptionsInput[];
  /** Side of the synthetic images in pixels. */
  imageSize: number;
  /** Seed of the synthetic set. */
  dataSeed: number;
  /** Val images drawn with detections and the relation graph. */
  drawImages: number;
  /** Bootstrap resamples for the intervals of the differences to the baseline. */
  resamples: number;
  /** Validation every this many iterations during training, for the AP curves (0: none). */
  evalEvery: number;
  /** Progress lines (one line each, no newline). */
  log: (line: string) => void;
  /** The kernels chosen before LibTorch loaded (chooseKernels), for the record; default: as the environment has them. */
  kernels?: KernelSettings;
  /** Where training draws its progress bar / lines; none: silent. */
  progressStream?: NodeJS.WriteStream;
}

export interface RunRecord {
  variant: string;
  seed: number;
  config: Config;
  /** The run's folder: metrics.jsonl, model.safetensors, loss_curves.png, detections.json. */
  dir: string;
  weights: string;
  metrics: string;
  detections: string;
  parameters: ParameterCount;
  iterations: number;
  finalLosses: Record<string, number>;
  trainSeconds: number;
  evalSeconds: number;
  /** pycocotools' 12 summarize() numbers on the val split (0..1, -1 where undefined). */
  stats: number[];
  /** AP per category name. */
  perCategory: Record<string, number>;
}

export interface DatasetSummary extends SyntheticDataset {
  seed: number;
  imageSize: number;
  trainImagesCount: number;
  valImagesCount: number;
  /** Objects per COCO area range in each split. */
  objects: Record<'train' | 'val', { small: number; medium: number; large: number }>;
  /** sha256 over the set's files: equal on two machines when the synthetic data is. */
  sha256: string;
  seconds: number;
}

export interface DemoResult {
  options: Omit<DemoOptions, 'log' | 'progressStream' | 'kernels'>;
  dataset: DatasetSummary;
  runs: RunRecord[];
  rows: TableRow[];
  bootstrap: BootstrapSummary;
  /** The Markdown table (what the CLI prints). */
  table: string;
  /** What the table's Δ columns mean (printed below it). */
  note: string;
  /** The val images drawn with each model's detections (val_images/*.png). */
  drawings: string[];
  /** The report's files (the drawings among them). */
  files: string[];
  machine: { cpus: number; cpuModel: string; torch: string; threads: number; kernels: KernelSettings };
  wallSeconds: number;
}
